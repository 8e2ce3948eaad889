// Devices, memory and the pipeline cache.
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "gpu_test.hpp"
#include "runtime/vendor_tuning.h"

using vkfuse::Tensor;
using vkt::Mode;

namespace {

TEST(Devices, ListsAndPicks) {
  auto devices = vkfuse::list_devices();
  ASSERT_FALSE(devices.empty());
  for (const auto& d : devices) {
    EXPECT_FALSE(d.name.empty());
    EXPECT_GE(d.caps.max_workgroup_invocations, 128u) << d.name;  // Vulkan's minimum
    EXPECT_GE(d.caps.max_shared_memory, 16384u) << d.name;
  }
  EXPECT_EQ(vkfuse::pick_device(devices, "0"), 0u);
  const std::string part = devices.back().name.substr(0, 4);
  EXPECT_NE(devices[vkfuse::pick_device(devices, part)].name.find(part), std::string::npos);
  EXPECT_THROW(vkfuse::pick_device(devices, std::to_string(devices.size())), vkfuse::Error);
  EXPECT_THROW(vkfuse::pick_device(devices, "no-such-gpu-xyz"), vkfuse::Error);
  try {
    vkfuse::pick_device(devices, "99");
  } catch (const vkfuse::Error& e) {
    EXPECT_NE(std::string(e.what()).find("out of range"), std::string::npos) << e.what();
  }
}

TEST(Devices, EnvironmentSelects) {
  auto devices = vkfuse::list_devices();
  std::string last = std::to_string(devices.size() - 1);
  ::setenv("VKFUSE_DEVICE", last.c_str(), 1);
  EXPECT_EQ(vkfuse::pick_device(devices, ""), devices.size() - 1);
  EXPECT_EQ(vkfuse::pick_device(devices, "0"), 0u);  // an explicit choice wins
  ::setenv("VKFUSE_DEVICE", "no-such-gpu-xyz", 1);
  EXPECT_THROW(vkfuse::pick_device(devices, ""), vkfuse::Error);
  ::unsetenv("VKFUSE_DEVICE");
}

class Runtime : public vkt::GpuTest {};

TEST_F(Runtime, PortableModeCapsCapabilities) {
  const auto& c = vkt::context(Mode::Portable).caps();
  EXPECT_TRUE(c.portable);
  EXPECT_LE(c.max_workgroup_invocations, 128u);
  EXPECT_LE(c.max_shared_memory, 16384u);
  EXPECT_FALSE(c.subgroup_arithmetic);
  EXPECT_FALSE(c.storage_16bit);
  EXPECT_FALSE(c.float16_arithmetic);
  EXPECT_LE(c.max_storage_buffer_range, 128ull << 20);
  auto& ctx = vkt::context(Mode::Portable);
  EXPECT_NO_THROW(vkfuse::check_tuning(ctx.tuning(), c));
  vkfuse::Tuning t = ctx.tuning();
  t.matmul = {16, 16, 4, 4, 16};  // 256 invocations: too many for a phone
  EXPECT_THROW(vkfuse::check_tuning(t, c), vkfuse::Error);
}

// The vendor table: each GPU row is what choose_tuning gives a device of that vendor with
// desktop limits, a row that does not fit a device's limits leaves the generic choice, and
// VKFUSE_TUNING's parser takes fields and refuses unknown ones.
TEST(VendorTuning, RowsApplyWhereTheyFit) {
  vkfuse::DeviceInfo d;
  d.type = "discrete";
  vkfuse::Capabilities& c = d.caps;
  c.max_workgroup_invocations = 1024;
  c.max_workgroup_size[0] = c.max_workgroup_size[1] = 1024;
  c.max_workgroup_size[2] = 64;
  c.max_shared_memory = 49152;
  c.subgroup_size = 32;
  c.subgroup_arithmetic = c.subgroup_shuffle = true;
  size_t n = 0;
  const vkfuse::detail::VendorRow* rows = vkfuse::detail::vendor_rows(n);
  ASSERT_GE(n, 8u);
  int gpu_rows = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto& r = rows[i];
    EXPECT_GT(std::strlen(r.quirks), 20u) << r.label;
    if (r.cpu) continue;
    ++gpu_rows;
    d.vendor_id = r.vendor_id;
    d.name = std::string("some ") + r.label + " GPU";
    const vkfuse::Tuning t = vkfuse::choose_tuning(d, c);
    EXPECT_EQ(t.matmul.wg_x, r.matmul.wg_x) << r.label;
    EXPECT_EQ(t.matmul.wg_y, r.matmul.wg_y) << r.label;
    EXPECT_EQ(t.softmax.wg, r.rows_wg) << r.label;
    EXPECT_TRUE(t.attention.tiled) << r.label;
    EXPECT_EQ(t.attention.bc, r.attention_bc) << r.label;
    EXPECT_EQ(t.use_subgroups, r.subgroups) << r.label;
    EXPECT_EQ(t.attention.subgroup_rows, r.fixed_subgroup) << r.label;
    EXPECT_FALSE(t.matmul.texels) << r.label;
  }
  EXPECT_GE(gpu_rows, 7);
  // A device of 128 invocations cannot take a 256-invocation row: the generic choice stays.
  d.vendor_id = 0x10DE;
  c.max_workgroup_invocations = 128;
  const vkfuse::Tuning small = vkfuse::choose_tuning(d, c);
  EXPECT_LE(small.matmul.wg_x * small.matmul.wg_y, 128u);
  EXPECT_NO_THROW(vkfuse::check_tuning(small, c));
}

