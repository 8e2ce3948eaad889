// `vkfuse check`, the conformance report, as a user runs it: on lavapipe every case passes in
// normal and portable mode (the tiled attention kernel included: the report forces each
// variant), under the validation layer; a kernel whose result is made wrong on purpose fails
// the report, and only that kernel's cases fail.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "cli_runner.hpp"
#include "vkfuse/version.h"

namespace {

// The JSON the report prints to stdout, after the progress lines it wrote to stderr.
nlohmann::json report(const vkt::CliResult& r) {
  const size_t at = r.out.find("\n{\n");
  if (at == std::string::npos) return nullptr;
  return nlohmann::json::parse(r.out.substr(at + 1));
}

void expect_all_pass(const std::string& args, const char* mode) {
  auto r = vkt::cli("check --json " + args, "VKFUSE_VALIDATION=1");
  ASSERT_TRUE(r.ok()) << r.out;
  EXPECT_EQ(r.out.find("vkfuse: validation"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("vkfuse check: [1/"), std::string::npos) << "no progress line";
  auto j = report(r);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["vkfuse"]["version"], VKFUSE_VERSION_STRING);
  EXPECT_NE(j["device"]["name"].get<std::string>().find("llvmpipe"), std::string::npos);
  EXPECT_FALSE(j["device"]["driver_info"].get<std::string>().empty());
  EXPECT_EQ(j["mode"], mode);
  EXPECT_EQ(j["failed"], 0);
  std::set<std::string> kernels, attention_variants, matmul_variants;
  for (const auto& c : j["cases"]) {
    EXPECT_TRUE(c["pass"].get<bool>()) << c.dump();
    EXPECT_LE(c["error_over_bound"].get<double>(), 1.0) << c.dump();
    kernels.insert(c["kernel"].get<std::string>());
    if (c["kernel"] == "attention") attention_variants.insert(c["variant"].get<std::string>());
    if (c["kernel"] == "matmul") matmul_variants.insert(c["variant"].get<std::string>());
  }
  EXPECT_EQ(j["passed"].get<size_t>(), j["cases"].size());
  for (const char* k : {"matmul", "softmax", "layer_norm", "l2_normalize", "top_k", "activation", "add", "copy",
                        "gather_rows", "fma_peak", "attention"})
    EXPECT_TRUE(kernels.count(k)) << k << " not checked";
  for (const char* v : {"per row", "per row, wide", "tiled", "tiled, keys split", "tiled, small tiles"})
    EXPECT_TRUE(attention_variants.count(v)) << v << " not checked";
  for (const char* v : {"tuned", "F16 weights", "BF16 weights"}) EXPECT_TRUE(matmul_variants.count(v)) << v << " not checked";
}

TEST(Check, EveryCasePassesOnLavapipe) { expect_all_pass("", "normal"); }

TEST(Check, EveryCasePassesInPortableMode) { expect_all_pass("--portable", "portable"); }

void expect_only_kernel_fails(const std::string& kernel, size_t at_least) {
  auto r = vkt::cli("check --break " + kernel);
  ASSERT_TRUE(r.exited_with_error()) << r.out;
  size_t fails = 0, other_fails = 0, pos = 0;
  while ((pos = r.out.find("\nFAIL  ", pos)) != std::string::npos) {
    pos += 7;
    (r.out.compare(pos, kernel.size() + 1, kernel + " ") == 0 ? fails : other_fails)++;
  }
  EXPECT_GE(fails, at_least) << r.out;
  EXPECT_EQ(other_fails, 0u) << r.out;
  EXPECT_NE(r.out.find(std::to_string(fails) + " failed"), std::string::npos) << r.out;
}

TEST(Check, AWrongResultFailsTheReport) {
  expect_only_kernel_fails("matmul", 9);     // incl. the exact long-K cases
  expect_only_kernel_fails("attention", 16);
}

TEST(Check, AWrongSoftmaxFailsTheReport) {
  auto r = vkt::cli("check --break softmax");
  ASSERT_TRUE(r.exited_with_error()) << r.out;
  size_t softmax_fails = 0, other_fails = 0, pos = 0;
  while ((pos = r.out.find("\nFAIL  ", pos)) != std::string::npos) {
    pos += 7;
    (r.out.compare(pos, 7, "softmax") == 0 ? softmax_fails : other_fails)++;
  }
  EXPECT_GE(softmax_fails, 3u) << r.out;
  EXPECT_EQ(other_fails, 0u) << r.out;
  EXPECT_NE(r.out.find(std::to_string(softmax_fails) + " failed"), std::string::npos) << r.out;
}

TEST(Check, UnknownDeviceIsOneClearError) {
  auto r = vkt::cli("check --device no-such-gpu");
  EXPECT_TRUE(vkt::one_line_error(r, "no-such-gpu"));
}

}  // namespace
