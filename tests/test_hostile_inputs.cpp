// Files and inputs from strangers, as a hostile user makes them: what a small fuzzer does not
// reach (size, depth, aliasing). Each gives one clear error naming its cause, quickly and in
// little memory, or (for empty and NaN inputs) the same answer on the GPU and the CPU.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "cli_runner.hpp"
#include "temp_dir.hpp"
#include "vkfuse/model.hpp"
#include "vkfuse/safetensors.hpp"

namespace fs = std::filesystem;

namespace {

const std::string kData = VKFUSE_TEST_DATA;
constexpr double kMaxSeconds = 1.0, kMaxMiB = 100.0;
// Under AddressSanitizer in a Debug build time and memory are a sanitizer's, not vkfuse's:
// there the limits are not held (the Release build of the same suite holds them), and every
// other assertion is.
#ifdef VKFUSE_SANITIZED
constexpr bool kLimits = false;
#else
constexpr bool kLimits = true;
#endif

std::string tmp(const std::string& name) { return (vkt::temp_dir() / name).string(); }

// A safetensors file of `header` (JSON text, written as given) and `data_bytes` of zeros; a
// large data section is a hole in a sparse file, so it costs no disk.
std::string raw_file(const std::string& name, const std::string& header, uint64_t data_bytes = 0) {
  const std::string path = tmp(name);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) f.put(char(n >> (8 * i)));
  f << header;
  f.close();
  EXPECT_EQ(::truncate(path.c_str(), off_t(8 + header.size() + data_bytes)), 0);
  return path;
}

// A model file with no tensors and this config (as JSON text, put in the metadata as is).
std::string config_only(const std::string& name, const std::string& config) {
  return raw_file(name, nlohmann::json{{"__metadata__", {{"vkfuse.config", config}}}}.dump());
}

// What a command that opens the Vulkan device takes anyway (lavapipe's JIT and tables: about
// 100 MB), measured once; a GPU command may take kMaxMiB more than it.
double device_baseline_mib() {
  static const double mib = vkt::cli("devices").peak_mib;
  return mib;
}

// Runs the command line and holds it to one clear line, within a second, and to kMaxMiB
// (beyond the device's own share when it opens one, measured without validation: the layer
// takes its own share, so a device run is held to twice the device's).
void expect_clean_error(const std::string& args, const std::string& needle, const std::string& env = "",
                        bool device = false) {
  // On a device, under the validation layer: a validation message would break the one line.
  vkt::CliResult r = vkt::cli(args, env + (device ? " VKFUSE_VALIDATION=1" : ""));
  EXPECT_TRUE(vkt::one_line_error(r, needle)) << args;
  if (!kLimits) return;
  // A device run includes making an instance and a device under the validation layer.
  EXPECT_LT(r.seconds, device ? 3 * kMaxSeconds : kMaxSeconds) << args;
  EXPECT_LT(r.peak_mib, kMaxMiB + (device ? 2 * device_baseline_mib() : 0.0)) << args;
}

