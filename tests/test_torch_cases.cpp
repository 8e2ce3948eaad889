// The cases PyTorch 1.13 wrote (tools/gen_attention_cases.py and gen_network_cases.py, files
// in tests/data/<arch>/<case>): the CPU reference and the GPU both reproduce torch's outputs.
// Tolerance: torch computes in fp32 (error ~1e-6 on these O(1) values); the CPU reference
// accumulates in double; the GPU adds the fp32 bounds of test_multihead_attention.cpp.
// 1e-5 for the reference, 3e-5 for the GPU.
#include <algorithm>
#include <filesystem>

#include "gpu_test.hpp"
#include "vkfuse/model.hpp"

namespace fs = std::filesystem;

namespace {

// (arch folder, case) pairs for every arch vkfuse runs.
std::vector<std::string> case_dirs() {
  std::vector<std::string> v;
  for (const char* arch : {"attention", "transformer_encoder", "transformer_decoder", "vision_text_fusion", "vit", "clip", "bert"})
    for (const auto& e : fs::directory_iterator(fs::path(VKFUSE_TEST_DATA) / arch))
      if (e.is_directory()) v.push_back(std::string(arch) + "/" + e.path().filename().string());
  std::sort(v.begin(), v.end());
  return v;
}

// Every expected tensor but compare_mask; in tensors that start with compare_mask's shape
// ([B, L, ...]), rows where it is 0 (padding) are not compared (the spec leaves them free).
void compare(const vkfuse::HostTensors& got, const vkfuse::SafetensorsFile& expected, float tol, const std::string& what) {
  std::vector<uint8_t> keep;
  vkfuse::Shape keep_shape;
  if (expected.contains("compare_mask")) {
    keep = expected.to_mask("compare_mask");
    keep_shape = expected.tensor("compare_mask").shape;
  }
  for (const auto& name : expected.names()) {
    if (name == "compare_mask") continue;
    ASSERT_TRUE(got.count(name)) << what << " has no " << name;
    const auto& t = got.at(name);
    EXPECT_EQ(t.shape, expected.tensor(name).shape) << what << " " << name;
    auto want = expected.to_f32(name);
    std::vector<float> g = t.data;
    const auto& shape = expected.tensor(name).shape;
    const bool masked = !keep.empty() && shape.size() > keep_shape.size() &&
                        std::equal(keep_shape.begin(), keep_shape.end(), shape.begin());
    if (masked) {
      const size_t row = want.size() / keep.size();
      for (size_t i = 0; i < want.size(); ++i)
        if (!keep[i / row]) g[i] = want[i];
    }
    EXPECT_TRUE(vkt::near_all(g, want, tol, 0.f)) << what << " " << name;
  }
}

class TorchCases : public vkt::GpuTestP<std::string> {};

TEST_P(TorchCases, CpuReferenceMatchesTorch) {
  fs::path dir = fs::path(VKFUSE_TEST_DATA) / GetParam();
  auto model = vkfuse::Model::load((dir / "model.safetensors").string());
  auto in = vkfuse::SafetensorsFile::open((dir / "input.safetensors").string());
  auto expected = vkfuse::SafetensorsFile::open((dir / "expected.safetensors").string());
  compare(model.run(in, true, nullptr), expected, 1e-5f, "cpu");
}

TEST_P(TorchCases, GpuMatchesTorch) {
  fs::path dir = fs::path(VKFUSE_TEST_DATA) / GetParam();
  auto model = vkfuse::Model::load((dir / "model.safetensors").string());
  auto in = vkfuse::SafetensorsFile::open((dir / "input.safetensors").string());
  auto expected = vkfuse::SafetensorsFile::open((dir / "expected.safetensors").string());
  for (auto mode : {vkt::Mode::Normal, vkt::Mode::Portable, vkt::Mode::Staged})
    compare(model.run(in, true, &vkt::context(mode)), expected, 3e-5f, vkt::mode_name(mode));
}

INSTANTIATE_TEST_SUITE_P(Models, TorchCases, ::testing::ValuesIn(case_dirs()), [](const auto& pi) {
  std::string n = pi.param;
  std::replace(n.begin(), n.end(), '/', '_');
  return n;
});

}  // namespace
