// The command line as a user runs it.
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_runner.hpp"
#include "vkfuse/version.h"

namespace {

std::string run(const std::string& args, int* status) {
  vkt::CliResult r = vkt::cli(args);
  *status = r.status;
  return r.out;
}

TEST(Cli, DevicesJsonNamesLavapipeWithItsLimits) {
  int status = 0;
  auto out = run("devices --json", &status);
  ASSERT_EQ(status, 0) << out;
  auto j = nlohmann::json::parse(out);
  ASSERT_FALSE(j["devices"].empty());
  bool found = false;
  for (const auto& d : j["devices"]) {
    EXPECT_TRUE(d["limits"].contains("max_workgroup_invocations"));
    EXPECT_TRUE(d["limits"].contains("subgroup_size"));
    EXPECT_TRUE(d["limits"].contains("max_shared_memory_bytes"));
    EXPECT_TRUE(d["limits"].contains("max_storage_buffer_range_bytes"));
    if (d["name"].get<std::string>().find("llvmpipe") != std::string::npos) {
      found = true;
      EXPECT_EQ(d["type"], "cpu");
      EXPECT_GE(d["limits"]["max_workgroup_invocations"].get<int>(), 128);
    }
  }
  EXPECT_TRUE(found) << "lavapipe (llvmpipe) is not listed:\n" << out;
  EXPECT_LT(j["selected"].get<size_t>(), j["devices"].size());
}

TEST(Cli, BadUsageIsOneLineAndNonZero) {
  int status = 0;
  auto out = run("bench --device no-such-gpu-xyz --reps 1", &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("no device matches"), std::string::npos) << out;
  EXPECT_EQ(out.find('\n'), out.size() - 1) << out;
  out = run("frobnicate", &status);
  EXPECT_NE(status, 0);
}

}  // namespace

namespace {
// The version and the commit the build came from, in --version and in the JSON a benchmark or
// a device report is filed with.
TEST(Cli, VersionEverywhere) {
  auto v = vkt::cli("--version");
  EXPECT_EQ(v.status, 0) << v.out;
  EXPECT_EQ(v.out.rfind(std::string("vkfuse ") + VKFUSE_VERSION_STRING + " (" + VKFUSE_COMMIT_STRING + ")", 0), 0u)
      << v.out;
  auto d = vkt::cli("devices --json");
  ASSERT_EQ(d.status, 0) << d.out;
  auto j = nlohmann::json::parse(d.out);
  EXPECT_EQ(j["vkfuse"]["version"], VKFUSE_VERSION_STRING);
  EXPECT_EQ(j["vkfuse"]["commit"], VKFUSE_COMMIT_STRING);
}
}  // namespace
