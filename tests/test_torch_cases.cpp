// The multihead_attention cases PyTorch 1.13 wrote (tools/gen_attention_cases.py, files in
// tests/data/attention): the CPU reference and the GPU both reproduce torch's outputs.
// Tolerance: torch computes in fp32 (error ~1e-6 on these O(1) values); the CPU reference
// accumulates in double; the GPU adds the fp32 bounds of test_multihead_attention.cpp.
// 1e-5 for the reference, 3e-5 for the GPU.
#include <filesystem>

#include "gpu_test.hpp"
#include "vkfuse/model.hpp"

namespace fs = std::filesystem;

namespace {

std::vector<std::string> case_dirs() {
  std::vector<std::string> v;
  for (const auto& e : fs::directory_iterator(fs::path(VKFUSE_TEST_DATA) / "attention"))
    if (e.is_directory()) v.push_back(e.path().filename().string());
  std::sort(v.begin(), v.end());
  return v;
}

void compare(const vkfuse::HostTensors& got, const vkfuse::SafetensorsFile& expected, float tol, const std::string& what) {
  for (const char* name : {"output", "attn_weights"}) {
    ASSERT_TRUE(got.count(name)) << what << " has no " << name;
    const auto& t = got.at(name);
    EXPECT_EQ(t.shape, expected.tensor(name).shape) << what << " " << name;
    EXPECT_TRUE(vkt::near_all(t.data, expected.to_f32(name), tol, 0.f)) << what << " " << name;
  }
}

class TorchCases : public vkt::GpuTestP<std::string> {};

TEST_P(TorchCases, CpuReferenceMatchesTorch) {
  fs::path dir = fs::path(VKFUSE_TEST_DATA) / "attention" / GetParam();
  auto model = vkfuse::Model::load((dir / "model.safetensors").string());
  auto in = vkfuse::SafetensorsFile::open((dir / "input.safetensors").string());
  auto expected = vkfuse::SafetensorsFile::open((dir / "expected.safetensors").string());
  compare(model.run(in, true, nullptr), expected, 1e-5f, "cpu");
}

TEST_P(TorchCases, GpuMatchesTorch) {
  fs::path dir = fs::path(VKFUSE_TEST_DATA) / "attention" / GetParam();
  auto model = vkfuse::Model::load((dir / "model.safetensors").string());
  auto in = vkfuse::SafetensorsFile::open((dir / "input.safetensors").string());
  auto expected = vkfuse::SafetensorsFile::open((dir / "expected.safetensors").string());
  for (auto mode : {vkt::Mode::Normal, vkt::Mode::Portable, vkt::Mode::Staged})
    compare(model.run(in, true, &vkt::context(mode)), expected, 3e-5f, vkt::mode_name(mode));
}

INSTANTIATE_TEST_SUITE_P(Attention, TorchCases, ::testing::ValuesIn(case_dirs()),
                         [](const auto& pi) { return pi.param; });

}  // namespace
