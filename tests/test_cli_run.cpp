// `vkfuse run` and `vkfuse info` as a user runs them: right answers on a PyTorch case, and
// one clear line with a non-zero exit (never a crash) for each kind of bad file or input.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "cli_runner.hpp"
#include "vkfuse/half.hpp"
#include "vkfuse/model.hpp"

namespace fs = std::filesystem;

namespace {

using Result = vkt::CliResult;
using vkt::cli;

class CliRun : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp = fs::temp_directory_path() / ("vkfuse-cli-" + std::to_string(::getpid()));
    fs::create_directories(tmp);
    src = fs::path(VKFUSE_TEST_DATA) / "attention" / "key_padding_mask";
  }
  void TearDown() override { fs::remove_all(tmp); }
  std::string model() const { return (src / "model.safetensors").string(); }
  std::string input() const { return (src / "input.safetensors").string(); }
  std::string out() const { return (tmp / "out.safetensors").string(); }

  // Runs `args`; expects a normal non-zero exit with one line naming `needle`.
  void expect_error(const std::string& args, const std::string& needle) {
    EXPECT_TRUE(vkt::one_line_error(cli(args), needle)) << args;
  }

  // A copy of the model (or input) with tensors changed: `edit` gets name -> (dtype, shape, bytes).
  struct Raw {
    vkfuse::DType dtype;
    vkfuse::Shape shape;
    std::vector<uint8_t> bytes;
  };
  using RawMap = std::vector<std::pair<std::string, Raw>>;
  template <class Edit>
  std::string rewrite(const std::string& from, const std::string& name, Edit edit) {
    auto f = vkfuse::SafetensorsFile::open(from);
    RawMap m;
    for (const auto& n : f.names()) {
      const auto& t = f.tensor(n);
      m.push_back({n, {t.dtype, t.shape, std::vector<uint8_t>(t.data, t.data + t.bytes)}});
    }
    edit(m);
    std::vector<std::pair<std::string, vkfuse::TensorBytes>> tb;
    for (const auto& [n, r] : m) tb.push_back({n, {r.dtype, r.shape, r.bytes.data()}});
    std::string path = (tmp / name).string();
    vkfuse::write_safetensors(path, tb, f.metadata());
    return path;
  }
  static Raw& find(RawMap& m, const std::string& name) {
    for (auto& [n, r] : m)
      if (n == name) return r;
    throw std::runtime_error("no " + name);
  }
  std::string write_bytes(const std::string& name, const std::string& bytes) {
    std::string path = (tmp / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  fs::path tmp, src;
};

TEST_F(CliRun, GpuAndCpuMatchTorch) {
  auto expected = vkfuse::SafetensorsFile::open((src / "expected.safetensors").string());
  for (const char* flag : {"", "--cpu"}) {
    Result r = cli("run " + model() + " --input " + input() + " --output " + out() + " --need-weights " + flag);
    ASSERT_EQ(r.status, 0) << r.out;
    auto got = vkfuse::SafetensorsFile::open(out());
    for (const char* name : {"output", "attn_weights"}) {
      auto g = got.to_f32(name), w = expected.to_f32(name);
      ASSERT_EQ(g.size(), w.size());
      for (size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], w[i], 3e-5) << flag << " " << name << " " << i;
    }
  }
  Result r = cli("run " + model() + " --input " + input() + " --output " + out());
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_FALSE(vkfuse::SafetensorsFile::open(out()).contains("attn_weights"));  // only with --need-weights
}

// --profile names the dtype the weight matrices are kept in, and an F16 copy of the model
// shows less weight memory than the F32 file with the same answers to 1e-2.
TEST_F(CliRun, ProfileShowsSixteenBitWeightMemory) {
  std::string f16 = rewrite(model(), "f16.safetensors", [](RawMap& m) {
    for (auto& [n, r] : m) {
      if (r.dtype != vkfuse::DType::F32) continue;
      std::vector<uint8_t> b(r.bytes.size() / 2);
      for (size_t i = 0; i < b.size() / 2; ++i) {
        float v;
        std::memcpy(&v, &r.bytes[4 * i], 4);
        const uint16_t h = vkfuse::float_to_half(v);
        std::memcpy(&b[2 * i], &h, 2);
      }
      r = {vkfuse::DType::F16, r.shape, b};
    }
  });
  // The weights' figure in KiB, whichever unit the line uses.
  auto weights_kib = [](const std::string& text) {
    const size_t at = text.find("weights ");
    if (at == std::string::npos) return -1.0;
    const double kib = text.find(" KiB = ") != std::string::npos ? 1.0 : 1024.0;
    return std::stod(text.substr(at + 8)) * kib;
  };
  Result r32 = cli("run " + model() + " --input " + input() + " --output " + out() + " --profile");
  ASSERT_EQ(r32.status, 0) << r32.out;
  EXPECT_NE(r32.out.find("(matrices F32)"), std::string::npos) << r32.out;
  auto o32 = vkfuse::SafetensorsFile::open(out()).to_f32("output");
  Result r16 = cli("run " + f16 + " --input " + input() + " --output " + out() + " --profile");
  ASSERT_EQ(r16.status, 0) << r16.out;
  EXPECT_NE(r16.out.find("(matrices F16)"), std::string::npos) << r16.out;
  EXPECT_LT(weights_kib(r16.out), weights_kib(r32.out)) << r32.out << r16.out;
  EXPECT_GT(weights_kib(r16.out), 0.0) << r16.out;
  auto o16 = vkfuse::SafetensorsFile::open(out()).to_f32("output");
  ASSERT_EQ(o16.size(), o32.size());
  for (size_t i = 0; i < o16.size(); ++i) EXPECT_NEAR(o16[i], o32[i], 1e-2 + 1e-2 * std::fabs(o32[i])) << i;
}