TEST(HostileFiles, ConfigNestedAHundredThousandDeepIsOneError) {
  const std::string deep = std::string(100'000, '[') + "1" + std::string(100'000, ']');
  const std::string path = config_only("deep.safetensors", R"({"arch":"multihead_attention","embed_dim":)" + deep + "}");
  expect_clean_error("info " + path, "config nests deeper than 64 levels");
}

// vision_layers + text_layers + 2*fusion_layers + joint_layers overflowed int64 once, passed
// the bound as a negative number, and the tensor list then grew for minutes.
TEST(HostileFiles, LayerCountsThatWouldOverflowAreRefused) {
  const std::string path = config_only(
      "layers.safetensors",
      R"({"arch":"vision_text_fusion","d_model":16,"nhead":2,"dim_feedforward":32,"in_channels":3,"image_size":8,)"
      R"("patch_size":4,"use_cls_token":true,"vision_layers":4611686018427387904,"vocab_size":20,"max_text_len":6,)"
      R"("text_layers":4611686018427387904,"fusion_layers":2305843009213693952,"fusion_mode":"bidirectional",)"
      R"("joint_layers":4611686018427387904,"pooling":"cls","num_outputs":1,"output_activation":"sigmoid"})");
  expect_clean_error("info " + path, "'vision_layers' is 4611686018427387904 layers, but the file holds only 0 tensors");
  // Sizes whose products overflow (3·embed_dim, grid²) are out of range before any product.
  expect_clean_error("info " + config_only("dim.safetensors", R"({"arch":"multihead_attention","embed_dim":)"
                                                              R"(4611686018427387904,"num_heads":1})"),
                     "'embed_dim' must be an integer from 1 to 2^31 - 1");
}

TEST(HostileFiles, MalformedJsonIsRefused) {
  expect_clean_error("info " + config_only("dupkey.safetensors",
                                           R"({"arch":"multihead_attention","embed_dim":16,"num_heads":2,"num_heads":4})"),
                     "config: key 'num_heads' appears twice");
  const std::string meta = R"({"__metadata__":{"vkfuse.config":"{\"arch\":\"multihead_attention\"}"}})";
  expect_clean_error("info " + raw_file("nul.safetensors", meta + std::string("\0garbage", 8)),
                     "header holds a NUL byte at offset " + std::to_string(meta.size()));
  expect_clean_error("info " + raw_file("bom.safetensors", "\xEF\xBB\xBF" + meta), "byte-order mark");
  // A NUL inside the config (escaped in the header, raw once unescaped) with garbage after it.
  expect_clean_error("info " + config_only("confignul.safetensors", std::string(R"({"arch":"x"})") + '\0' + "junk"),
                     "config holds a NUL byte at offset 12");
  expect_clean_error("info " + config_only("configbom.safetensors", "\xEF\xBB\xBF{}"), "byte-order mark");
}

// 150,000 tensors in one header: the duplicate-name check once made opening quadratic.
TEST(HostileFiles, ManyTensorsOpenInLinearTime) {
  std::string header = "{";
  const int n = 150'000;
  for (int i = 0; i < n; ++i)
    header += (i ? "," : "") + std::string("\"t") + std::to_string(i) + R"(":{"dtype":"F32","shape":[0],"data_offsets":[0,0]})";
  header += "}";
  const std::string path = raw_file("many.safetensors", header);
  const auto t0 = std::chrono::steady_clock::now();
  auto f = vkfuse::SafetensorsFile::open(path);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(f.names().size(), size_t(n));
  if (kLimits) {
    EXPECT_LT(s, 5.0) << "opening " << header.size() / 1e6 << " MB of header took " << s << " s";
  }
  // As a model file through the command line: refused for the tensors its arch needs, fast,
  // in little memory.
  const std::string model = raw_file(
      "many_model.safetensors",
      R"({"__metadata__":{"vkfuse.config":"{\"arch\":\"multihead_attention\",\"embed_dim\":16,\"num_heads\":2}"},)" +
          header.substr(1));
  expect_clean_error("info " + model, "tensor 'in_proj_weight' is missing");
  // A duplicate among them is still found.
  const std::string dup = raw_file("manydup.safetensors", header.substr(0, header.size() - 1) +
                                                               R"(,"t77":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}})");
  expect_clean_error("info " + dup, "duplicate tensor name 't77'");
}

