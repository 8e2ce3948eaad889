// ONNX models as PyTorch exports them (tests/data/onnx, tools/gen_onnx_cases.py) through the
// public API, on the GPU in normal and portable mode (validation layer) and on the CPU
// references, against PyTorch's outputs; the optimization passes' effect on dispatch counts;
// host steps in the profile; integer outputs through the C API and the CLI; symbolic dims;
// and the hostile files of tests/data/onnx_hostile, each one clear error.
//
// Tolerance: these models are small (K <= 288 per dot product, O(1) values): 2e-5 absolute
// plus 1e-4 relative covers fp32 sums against PyTorch's.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "cli_runner.hpp"
#include "gpu_test.hpp"
#include "temp_dir.hpp"
#include "vkfuse/vkfuse.h"

namespace fs = std::filesystem;
using vkt::Mode;

namespace {

std::string data(const std::string& rel) { return std::string(VKFUSE_TEST_DATA) + "/" + rel; }

void expect_matches(const vkfuse::HostTensors& got, const std::string& expected_path, const std::string& what) {
  const auto want = vkfuse::SafetensorsFile::open(expected_path);
  ASSERT_EQ(got.size(), want.names().size()) << what;
  for (const std::string& name : want.names()) {
    const auto& t = want.tensor(name);
    const vkfuse::HostTensor& g = got.at(name);
    EXPECT_EQ(g.shape, t.shape) << what << " " << name;
    if (t.dtype == vkfuse::DType::F32) {
      EXPECT_EQ(g.dtype, vkfuse::DType::F32) << what << " " << name;
      EXPECT_TRUE(vkt::near_all(g.data, want.to_f32(name), 2e-5f, 1e-4f)) << what << " " << name;
    } else {
      const std::vector<int64_t> w = t.dtype == vkfuse::DType::Bool
                                         ? [&] {
                                             auto m = want.to_mask(name);
                                             return std::vector<int64_t>(m.begin(), m.end());
                                           }()
                                         : want.to_i64(name);
      EXPECT_EQ(g.dtype, t.dtype == vkfuse::DType::Bool ? vkfuse::DType::Bool : vkfuse::DType::I64) << what << " " << name;
      EXPECT_EQ(g.ints, w) << what << " " << name;
    }
  }
}

class OnnxModels : public vkt::GpuTestP<std::tuple<std::string, Mode>> {};

TEST_P(OnnxModels, MatchPyTorch) {
  const auto [name, mode] = GetParam();
  const std::string dir = data("onnx/" + name);
  const vkfuse::Model model = vkfuse::Model::load(dir + "/model.onnx");
  EXPECT_EQ(model.arch(), "onnx");
  const auto inputs = vkfuse::SafetensorsFile::open(dir + "/input.safetensors");
  auto& ctx = vkt::context(mode);
  vkfuse::Session s(ctx, model);
  expect_matches(s.run(inputs), dir + "/expected.safetensors", name + " gpu");
  expect_matches(s.run(inputs), dir + "/expected.safetensors", name + " gpu replay");
  EXPECT_EQ(s.recordings(), 1u);
  if (mode == Mode::Normal) expect_matches(model.run(inputs, false, nullptr), dir + "/expected.safetensors", name + " cpu");
}

INSTANTIATE_TEST_SUITE_P(Onnx, OnnxModels,
                         ::testing::Combine(::testing::Values("conv_bn", "attention", "encoder_opset14", "encoder_opset17",
                                                              "int_outputs", "resample", "embedding", "heads_attention",
                                                              "head_bias_attention", "conv_bn_residual"),
                                            ::testing::Values(Mode::Normal, Mode::Portable)),
                         [](const auto& pi) {
                           return std::get<0>(pi.param) + "_" + vkt::mode_name(std::get<1>(pi.param));
                         });

class OnnxGraph : public vkt::GpuTest {};

vkfuse::SafetensorsFile ids_input(const std::vector<int64_t>& ids, vkfuse::Shape shape) {
  return vkfuse::SafetensorsFile::from_tensors("ids", {{"ids", vkfuse::TensorBytes{vkfuse::DType::I64, shape, ids.data()}}});
}

// Symbolic dims: each input shape records once, and a batch the graph did not see at export
// runs; token ids outside the table are one error naming the id, not a clamped answer.
TEST_F(OnnxGraph, SymbolicDimsAndIdChecks) {
  const vkfuse::Model model = vkfuse::Model::load(data("onnx/embedding/model.onnx"));
  auto& ctx = vkt::context(Mode::Normal);
  vkfuse::Session s(ctx, model);
  for (int rep = 0; rep < 2; ++rep) {
    for (vkfuse::Shape shape : {vkfuse::Shape{3, 5}, vkfuse::Shape{1, 2}, vkfuse::Shape{4, 7}}) {
      std::vector<int64_t> ids(size_t(vkfuse::shape_numel(shape)));
      for (size_t k = 0; k < ids.size(); ++k) ids[k] = int64_t((k * 7 + 3) % 50);
      const auto in = ids_input(ids, shape);
      const auto gpu = s.run(in), cpu = model.run(in, false, nullptr);
      EXPECT_EQ(gpu.at("y").shape, (vkfuse::Shape{shape[0], 8}));
      EXPECT_TRUE(vkt::near_all(gpu.at("y").data, cpu.at("y").data, 1e-6f, 1e-5f));
    }
  }
  // A Session keeps one recording: each change of shape records again (3 shapes, twice).
  EXPECT_EQ(s.recordings(), 6u);
  std::vector<int64_t> bad = {1, 2, 50};
  try {
    s.run(ids_input(bad, {1, 3}));
    ADD_FAILURE() << "an id outside the table ran";
  } catch (const vkfuse::Error& e) {
    EXPECT_NE(std::string(e.what()).find("(50)"), std::string::npos) << e.what();
  }
  std::vector<float> f(6);
  const auto wrong = vkfuse::SafetensorsFile::from_tensors(
      "f", {{"ids", vkfuse::TensorBytes{vkfuse::DType::F32, {2, 3}, f.data()}}});
  EXPECT_THROW(s.run(wrong), vkfuse::Error);  // F32 for an int64 input
}

// The passes: GELU, LayerNorm and the conv/matmul epilogues fold into fewer dispatches than
// one per node, and the decomposed (opset 14) and fused (opset 17) layers record alike.
TEST_F(OnnxGraph, PassesFuse) {
  auto& ctx = vkt::context(Mode::Normal);
  auto count = [&](const std::string& name) {
    const vkfuse::Model model = vkfuse::Model::load(data("onnx/" + name + "/model.onnx"));
    vkfuse::Session s(ctx, model);
    s.run(vkfuse::SafetensorsFile::open(data("onnx/" + name + "/input.safetensors")));
    return s.dispatch_count();
  };
  const size_t d14 = count("encoder_opset14"), d17 = count("encoder_opset17");
  EXPECT_EQ(d14, d17) << "the decomposed LayerNorm and GELU should fuse as LayerNormalization does";
  // conv_bn: 4 convs/matmuls with their BatchNorm, activation and residual fused, a max
  // pool, a global pool and the output copy at most.
  EXPECT_LE(count("conv_bn"), 8u);
  // Each BatchNormalization folds into the Conv before it: no dispatch of its own.
  const vkfuse::Model model = vkfuse::Model::load(data("onnx/conv_bn/model.onnx"));
  vkfuse::Session s(ctx, model, false, true);
  s.run(vkfuse::SafetensorsFile::open(data("onnx/conv_bn/input.safetensors")));
  int folded = 0;
  for (const auto& t : s.timings()) {
    const std::string group = t.label.substr(0, t.label.find(" | "));
    EXPECT_EQ(group.find("(BatchNormalization"), std::string::npos) << t.label;
    if (group.find("(Conv+BatchNormalization+") != std::string::npos) ++folded;
  }
  EXPECT_EQ(folded, 2) << "the Conv+BatchNormalization+Relu and Conv+BatchNormalization+HardSwish groups";
}

// The attention pattern runs on the fused attention kernel, the score matrix never stored:
// one attention dispatch per layer and no softmax dispatch, for PyTorch's nn.MultiheadAttention
// ([B·H, L, D], a key padding mask), its encoder layer at opsets 14 and 17, and Hugging
// Face-style heads [B, H, L, D] with a causal and a key padding mask. A bias per head is not
// a mask the kernel takes: that graph runs MatMul, Softmax, MatMul.
TEST_F(OnnxGraph, AttentionUsesTheFusedKernel) {
  auto& ctx = vkt::context(Mode::Normal);
  auto dispatches = [&](const std::string& name, const std::string& kernel) {
    const vkfuse::Model model = vkfuse::Model::load(data("onnx/" + name + "/model.onnx"));
    vkfuse::Session s(ctx, model, false, true);
    s.run(vkfuse::SafetensorsFile::open(data("onnx/" + name + "/input.safetensors")));
    int n = 0;
    for (const auto& t : s.timings()) n += t.label.find(" | " + kernel) != std::string::npos;
    return n;
  };
  for (const char* name : {"attention", "encoder_opset14", "encoder_opset17", "heads_attention"}) {
    EXPECT_EQ(dispatches(name, "attention "), 1) << name;
    EXPECT_EQ(dispatches(name, "softmax "), 0) << name;
  }
  EXPECT_EQ(dispatches("head_bias_attention", "attention "), 0);
  EXPECT_EQ(dispatches("head_bias_attention", "softmax "), 1);
}

// A node without a kernel (TopK) runs on the host in its own segment, named in the profile.
TEST_F(OnnxGraph, HostStepsAreProfiled) {
  const vkfuse::Model model = vkfuse::Model::load(data("onnx/int_outputs/model.onnx"));
  auto& ctx = vkt::context(Mode::Normal);
  vkfuse::Session s(ctx, model, false, true);
  s.run(vkfuse::SafetensorsFile::open(data("onnx/int_outputs/input.safetensors")));
  bool host = false;
  for (const auto& t : s.timings()) host = host || (t.label.find("TopK") != std::string::npos &&
                                                    t.label.find("on the host") != std::string::npos);
  EXPECT_TRUE(host);
}

TEST_F(OnnxGraph, InfoAndRunFromTheCommandLine) {
  const auto r = vkt::cli("info " + data("onnx/embedding/model.onnx"));
  ASSERT_TRUE(r.ok()) << r.out;
  for (const char* want : {"opset 14", "ids int64 [batch,tokens]", "Gather", "GPU"})
    EXPECT_NE(r.out.find(want), std::string::npos) << want << " in\n" << r.out;
  const std::string out = (vkt::temp_dir() / "onnx_int_out.safetensors").string();
  const auto run = vkt::cli("run " + data("onnx/int_outputs/model.onnx") + " --input " +
                            data("onnx/int_outputs/input.safetensors") + " --output " + out);
  ASSERT_TRUE(run.ok()) << run.out;
  const auto got = vkfuse::SafetensorsFile::open(out), want = vkfuse::SafetensorsFile::open(data("onnx/int_outputs/expected.safetensors"));
  EXPECT_EQ(got.tensor("argmax").dtype, vkfuse::DType::I64);
  EXPECT_EQ(got.to_i64("argmax"), want.to_i64("argmax"));
  EXPECT_EQ(got.to_i64("topk_indices"), want.to_i64("topk_indices"));
  std::vector<int64_t> pos;
  for (uint8_t b : want.to_mask("positive")) pos.push_back(b);
  EXPECT_EQ(got.to_i64("positive"), pos);
}

// vkfuse bench --model: the dispatches a Session records for the same inputs, the weights the
// graph's constants take on the device, a peak that holds the whole memory plan, and the
// inputs made from the graph's declarations when none are given.
// The JSON a bench prints on stdout, after its progress lines on stderr.
nlohmann::json bench_json(const std::string& out) {
  const size_t at = out.rfind("\n{\n");
  return nlohmann::json::parse(at == std::string::npos ? out : out.substr(at + 1));
}

TEST_F(OnnxGraph, BenchModelFromTheCommandLine) {
  const std::string model = data("onnx/conv_bn/model.onnx");
  const auto r = vkt::cli("bench --model " + model + " --input " + data("onnx/conv_bn/input.safetensors") +
                          " --reps 2 --json",
                          "VKFUSE_VALIDATION=1");
  ASSERT_TRUE(r.ok()) << r.out;
  EXPECT_EQ(r.out.find("validation:"), std::string::npos) << r.out;
  const auto j = bench_json(r.out)["model"];
  vkfuse::Session s(vkt::context(Mode::Normal), vkfuse::Model::load(model));
  s.run(vkfuse::SafetensorsFile::open(data("onnx/conv_bn/input.safetensors")));
  EXPECT_EQ(j["dispatches"].get<size_t>(), s.dispatch_count());
  const auto m = s.memory();
  EXPECT_GT(m.weights, 0u);  // the convolutions' folded weights
  EXPECT_EQ(j["memory_plan"]["weights"].get<uint64_t>(), m.weights);
  EXPECT_GE(j["peak_device_bytes"].get<uint64_t>(), m.total());
  EXPECT_GT(j["wall_ms"].get<double>(), 0);
  EXPECT_GT(j["device_ms"].get<double>(), 0);
  const auto made = vkt::cli("bench --model " + data("onnx/embedding/model.onnx") + " --reps 1 --json", "VKFUSE_VALIDATION=1");
  ASSERT_TRUE(made.ok()) << made.out;
  EXPECT_EQ(made.out.find("validation:"), std::string::npos) << made.out;
  const auto in = bench_json(made.out)["model"]["inputs"]["ids"];
  EXPECT_EQ(in["shape"], nlohmann::json::array({1, 1}));  // [batch, tokens], each symbol 1
  EXPECT_EQ(in["dtype"], "I64");
  const auto arch = vkt::cli("bench --model " + data("vit/heads12_state_dict/model.safetensors") + " --reps 1");
  EXPECT_TRUE(arch.exited_with_error()) << arch.out;
  EXPECT_NE(arch.out.find("--input IN.safetensors"), std::string::npos) << arch.out;
}

TEST_F(OnnxGraph, IntegerOutputsThroughTheCApi) {
  vkfuse_context* c = nullptr;
  vkfuse_model* m = nullptr;
  vkfuse_session* s = nullptr;
  ASSERT_EQ(vkfuse_context_create(nullptr, &c), 0) << vkfuse_last_error();
  ASSERT_EQ(vkfuse_model_load(data("onnx/int_outputs/model.onnx").c_str(), &m), 0) << vkfuse_last_error();
  ASSERT_EQ(vkfuse_session_create(c, m, 0, &s), 0) << vkfuse_last_error();
  const auto in = vkfuse::SafetensorsFile::open(data("onnx/int_outputs/input.safetensors"));
  const std::vector<float> x = in.to_f32("x");
  const int64_t shape[2] = {3, 6};
  ASSERT_EQ(vkfuse_session_set_input(s, "x", VKFUSE_F32, shape, 2, x.data()), 0) << vkfuse_last_error();
  ASSERT_EQ(vkfuse_session_run(s), 0) << vkfuse_last_error();
  const int64_t* ids = nullptr;
  const int64_t* oshape = nullptr;
  int rank = 0;
  ASSERT_EQ(vkfuse_session_output_i64(s, "argmax", &ids, &oshape, &rank), 0) << vkfuse_last_error();
  const auto want = vkfuse::SafetensorsFile::open(data("onnx/int_outputs/expected.safetensors")).to_i64("argmax");
  EXPECT_EQ(std::vector<int64_t>(ids, ids + 3), want);
  const float* f = nullptr;
  EXPECT_NE(vkfuse_session_output(s, "argmax", &f, &oshape, &rank), 0);  // an int64 output read as floats
  EXPECT_NE(std::string(vkfuse_last_error()).find("vkfuse_session_output_i64"), std::string::npos);
  vkfuse_session_destroy(s);
  vkfuse_model_destroy(m);
  vkfuse_context_destroy(c);
}

// Each hostile file is one error naming what is wrong, from Model::load or the first run.
TEST(OnnxHostile, EachIsOneClearError) {
  std::ifstream f(data("onnx_hostile/expected_errors.json"));
  const nlohmann::json want = nlohmann::json::parse(f);
  ASSERT_GE(want.size(), 10u);
  for (const auto& [file, needle] : want.items()) {
    const std::string path = data("onnx_hostile/" + file);
    try {
      const vkfuse::Model m = vkfuse::Model::load(path);
      std::vector<float> x(256, 0.f);
      const auto in = file == "conv_bad_group.onnx"
                          ? vkfuse::SafetensorsFile::from_tensors(
                                "in", {{"x4", vkfuse::TensorBytes{vkfuse::DType::F32, {1, 4, 8, 8}, x.data()}}})
                          : vkfuse::SafetensorsFile::from_tensors(
                                "in", {{"x", vkfuse::TensorBytes{vkfuse::DType::F32, {2, 3}, x.data()}}});
      m.run(in, false, nullptr);
      ADD_FAILURE() << file << " loaded and ran";
    } catch (const vkfuse::Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(needle.get<std::string>()), std::string::npos) << file << ": " << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << file << ": " << msg;
    }
  }
}

}  // namespace