TEST_F(CliRun, InfoShowsConfigAndTensors) {
  Result r = cli("info " + model());
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("\"arch\":\"multihead_attention\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("in_proj_weight"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[48,16]"), std::string::npos) << r.out;
}

// The encoder fixture with `from` replaced by `to` in its config, written as `name`.
std::string encoder_with(const fs::path& tmp, const std::string& name, const std::string& from, const std::string& to) {
  const std::string enc = std::string(VKFUSE_TEST_DATA) + "/transformer_encoder/post_norm_relu/model.safetensors";
  auto f = vkfuse::SafetensorsFile::open(enc);
  auto meta = f.metadata();
  auto& cfg = meta["vkfuse.config"];
  EXPECT_NE(cfg.find(from), std::string::npos) << cfg;
  if (cfg.find(from) != std::string::npos) cfg.replace(cfg.find(from), from.size(), to);
  std::vector<std::pair<std::string, vkfuse::TensorBytes>> tb;
  for (const auto& n : f.names()) {
    const auto& t = f.tensor(n);
    tb.push_back({n, {t.dtype, t.shape, t.data}});
  }
  std::string path = (tmp / name).string();
  vkfuse::write_safetensors(path, tb, meta);
  return path;
}

TEST_F(CliRun, AbsurdLayerCountIsRefused) {
  expect_error("info " + encoder_with(tmp, "layers.safetensors", "\"num_layers\":2", "\"num_layers\":1000000000000000"),
               "layers, but the file holds only");
}

// A sequence-first model run batch-first would exit 0 with a wrong answer: the key is refused.
TEST_F(CliRun, UnimplementedConfigKeyIsRefused) {
  const std::string bad = encoder_with(tmp, "batch_first.safetensors", "\"num_layers\":2",
                                       "\"num_layers\":2,\"batch_first\":false");
  const std::string in = std::string(VKFUSE_TEST_DATA) + "/transformer_encoder/post_norm_relu/input.safetensors";
  expect_error("run " + bad + " --input " + in + " --output " + out(), "'batch_first' is not a config key");
  expect_error("run " + bad + " --cpu --input " + in + " --output " + out(), "'batch_first' is not a config key");
}

TEST_F(CliRun, MalformedFilesAndInputs) {
  const std::string io = " --output " + out();
  std::string whole;
  {
    std::ifstream f(model(), std::ios::binary);
    whole.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  expect_error("run " + write_bytes("truncated.safetensors", whole.substr(0, whole.size() / 2)) + " --input " + input() + io,
               "truncated.safetensors");
  expect_error("run " + write_bytes("tiny.safetensors", "abc") + " --input " + input() + io, "tiny.safetensors");
  std::string bad_json = "{not json";
  std::string len(8, '\0');
  len[0] = static_cast<char>(bad_json.size());
  expect_error("run " + write_bytes("badjson.safetensors", len + bad_json) + " --input " + input() + io, "badjson");
  std::string overlap = R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})";
  std::string len2(8, '\0');
  len2[0] = static_cast<char>(overlap.size());
  expect_error("run " + write_bytes("overlap.safetensors", len2 + overlap + std::string(24, '\0')) + " --input " + input() + io,
               "overlap");
  expect_error("run " + rewrite(model(), "dtype.safetensors", [](RawMap& m) { find(m, "in_proj_weight").dtype = vkfuse::DType::I32; }) +
                   " --input " + input() + io,
               "in_proj_weight");
  expect_error("run " + rewrite(model(), "shape.safetensors", [](RawMap& m) {
                 auto& r = find(m, "out_proj.weight");
                 r.shape = {8, 32};
               }) + " --input " + input() + io,
               "out_proj.weight");
  expect_error("run " + rewrite(model(), "missing.safetensors", [](RawMap& m) {
                 m.erase(std::remove_if(m.begin(), m.end(), [](auto& p) { return p.first == "out_proj.bias"; }), m.end());
               }) + " --input " + input() + io,
               "out_proj.bias");
  expect_error("run " + model() + " --input " + rewrite(input(), "mask.safetensors", [](RawMap& m) {
                 auto& r = find(m, "key_padding_mask");
                 r.shape = {r.shape[0] * r.shape[1]};
               }) + io,
               "key_padding_mask");
  expect_error("run " + model() + " --input " + rewrite(input(), "keylen.safetensors", [](RawMap& m) {
                 auto& v = find(m, "value");
                 v.shape[1] -= 1;
                 v.bytes.resize(v.bytes.size() / (v.shape[1] + 1) * v.shape[1]);
               }) + io,
               "key length mismatch");
  expect_error("run " + model() + " --input " + (tmp / "absent.safetensors").string() + io, "absent.safetensors");
  expect_error("run " + model() + " --input " + input() + io + " --device no-such-gpu-xyz", "no device matches");
}

}  // namespace
