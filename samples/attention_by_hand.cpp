// Cross-attention from the core kernels, on the default device, checked against the CPU:
// text queries [L, E] attend to image keys/values [S, E] with H heads.
//   scores = Q·Kᵀ per head (strided head views, no copies), P = softmax(scores / √D),
//   O = P·V per head, then merged back to [L, E].
// The sequence is recorded once and replayed for several inputs.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include "vkfuse/vkfuse.hpp"

using vkfuse::Tensor;

int main() {
  try {
    vkfuse::Context ctx;
    const int64_t l = 32, s = 197, e = 256, h = 8, d = e / h;
    std::printf("device: %s (%s, %s)\n", ctx.device().name.c_str(), ctx.device().type.c_str(),
                ctx.device().driver_info.c_str());

    Tensor q = ctx.tensor({l, e}), k = ctx.tensor({s, e}), v = ctx.tensor({s, e});
    Tensor scores = ctx.tensor({h, l, s}), probs = ctx.tensor({h, l, s});
    Tensor heads = ctx.tensor({1, h, l, d}), out = ctx.tensor({1, l, e});
    vkfuse::SequenceOptions so;
    so.timestamps = ctx.caps().timestamps;
    vkfuse::Sequence seq(ctx, so);
    for (const Tensor* t : {&q, &k, &v}) seq.upload(*t);
    // Views [H, rows, D] over [rows, H·D]: head h starts at column h·D.
    auto per_head = [&](const Tensor& t, int64_t rows) { return t.view({h, rows, d}, {d, e, 1}, 0); };
    vkfuse::ops::MatmulOptions qk;
    qk.trans_b = true;
    vkfuse::ops::matmul(seq, per_head(q, l), per_head(k, s), scores, qk);
    vkfuse::ops::softmax(seq, scores, probs, {1.f / std::sqrt(float(d))});
    vkfuse::ops::matmul(seq, probs, per_head(v, s), heads.reshape({h, l, d}));
    vkfuse::ops::merge_heads(seq, heads, out);
    seq.download(out);

    std::mt19937 gen(7);
    std::normal_distribution<float> nd;
    double worst = 0;
    for (int run = 0; run < 3; ++run) {
      std::vector<float> hq(l * e), hk(s * e), hv(s * e);
      for (auto* vec : {&hq, &hk, &hv})
        for (auto& x : *vec) x = nd(gen);
      q.write_host(hq.data(), hq.size() * 4);
      k.write_host(hk.data(), hk.size() * 4);
      v.write_host(hv.data(), hv.size() * 4);
      auto t0 = std::chrono::steady_clock::now();
      seq.run();
      double wall = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      std::vector<float> got(l * e);
      out.read_host(got.data(), got.size() * 4);

      // CPU reference, head by head.
      std::vector<float> qh(l * d), kh(s * d), vh(s * d), sc(l * s), p(l * s), oh(l * d), want(l * e);
      for (int64_t ih = 0; ih < h; ++ih) {
        for (int64_t i = 0; i < l; ++i)
          for (int64_t j = 0; j < d; ++j) qh[i * d + j] = hq[i * e + ih * d + j];
        for (int64_t i = 0; i < s; ++i)
          for (int64_t j = 0; j < d; ++j) {
            kh[i * d + j] = hk[i * e + ih * d + j];
            vh[i * d + j] = hv[i * e + ih * d + j];
          }
        vkfuse::ops::MatmulOptions t;
        t.trans_b = true;
        vkfuse::ref::matmul(qh.data(), kh.data(), sc.data(), 1, l, s, d, t, nullptr, false);
        vkfuse::ref::softmax(sc.data(), p.data(), l, s, 1.f / std::sqrt(float(d)), nullptr, 1);
        vkfuse::ref::matmul(p.data(), vh.data(), oh.data(), 1, l, d, s, {}, nullptr, false);
        for (int64_t i = 0; i < l; ++i)
          for (int64_t j = 0; j < d; ++j) want[i * e + ih * d + j] = oh[i * d + j];
      }
      double diff = 0;
      for (size_t i = 0; i < got.size(); ++i) diff = std::max(diff, double(std::fabs(got[i] - want[i])));
      worst = std::max(worst, diff);
      std::printf("run %d: %zu dispatches, wall %.2f ms", run, seq.dispatch_count(), wall);
      if (so.timestamps) std::printf(", device %.2f ms", seq.total_device_ms());
      std::printf(", max |GPU - CPU| = %.2e\n", diff);
    }
    if (so.timestamps)
      for (const auto& t : seq.timings()) std::printf("  %-28s %8.3f ms\n", t.label.c_str(), t.ms);
    bool ok = worst < 1e-4;
    std::printf("%s: cross-attention L=%lld S=%lld E=%lld H=%lld matches the CPU reference\n",
                ok ? "OK" : "MISMATCH", (long long)l, (long long)s, (long long)e, (long long)h);
    return ok ? 0 : 1;
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "attention_by_hand: error: %s\n", ex.what());
    return 1;
  }
}