// An encoder with one feed-forward weight past the 128 MiB storage range of portable mode,
// in a sparse file: refused from the header before a weight is converted, and `vkfuse info`
// reads only the header.
TEST(HostileFiles, TensorOverTheDeviceRangeIsRefusedBeforeLoading) {
  const int64_t e = 16, f = 2'200'000;  // linear1.weight [F, E] is 134 MiB of F32
  nlohmann::ordered_json h;
  h["__metadata__"] = {{"vkfuse.config", nlohmann::json{{"arch", "transformer_encoder"}, {"d_model", e}, {"nhead", 2},
                                                         {"dim_feedforward", f}, {"num_layers", 1}}
                                             .dump()}};
  uint64_t off = 0;
  auto add = [&](const std::string& name, std::vector<int64_t> shape) {
    uint64_t bytes = 4;
    for (int64_t d : shape) bytes *= uint64_t(d);
    h[name] = {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {off, off + bytes}}};
    off += bytes;
  };
  const std::string p = "layers.0.";
  add(p + "self_attn.in_proj_weight", {3 * e, e});
  add(p + "self_attn.in_proj_bias", {3 * e});
  add(p + "self_attn.out_proj.weight", {e, e});
  add(p + "self_attn.out_proj.bias", {e});
  add(p + "linear1.weight", {f, e});
  add(p + "linear1.bias", {f});
  add(p + "linear2.weight", {e, f});
  add(p + "linear2.bias", {e});
  for (const char* n : {"norm1", "norm2"}) {
    add(p + n + ".weight", {e});
    add(p + n + ".bias", {e});
  }
  const std::string model = raw_file("big.safetensors", h.dump(), off);
  const std::vector<float> src(2 * e, 0.5f);
  const std::string in = tmp("big_in.safetensors");
  vkfuse::write_safetensors(in, {{"src", vkfuse::f32_bytes({1, 2, e}, src)}});
  vkt::CliResult info = vkt::cli("info " + model);
  EXPECT_EQ(info.status, 0) << info.out;
  if (kLimits) {
    EXPECT_LT(info.peak_mib, kMaxMiB) << "vkfuse info read more than the header";
  }
  expect_clean_error("run " + model + " --input " + in + " --output " + tmp("big_out.safetensors"),
                     "tensor 'layers.0.linear1.weight' [2200000,16] needs 134.3 MiB on the device", "VKFUSE_PORTABLE=1",
                     true);
}

// The fusion model's image batch too large for one storage buffer: the error names the input.
TEST(HostileFiles, InputOverTheDeviceRangeNamesTheInput) {
  const std::string model = kData + "/vision_text_fusion/cls_bidirectional_sigmoid/model.safetensors";
  const int64_t big = 600'000;  // image [600000, 3, 8, 8] F32 = 439 MiB, in a sparse file
  nlohmann::ordered_json h;
  const uint64_t img = uint64_t(big) * 3 * 8 * 8 * 4, ids = uint64_t(big) * 2 * 8;
  h["image"] = {{"dtype", "F32"}, {"shape", {big, 3, 8, 8}}, {"data_offsets", {0, img}}};
  h["input_ids"] = {{"dtype", "I64"}, {"shape", {big, 2}}, {"data_offsets", {img, img + ids}}};
  const std::string in = raw_file("bigbatch.safetensors", h.dump(), img + ids);
  expect_clean_error("run " + model + " --input " + in + " --output " + tmp("bigbatch_out.safetensors"),
                     "input 'image' [600000,3,8,8] needs 439.5 MiB on the device", "VKFUSE_PORTABLE=1", true);
}

// Inputs for the 16-wide self-attention fixture: query [b, l, 16], key and value [b, s, 16].
std::string attention_inputs(const std::string& name, int64_t b, int64_t l, int64_t s, const std::vector<float>& q,
                             const std::vector<float>& kv) {
  const std::string path = tmp(name);
  vkfuse::write_safetensors(path, {{"query", vkfuse::f32_bytes({b, l, 16}, q)},
                                   {"key", vkfuse::f32_bytes({b, s, 16}, kv)},
                                   {"value", vkfuse::f32_bytes({b, s, 16}, kv)}});
  return path;
}

const std::string kAttention = kData + "/attention/self_attn/model.safetensors";