TEST(VendorTuning, OverridesByName) {
  vkfuse::Tuning t;
  vkfuse::detail::apply_overrides(t, "matmul.tm=8,attention.tiled=1,attention.bc=4,use_subgroups=0");
  EXPECT_EQ(t.matmul.tm, 8u);
  EXPECT_TRUE(t.attention.tiled);
  EXPECT_EQ(t.attention.bc, 4u);
  EXPECT_FALSE(t.use_subgroups);
  try {
    vkfuse::detail::apply_overrides(t, "matmul.tm=8,matmul.bogus=3");
    FAIL() << "no error";
  } catch (const vkfuse::Error& e) {
    EXPECT_NE(std::string(e.what()).find("matmul.bogus"), std::string::npos) << e.what();
  }
  EXPECT_THROW(vkfuse::detail::apply_overrides(t, "matmul.tm=eight"), vkfuse::Error);
  EXPECT_THROW(vkfuse::detail::apply_overrides(t, "matmul.tm"), vkfuse::Error);
  vkfuse::detail::apply_overrides(t, "matmul.fp16_math=1,attention.fp16_math=1,matmul.coopmat=1");
  EXPECT_TRUE(t.matmul.fp16_math && t.attention.fp16_math && t.matmul.coopmat);
}

// The opt-in paths a device cannot run are refused by name, before any pipeline is made:
// cooperative matrices need VK_NV_cooperative_matrix (lavapipe has none), fp16 math needs
// shaderFloat16 (portable mode assumes none).
TEST(VendorTuning, OptInPathsTheDeviceLacksAreRefused) {
  vkfuse::Capabilities c;
  c.max_workgroup_invocations = 256;
  c.max_workgroup_size[0] = c.max_workgroup_size[1] = c.max_workgroup_size[2] = 256;
  c.max_shared_memory = 32768;
  c.subgroup_size = 32;
  vkfuse::Tuning t;
  EXPECT_NO_THROW(vkfuse::check_tuning(t, c));
  auto refused = [&](vkfuse::Tuning u, const char* needle) {
    try {
      vkfuse::check_tuning(u, c);
      return ::testing::AssertionFailure() << "no error for " << needle;
    } catch (const vkfuse::Error& e) {
      if (std::string(e.what()).find(needle) == std::string::npos) return ::testing::AssertionFailure() << e.what();
      return ::testing::AssertionSuccess();
    }
  };
  vkfuse::Tuning u = t;
  u.matmul.coopmat = true;
  EXPECT_TRUE(refused(u, "VK_NV_cooperative_matrix"));
  u = t;
  u.matmul.fp16_math = true;
  EXPECT_TRUE(refused(u, "matmul fp16_math on a device without shaderFloat16"));
  u = t;
  u.attention.tiled = u.attention.fp16_math = true;
  EXPECT_TRUE(refused(u, "attention fp16_math on a device without shaderFloat16"));
  // With the features: accepted, but not in combinations the kernels do not have.
  c.float16_arithmetic = c.cooperative_matrix = true;
  u = t;
  u.matmul.coopmat = true;
  u.matmul.tm = u.matmul.tn = 2;
  EXPECT_NO_THROW(vkfuse::check_tuning(u, c));
  u.matmul.fp16_math = true;
  EXPECT_TRUE(refused(u, "its own kernel"));
  u.matmul.fp16_math = false;
  u.matmul.tm = 4;
  u.matmul.tn = 4;
  EXPECT_TRUE(refused(u, "at most 8 blocks"));
  u = t;
  u.attention.fp16_math = true;  // without the tiled kernel
  EXPECT_TRUE(refused(u, "needs attention.tiled"));
}

