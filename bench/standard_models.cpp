// vkfuse bench --networks, the standard models: CLIP ViT-B/32's image tower (224x224, 50
// tokens, 12 layers of 768) and text tower (77 tokens, 12 layers of 512), and a MiniLM-L6
// sentence encoder (BERT, 6 layers of 384, 12 heads, 128 tokens), each as a model file with
// random weights run through a Session: recorded once, replayed. Device time is the sum of
// the timestamp pairs around every dispatch of one replay, wall time the host's clock around
// Session::run (inputs up, replay, outputs down); medians of --reps replays after a warm-up.
// GFLOP counts the matmul work (2 per multiply-add) of the projections, attention and
// feed-forward layers and the patch embedding. tools/bench_standard_models.py runs the same
// models in PyTorch in the same run and prints the ratios.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "bench_util.hpp"
#include "vkfuse/vkfuse.hpp"

namespace {

struct Row {
  const char* name;
  const char* arch;
  nlohmann::json config;
  double gflop;
  const char* per;  // "image" or "text"
};

// One encoder layer over l tokens of width d with feed-forward f: q, k, v, out projections,
// the two attention products, and the two feed-forward matmuls.
double layer_flop(double l, double d, double f) { return 2 * l * (4 * d * d + 2 * d * f) + 4 * l * l * d; }

nlohmann::json clip_b32(bool image) {
  nlohmann::json c = {{"arch", "clip"}, {"projection_dim", 512},
                      {"vision_config", {{"hidden_size", 768}, {"intermediate_size", 3072}, {"num_attention_heads", 12},
                                         {"num_hidden_layers", image ? 12 : 0}, {"image_size", 224}, {"patch_size", 32}}},
                      {"text_config", {{"hidden_size", 512}, {"intermediate_size", 2048}, {"num_attention_heads", 8},
                                       {"num_hidden_layers", image ? 0 : 12}, {"vocab_size", 49408},
                                       {"max_position_embeddings", 77}}}};
  return c;
}

nlohmann::json minilm(const char* act) {
  return {{"arch", "bert"},       {"vocab_size", 30522},        {"hidden_size", 384},     {"num_hidden_layers", 6},
          {"num_attention_heads", 12}, {"intermediate_size", 1536}, {"hidden_act", act}, {"max_position_embeddings", 512}};
}

vkfuse::Model random_model(const nlohmann::json& config) {
  const std::string json = config.dump();
  auto names = vkfuse::Model::tensors_for(json);
  std::vector<std::vector<float>> values;
  std::vector<std::pair<std::string, vkfuse::TensorBytes>> tensors;
  values.reserve(names.size());
  uint32_t seed = 11;
  for (const auto& [name, shape] : names) {
    values.push_back(bench::random_vec(vkfuse::shape_numel(shape), seed++));
    // Small weights keep the activations O(1) through 12 layers; LayerNorm weights near 1.
    const bool norm_weight = name.find("norm") != std::string::npos && name.find(".weight") != std::string::npos;
    for (auto& x : values.back()) x = norm_weight ? 1.f + 0.1f * x : 0.05f * x;
    tensors.push_back({name, {vkfuse::DType::F32, shape, values.back().data()}});
  }
  return vkfuse::Model::load(vkfuse::SafetensorsFile::from_tensors("bench " + std::string(config["arch"]), tensors,
                                                                   {{"vkfuse.config", json}}));
}

}  // namespace

nlohmann::json bench_standard_models(vkfuse::Context& ctx, int reps, bool print, double peak) {
  const double v = 50, t = 77, m = 128;
  std::vector<Row> rows = {
      {"clip vit-b/32 image tower, 50 tokens", "clip", clip_b32(true),
       (12 * layer_flop(v, 768, 3072) + 2 * 49 * 3 * 32 * 32 * 768.0 + 2 * 768 * 512.0) / 1e9, "image"},
      {"clip vit-b/32 text tower, 77 tokens", "clip", clip_b32(false),
       (12 * layer_flop(t, 512, 2048) + 2 * 512 * 512.0) / 1e9, "text"},
      {"minilm-l6 (bert 384/12h x6) gelu, 128 tokens", "bert", minilm("gelu"), 6 * layer_flop(m, 384, 1536) / 1e9,
       "text"},
      {"minilm-l6 (bert 384/12h x6) relu, 128 tokens", "bert", minilm("relu"), 6 * layer_flop(m, 384, 1536) / 1e9,
       "text"},
  };
  nlohmann::json out = nlohmann::json::array();
  if (print)
    std::printf("\n%-46s %10s %10s %10s %10s %8s %10s\n", "standard model (batch 1, median)", "device ms", "wall ms",
                "GFLOP", "GFLOP/s", "of peak", "dispatches");
  for (const Row& r : rows) {
    bench::progress(r.name);
    vkfuse::Model model = random_model(r.config);
    vkfuse::Session session(ctx, model, false, ctx.caps().timestamps);
    if (std::string(r.per) == "image") {
      session.set_input("pixel_values", {1, 3, 224, 224}, bench::random_vec(3 * 224 * 224, 5));
    } else {
      const int64_t len = std::string(r.arch) == "clip" ? int64_t(t) : int64_t(m);
      std::vector<int64_t> ids(static_cast<size_t>(len));
      for (int64_t i = 0; i < len; ++i) ids[i] = 1 + (i * 7919) % 30000;
      if (std::string(r.arch) == "clip") ids.back() = 49407;  // the end-of-text token the text tower pools at
      session.set_input("input_ids", {1, len}, ids);
    }
    session.run();  // records
    std::vector<double> dev, wall;
    for (int i = 0; i < reps; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      session.run();
      wall.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      double d = 0;
      for (const auto& x : session.timings()) d += x.ms;
      dev.push_back(d);
    }
    std::sort(dev.begin(), dev.end());
    std::sort(wall.begin(), wall.end());
    const double dm = dev[dev.size() / 2], wm = wall[wall.size() / 2];
    const double gflops = dm > 0 ? r.gflop / (dm / 1e3) : 0;
    if (print)
      std::printf("%-46s %10.2f %10.2f %10.3f %10.1f %8.2f %10zu\n", r.name, dm, wm, r.gflop, gflops,
                  gflops / peak, session.dispatch_count());
    out.push_back({{"network", r.name}, {"per", r.per}, {"device_ms", dm}, {"wall_ms", wm}, {"gflop", r.gflop},
                   {"device_gflops", gflops}, {"of_peak", gflops / peak}, {"dispatches", session.dispatch_count()}, {"config", r.config}});
  }
  return out;
}
