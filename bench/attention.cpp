// vkfuse bench --attention: fused attention against the unfused sequence it replaces
// (Q·Kᵀ matmul, softmax, P·V matmul, head merge), and the whole multi-head attention module
// (projections included), for the shapes of the attention issue. Device time from timestamp
// queries around every dispatch of the sequence, median of --reps runs after a warm-up.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>

#include "bench_util.hpp"
#include "commands.hpp"
#include "vkfuse/multihead_attention.hpp"
#include "vkfuse/vkfuse.hpp"

namespace {

using vkfuse::Tensor;

double median_ms(vkfuse::Sequence& s, int reps) {
  s.run();
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    s.run();
    ms.push_back(s.total_device_ms());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

struct Shape {
  const char* name;
  int64_t l, s, e, h;
};

}  // namespace

nlohmann::json bench_attention(vkfuse::Context& ctx, int reps, bool print) {
  nlohmann::json out = nlohmann::json::array();
  if (print)
    std::printf("%-34s %10s %10s %8s %12s %10s\n", "attention (device ms, median)", "fused", "unfused", "ratio",
                "module", "dispatches");
  for (Shape sh : {Shape{"cross L=32 S=197 E=256 H=8", 32, 197, 256, 8}, Shape{"self L=S=197 E=384 H=6", 197, 197, 384, 6},
                   Shape{"decode L=1 S=1024 E=512 H=8", 1, 1024, 512, 8}}) {
    const int64_t d = sh.e / sh.h;
    Tensor q = ctx.tensor({1, sh.l, sh.e}, bench::random_vec(sh.l * sh.e, 1)), k = ctx.tensor({1, sh.s, sh.e}, bench::random_vec(sh.s * sh.e, 2));
    Tensor v = ctx.tensor({1, sh.s, sh.e}, bench::random_vec(sh.s * sh.e, 3)), o = ctx.tensor({1, sh.l, sh.e});
    auto heads = [&](const Tensor& t, int64_t rows) { return t.view({1, sh.h, rows, d}, {rows * sh.e, d, sh.e, 1}, 0); };
    vkfuse::SequenceOptions so;
    so.timestamps = true;

    vkfuse::Sequence fused(ctx, so);
    vkfuse::ops::attention(fused, heads(q, sh.l), heads(k, sh.s), heads(v, sh.s), heads(o, sh.l));
    const double f = median_ms(fused, reps);

    Tensor scores = ctx.tensor({sh.h, sh.l, sh.s}), probs = ctx.tensor({sh.h, sh.l, sh.s});
    Tensor ho = ctx.tensor({1, sh.h, sh.l, d});
    auto heads3 = [&](const Tensor& t, int64_t rows) { return t.view({sh.h, rows, d}, {d, sh.e, 1}, 0); };
    vkfuse::Sequence unfused(ctx, so);
    vkfuse::ops::MatmulOptions qk;
    qk.trans_b = true;
    vkfuse::ops::matmul(unfused, heads3(q, sh.l), heads3(k, sh.s), scores, qk);
    vkfuse::ops::softmax(unfused, scores, probs, {1.f / std::sqrt(float(d))});
    vkfuse::ops::matmul(unfused, probs, heads3(v, sh.s), ho.reshape({sh.h, sh.l, d}));
    vkfuse::ops::merge_heads(unfused, ho, o);
    const double u = median_ms(unfused, reps);

    vkfuse::MultiheadAttentionConfig c;
    c.embed_dim = sh.e;
    c.num_heads = sh.h;
    vkfuse::WeightMap w;
    uint32_t seed = 10;
    for (const auto& [name, shape] : c.tensors()) {
      w[name] = bench::random_vec(vkfuse::shape_numel(shape), seed++);
      for (auto& x : w[name]) x *= 0.05f;
    }
    vkfuse::MultiheadAttention mha(ctx, c, w);
    vkfuse::Sequence module(ctx, so);
    const bool self = sh.l == sh.s;
    mha.record(module, q, self ? q : k, self ? q : v, o);
    const double m = median_ms(module, reps);
    if (print)
      std::printf("%-34s %10.3f %10.3f %8.2f %12.3f %10zu\n", sh.name, f, u, u / f, m, module.dispatch_count());
    out.push_back({{"case", sh.name}, {"fused_ms", f}, {"unfused_ms", u}, {"unfused_over_fused", u / f},
                   {"module_ms", m}, {"module_dispatches", module.dispatch_count()}});
  }
  return out;
}
