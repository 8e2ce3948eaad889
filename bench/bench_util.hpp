#pragma once
// Shared by the benches: inputs, the progress line, and the arithmetic ceiling every figure
// is read against.
#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "vkfuse/vkfuse.hpp"

namespace bench {

inline std::vector<float> random_vec(size_t n, uint32_t seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

// One line on stderr per case as it starts, so a long run is never silent and stdout (the
// table or the JSON) stays clean.
inline void progress(const std::string& what) {
  std::fprintf(stderr, "vkfuse bench: %s\n", what.c_str());
  std::fflush(stderr);
}

struct Peak {
  double gflops = 0, median_ms = 0;
  int64_t invocations = 0;
  uint32_t steps = 0;
};

// The device's FMA ceiling (ops::fma_peak: independent FMA chains, no memory traffic),
// median of reps timed runs after a warm-up (at least 3). Sized to take ~10 ms on lavapipe
// (0.27 GFLOP) and tens of ms on a large GPU (2.2 TFLOP).
inline Peak measure_peak(vkfuse::Context& ctx, int reps) {
  progress("FMA ceiling (fma_peak)");
  Peak p;
  p.invocations = ctx.device().type == "cpu" ? 4096 : int64_t(1) << 22;
  p.steps = ctx.device().type == "cpu" ? 1024 : 4096;
  vkfuse::Tensor out = ctx.tensor({p.invocations});
  vkfuse::Sequence s(ctx, {true, 256});
  vkfuse::ops::fma_peak(s, out, p.steps);
  s.run();
  std::vector<double> ms;
  for (int i = 0; i < std::max(reps, 3); ++i) {
    s.run();
    ms.push_back(s.total_device_ms());
  }
  std::sort(ms.begin(), ms.end());
  p.median_ms = ms[ms.size() / 2];
  p.gflops = vkfuse::ops::fma_peak_flops(p.invocations, p.steps) / (p.median_ms * 1e6);
  return p;
}

}  // namespace bench