// Both paths on the same input, through the command line; the outputs by name.
std::pair<vkfuse::HostTensors, vkfuse::HostTensors> both_paths(const std::string& model, const std::string& in,
                                                               const std::string& flags = "") {
  std::pair<vkfuse::HostTensors, vkfuse::HostTensors> r;
  for (bool cpu : {false, true}) {
    const std::string out = tmp(cpu ? "cpu_out.safetensors" : "gpu_out.safetensors");
    vkt::CliResult run = vkt::cli("run " + model + " --input " + in + " --output " + out + " " + flags +
                                  (cpu ? " --cpu" : " --validation"));
    EXPECT_EQ(run.status, 0) << (cpu ? "cpu: " : "gpu: ") << run.out;
    EXPECT_EQ(run.out, "") << "a message (a validation message, on the GPU): " << run.out;
    // Nothing sized by a declared dimension that the file holds no bytes for.
    if (kLimits) {
      EXPECT_LT(run.peak_mib, kMaxMiB + (cpu ? 0.0 : 2 * device_baseline_mib())) << (cpu ? "cpu" : "gpu (validation)");
    }
    if (run.status != 0) continue;
    auto f = vkfuse::SafetensorsFile::open(out);
    auto& dst = cpu ? r.second : r.first;
    for (const auto& n : f.names()) dst[n] = {f.tensor(n).shape, f.to_f32(n)};
  }
  return r;
}

// An empty batch declaring 2^27 keys holds no bytes: empty outputs on both paths, with no
// memory sized by the declared keys (the CPU reference once allocated 1 GB for it).
TEST(EmptyAndNaN, EmptyBatchGivesEmptyOutputsOnBothPaths) {
  nlohmann::ordered_json h;
  const int64_t s = int64_t(1) << 27;
  h["query"] = {{"dtype", "F32"}, {"shape", {0, 3, 16}}, {"data_offsets", {0, 0}}};
  h["key"] = {{"dtype", "F32"}, {"shape", {0, s, 16}}, {"data_offsets", {0, 0}}};
  h["value"] = {{"dtype", "F32"}, {"shape", {0, s, 16}}, {"data_offsets", {0, 0}}};
  const std::string in = raw_file("empty_batch.safetensors", h.dump());
  auto [gpu, cpu] = both_paths(kAttention, in, "--need-weights");
  for (const auto* out : {&gpu, &cpu}) {
    ASSERT_EQ(out->count("output"), 1u);
    EXPECT_EQ(out->at("output").shape, (vkfuse::Shape{0, 3, 16}));
    EXPECT_EQ(out->at("attn_weights").shape, (vkfuse::Shape{0, 3, s}));
  }
  // No query rows: empty too.
  const std::string rows0 = attention_inputs("no_rows.safetensors", 2, 0, 4, {}, std::vector<float>(2 * 4 * 16, 0.25f));
  auto [g0, c0] = both_paths(kAttention, rows0);
  EXPECT_EQ(g0.at("output").shape, (vkfuse::Shape{2, 0, 16}));
  EXPECT_EQ(c0.at("output").shape, (vkfuse::Shape{2, 0, 16}));
}

// No keys at all: every query row attends to nothing, which vkfuse defines as a fully masked
// row (zeros before the output projection), so the output is out_proj.bias on both paths.
TEST(EmptyAndNaN, NoKeysAgreeOnBothPaths) {
  const std::string in = attention_inputs("no_keys.safetensors", 1, 3, 0, std::vector<float>(3 * 16, 0.5f), {});
  auto [gpu, cpu] = both_paths(kAttention, in);
  ASSERT_TRUE(gpu.count("output") && cpu.count("output"));
  auto bias = vkfuse::Model::load(kAttention).weights().at("out_proj.bias");
  for (int64_t r = 0; r < 3; ++r)
    for (int64_t j = 0; j < 16; ++j) {
      EXPECT_FLOAT_EQ(cpu.at("output").data[r * 16 + j], bias[j]);
      EXPECT_FLOAT_EQ(gpu.at("output").data[r * 16 + j], bias[j]);
    }
}

