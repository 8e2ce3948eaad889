// vkfuse bench --networks: whole networks with random weights, recorded once and replayed:
// a ViT-S-like vision encoder, a text encoder, and a fusion model of the two. Device time is
// the sum of the timestamp pairs around every dispatch of one replay, wall time the host's
// clock around one replay (upload, submit, wait, download); medians of --reps replays after a
// warm-up. Peak device memory is the allocator's high-water mark for the network alone
// (weights, inputs, outputs and the intermediates of its memory plan).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "bench_util.hpp"
#include "commands.hpp"
#include "vkfuse/vkfuse.hpp"

namespace {

using vkfuse::Tensor;

vkfuse::WeightMap random_weights(const std::vector<std::pair<std::string, vkfuse::Shape>>& names) {
  vkfuse::WeightMap w;
  uint32_t seed = 1;
  for (const auto& [name, shape] : names) {
    w[name] = bench::random_vec(vkfuse::shape_numel(shape), seed++);
    for (auto& x : w[name]) x *= 0.05f;
  }
  return w;
}

struct Timing {
  double device_ms, wall_ms;
};

Timing replay(vkfuse::Sequence& s, int reps) {
  s.run();
  std::vector<double> dev, wall;
  for (int i = 0; i < reps; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    s.run();
    wall.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    dev.push_back(s.total_device_ms());
  }
  std::sort(dev.begin(), dev.end());
  std::sort(wall.begin(), wall.end());
  return {dev[dev.size() / 2], wall[wall.size() / 2]};
}

template <class F> double cpu_ms(F&& f) {
  auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

vkfuse::TransformerConfig layer384() {
  vkfuse::TransformerConfig c;
  c.d_model = 384;
  c.nhead = 6;
  c.dim_feedforward = 1536;
  c.activation = vkfuse::ops::Activation::Gelu;
  return c;
}

}  // namespace

nlohmann::json bench_networks(vkfuse::Context& ctx, int reps, bool print, bool with_cpu) {
  nlohmann::json out = nlohmann::json::array();
  vkfuse::SequenceOptions so;
  so.timestamps = ctx.caps().timestamps;
  auto report = [&](const char* name, const Timing& t, const vkfuse::Sequence& s, uint64_t peak, double cpu) {
    const double mib = 1 << 20, plan = double(s.intermediate_bytes()) / mib,
                 unshared = double(s.intermediate_bytes_unshared()) / mib;
    if (print)
      std::printf("%-40s %10.1f %10.1f %10zu %10.1f %14s %12s\n", name, t.device_ms, t.wall_ms, s.dispatch_count(),
                  double(peak) / mib, (std::to_string(int(plan + 0.5)) + " / " + std::to_string(int(unshared + 0.5))).c_str(),
                  cpu > 0 ? std::to_string(int(cpu)).c_str() : "-");
    out.push_back({{"network", name}, {"device_ms", t.device_ms}, {"wall_ms", t.wall_ms},
                   {"dispatches", s.dispatch_count()}, {"peak_device_mib", double(peak) / mib},
                   {"intermediates_mib", plan}, {"intermediates_unshared_mib", unshared}, {"cpu_reference_ms", cpu}});
  };
  if (print)
    std::printf("%-40s %10s %10s %10s %10s %14s %12s\n", "network (median of replays)", "device ms", "wall ms",
                "dispatches", "peak MiB", "interm. MiB*", "CPU ref ms");
  // The first row is the yardstick: one nn.TransformerEncoderLayer(256, 8, 1024). The
  // vision encoder again with its weight matrices F16 on the device (as a Session keeps an
  // F16 file's): its peer is the F32 row.
  for (auto [name, width, layers, tokens, weights] :
       {std::tuple<const char*, int64_t, int64_t, int64_t, vkfuse::DType>{"encoder layer 256/8h ff1024, 197 tokens", 256,
                                                                          1, 197, vkfuse::DType::F32},
        {"vision encoder 384/6h x12, 197 tokens", 384, 12, 197, vkfuse::DType::F32},
        {"vision encoder 384/6h x12, 197 tokens, F16", 384, 12, 197, vkfuse::DType::F16},
        {"text encoder 384/6h x6, 32 tokens", 384, 6, 32, vkfuse::DType::F32}}) {
    bench::progress(name);
    auto c = layer384();
    if (width == 256) {
      c.d_model = 256;
      c.nhead = 8;
      c.dim_feedforward = 1024;
      c.activation = vkfuse::ops::Activation::Relu;
    }
    const int64_t e = c.d_model;
    c.num_layers = layers;
    auto w = random_weights(c.encoder_tensors());
    const uint64_t before = ctx.memory_in_use();
    ctx.reset_memory_peak();
    const vkfuse::DType keep = ctx.weight_dtype();
    ctx.set_weight_dtype(weights);
    vkfuse::TransformerEncoder enc(ctx, c, w);
    ctx.set_weight_dtype(keep);
    Tensor src = ctx.tensor({1, tokens, e}, bench::random_vec(tokens * e, 7)), dst = ctx.tensor({1, tokens, e});
    vkfuse::Sequence s(ctx, so);
    s.upload(src);
    enc.record(s, src, dst);
    s.download(dst);
    Timing t = replay(s, reps);
    double cpu = 0;
    if (with_cpu) {
      std::vector<float> x = bench::random_vec(tokens * e, 7), y(x.size());
      const int64_t l = tokens;  // C++17 lambdas cannot capture a structured binding (clang refuses)
      cpu = cpu_ms([&] { vkfuse::ref::transformer_encoder(c, w, "", x.data(), 1, l, nullptr, nullptr, y.data()); });
    }
    report(name, t, s, ctx.memory_peak() - before, cpu);
  }
  {
    bench::progress("fusion model");
    vkfuse::FusionConfig f;
    f.layer = layer384();
    f.in_channels = 3;
    f.image_size = 224;
    f.patch_size = 16;
    f.use_cls_token = true;
    f.vision_layers = 12;
    f.vocab_size = 1000;
    f.max_text_len = 32;
    f.text_layers = 6;
    f.fusion_layers = 2;
    f.bidirectional = true;
    f.joint_layers = 1;
    f.num_outputs = 1;
    auto w = random_weights(f.tensors());
    const uint64_t before = ctx.memory_in_use();
    ctx.reset_memory_peak();
    vkfuse::VisionTextFusion model(ctx, f, w);
    std::vector<int64_t> ids(32);
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = 1 + int64_t(i * 37 % 999);
    auto batch = vkfuse::FusionBatch::make(f, bench::random_vec(3 * 224 * 224, 8), 1, ids, 32, nullptr);
    vkfuse::VisionTextFusion::Inputs in;
    in.image = ctx.tensor({1, 3, 224, 224}, batch.image);
    in.ids = ctx.tensor({1, 32}, vkfuse::DType::I32);
    in.ids.write(batch.ids.data(), batch.ids.size() * 4);
    in.text_pad = ctx.tensor({1, 32}, batch.text_pad());
    in.joint_pad = ctx.tensor({1, 32 + f.image_tokens()}, batch.joint_pad(f));
    in.pool_text = ctx.tensor({1, 1, 32}, batch.pool_text(f));
    in.pool_image = ctx.tensor({1, 1, f.image_tokens()}, batch.pool_image(f));
    Tensor logits = ctx.tensor({1, 1}), probs = ctx.tensor({1, 1});
    vkfuse::Sequence s(ctx, so);
    s.upload(in.image);
    model.record(s, in, logits, probs, nullptr);
    s.download(probs);
    Timing t = replay(s, reps);
    double cpu = with_cpu ? cpu_ms([&] { vkfuse::ref::vision_text_fusion(f, w, batch, false); }) : 0;
    report("fusion: both towers, 2 bidirectional, 1 joint", t, s, ctx.memory_peak() - before, cpu);
  }
  if (print) std::printf("* intermediates as planned (shared by lifetime) / with one buffer each\n");
  return out;
}