class Memory : public vkt::GpuTestP<Mode> {};

TEST_P(Memory, RoundTripAndViews) {
  auto& ctx = vkt::context(GetParam());
  auto v = vkt::random_vec(1000, 71);
  Tensor t = ctx.tensor({10, 100}, v);
  EXPECT_EQ(t.read(), v);
  Tensor row = t.view({100}, {1}, 300);
  EXPECT_EQ(row.read(), std::vector<float>(v.begin() + 300, v.begin() + 400));
  EXPECT_THROW(t.view({100}, {1}, 901), vkfuse::Error);  // past the end
  EXPECT_THROW(t.reshape({7, 7}), vkfuse::Error);
  EXPECT_THROW(t.permute({1, 0}).read(), vkfuse::Error);  // not contiguous
  std::vector<float> small(3);
  EXPECT_THROW(t.write(small), vkfuse::Error);
}

// Freed ranges are reused: allocating and freeing many tensors does not grow the blocks,
// and many small tensors share one block rather than one VkDeviceMemory each.
TEST_P(Memory, SuballocatesAndReuses) {
  auto& ctx = vkt::context(GetParam());
  uint64_t before = ctx.memory_in_use();
  { Tensor warm = ctx.tensor({1024}); }
  uint64_t reserved = ctx.memory_reserved();
  for (int round = 0; round < 50; ++round) {
    std::vector<Tensor> ts;
    for (int i = 0; i < 20; ++i) ts.push_back(ctx.tensor({int64_t(1000 + 37 * i)}));
    EXPECT_GT(ctx.memory_in_use(), before);
  }
  EXPECT_EQ(ctx.memory_in_use(), before);
  EXPECT_EQ(ctx.memory_reserved(), reserved);
}

TEST_P(Memory, RejectsTensorsBeyondTheStorageRange) {
  auto& ctx = vkt::context(GetParam());
  EXPECT_THROW(ctx.tensor({int64_t(1) << 22, int64_t(1) << 22, int64_t(1) << 22}), vkfuse::Error);  // 2^66 wraps
  Tensor t = ctx.tensor({8});
  EXPECT_THROW(t.view({int64_t(1) << 40}, {int64_t(1) << 40}, 0), vkfuse::Error);
  int64_t too_many = int64_t(ctx.caps().max_storage_buffer_range / 4) + 1;
  try {
    ctx.tensor({too_many});
    FAIL() << "no error";
  } catch (const vkfuse::Error& e) {
    EXPECT_NE(std::string(e.what()).find("storage buffer range"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Runtime, Memory, ::testing::Values(Mode::Normal, Mode::Portable, Mode::Staged),
                         [](const auto& pi) { return vkt::mode_name(pi.param); });

// The first context writes the cache file; the second loads it and still computes right.
TEST_F(Runtime, PipelineCacheFileIsWrittenAndReused) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("vkfuse-test-cache-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  vkfuse::Options o;
  o.validation = true;
  o.pipeline_cache_dir = dir.string();
  o.on_message = [](vkfuse::MessageSeverity, const std::string& m) { vkt::messages().push_back(m); };
  auto run = [&] {
    vkfuse::Context ctx(o);
    Tensor a = ctx.tensor({3, 3}, vkt::random_vec(9, 72)), c = ctx.tensor({3, 3});
    vkt::run_once(ctx, [&](vkfuse::Sequence& s) { vkfuse::ops::matmul(s, a, a, c); });
    return c.read();
  };
  auto first = run();
  ASSERT_TRUE(fs::exists(dir));
  auto it = fs::directory_iterator(dir);
  ASSERT_NE(it, fs::directory_iterator());
  fs::path file = it->path();
  EXPECT_GE(fs::file_size(file), 32u);  // at least the VkPipelineCache header
  EXPECT_EQ(run(), first);
  // A corrupt file is dropped, not handed to the driver.
  { std::ofstream(file, std::ios::binary | std::ios::trunc) << "garbage"; }
  EXPECT_EQ(run(), first);
  fs::remove_all(dir);
}

}  // namespace