// A NaN in a query row makes that row's scores NaN: the row is NaN on both paths (PyTorch's
// semantics; the CPU reference once dropped NaN in std::max and gave a fully masked row),
// and the other rows are untouched.
TEST(EmptyAndNaN, NaNPropagatesOnBothPaths) {
  std::vector<float> q(3 * 16), kv(4 * 16);
  for (size_t i = 0; i < q.size(); ++i) q[i] = std::sin(0.3f * float(i));
  for (size_t i = 0; i < kv.size(); ++i) kv[i] = std::cos(0.2f * float(i));
  q[5] = std::nanf("");                                   // row 0, one feature
  for (int j = 0; j < 16; ++j) q[2 * 16 + j] = std::nanf("");  // row 2, every feature
  const std::string in = attention_inputs("nan.safetensors", 1, 3, 4, q, kv);
  auto [gpu, cpu] = both_paths(kAttention, in, "--need-weights");
  ASSERT_TRUE(gpu.count("output") && cpu.count("output"));
  for (const auto* out : {&gpu, &cpu}) {
    const auto& o = out->at("output").data;
    const auto& w = out->at("attn_weights").data;
    for (int j = 0; j < 16; ++j) {
      EXPECT_TRUE(std::isnan(o[j])) << (out == &gpu ? "gpu" : "cpu") << " row 0 col " << j;
      EXPECT_TRUE(std::isnan(o[2 * 16 + j])) << (out == &gpu ? "gpu" : "cpu") << " row 2 col " << j;
      EXPECT_TRUE(std::isfinite(o[16 + j])) << (out == &gpu ? "gpu" : "cpu") << " row 1 col " << j;
    }
    for (int k = 0; k < 4; ++k) {
      EXPECT_TRUE(std::isnan(w[k]) && std::isnan(w[8 + k])) << "weights of rows 0 and 2";
      EXPECT_TRUE(std::isfinite(w[4 + k])) << "weights of row 1";
    }
  }
  for (int j = 0; j < 16; ++j) EXPECT_NEAR(gpu.at("output").data[16 + j], cpu.at("output").data[16 + j], 3e-5f);
}

// --output at something that is not a regular file: a FIFO and a symbolic link are written
// through, in place (a rename would replace them, or a device node, with a regular file).
TEST(HostileFiles, OutputsThatAreNotRegularFilesAreWrittenInPlace) {
  const std::string model = kData + "/attention/self_attn/model.safetensors";
  const std::string in = kData + "/attention/self_attn/input.safetensors";
  const std::string fifo = tmp("out.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // A reader drains the FIFO while vkfuse writes to it.
  std::string bytes;
  std::thread reader([&] {
    std::ifstream f(fifo, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  });
  vkt::CliResult r = vkt::cli("run " + model + " --input " + in + " --output " + fifo + " --cpu");
  if (r.status != 0) {  // vkfuse never opened it: open and close it once so the reader ends
    for (int i = 0; i < 500; ++i, ::usleep(10'000)) {  // until the reader waits in its open
      const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
      if (fd >= 0) {
        ::close(fd);
        break;
      }
    }
  }
  reader.join();
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(fs::is_fifo(fifo));
  EXPECT_TRUE(vkfuse::SafetensorsFile::parse("fifo", bytes.data(), bytes.size()).contains("output"));
  const std::string target = tmp("target.safetensors"), link = tmp("link.safetensors");
  std::ofstream(target) << "old";
  fs::create_symlink(target, link);
  r = vkt::cli("run " + model + " --input " + in + " --output " + link + " --cpu");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_TRUE(vkfuse::SafetensorsFile::open(target).contains("output"));
  expect_clean_error("run " + model + " --input " + in + " --output " + vkt::temp_dir().string() + " --cpu",
                     "is a directory");
}

TEST(HostileFiles, BrokenDriverManifestIsNamed) {
  const std::string manifest = tmp("broken_icd.json");
  std::ofstream(manifest) << "{ not json";
  expect_clean_error("devices", "a driver or layer manifest it read is probably broken (VK_DRIVER_FILES=" + manifest,
                     "VK_DRIVER_FILES=" + manifest);
}

}  // namespace
