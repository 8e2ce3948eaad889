// Activations shared by the matmul epilogue and the elementwise kernel.
#ifndef VKFUSE_ACTIVATION_GLSL
#define VKFUSE_ACTIVATION_GLSL

#include "activation_contract.h"  // ACT_*

// GLSL has no erf. |x| < 0.5: Taylor series to x^13 (truncation < 2e-9 relative);
// otherwise 1 - erfc with Numerical Recipes' erfcc (relative error of erfc < 1.2e-7, so
// erf's absolute error < 6e-8). Both are below fp32 rounding of the result; the CPU
// reference uses std::erf.
float erf_approx(float x) {
  float ax = abs(x);
  if (ax < 0.5) {
    float t = x * x;
    float s = fma(t, fma(t, fma(t, fma(t, fma(t, fma(t, 1.0 / 75600.0, -1.0 / 9360.0),
                 1.0 / 1320.0), -1.0 / 216.0), 1.0 / 42.0), -1.0 / 10.0), 1.0 / 3.0);
    return 1.1283791670955126 * x * fma(-t, s, 1.0);
  }
  if (ax >= 4.0) return sign(x);  // 1 - erf(4) < 2e-8
  float t = 1.0 / fma(0.5, ax, 1.0);
  float r = t * exp(-ax * ax - 1.26551223 +
      t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
      t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return sign(x) * (1.0 - r);
}

// Exact (erf) GELU, as torch.nn.functional.gelu(approximate='none').
float gelu(float x) { return 0.5 * x * (1.0 + erf_approx(x * 0.70710678118654752)); }

// tanh from exp(-2|x|), which cannot overflow (the textbook (e^x - e^-x)/(e^x + e^-x) is
// inf/inf = NaN past |x| ~ 44 on drivers that compute it so); below |x| = 1/16 the Taylor
// series to x^7, where 1 - t would cancel (truncation < 1e-11 relative).
float tanh_stable(float x) {
  float ax = abs(x);
  if (ax < 0.0625) {
    float x2 = x * x;
    return x * fma(x2, fma(x2, fma(x2, -17.0 / 315.0, 2.0 / 15.0), -1.0 / 3.0), 1.0);
  }
  float t = exp(-2.0 * ax);
  return sign(x) * (1.0 - t) / (1.0 + t);
}

// x·sigmoid(1.702x): exp of a large -1.702x is inf and x/inf = -0, as in PyTorch.
float quick_gelu(float x) { return x / (1.0 + exp(-1.702 * x)); }

// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), Hugging Face's gelu_new.
float gelu_tanh(float x) { return 0.5 * x * (1.0 + tanh_stable(0.7978845608028654 * fma(0.044715 * x, x * x, x))); }

// 1/(1 + e^-x): e^-x is inf for x < -88 and the result 0, as in PyTorch.
float sigmoid(float x) { return 1.0 / (1.0 + exp(-x)); }

// e^x - 1 without the cancellation of exp(x) - 1 near 0 (Taylor series below |x| = 1/16).
float expm1_stable(float x) {
  if (abs(x) < 0.0625) return x * fma(x, fma(x, fma(x, 1.0 / 24.0, 1.0 / 6.0), 0.5), 1.0);
  return exp(x) - 1.0;
}

// log(1 + e^x) = max(x, 0) + log(1 + e^-|x|): no overflow for large x.
float softplus(float x) { return max(x, 0.0) + log(1.0 + exp(-abs(x))); }

// Comparisons rather than min/max/clamp (undefined for NaN in GLSL) keep a NaN a NaN, but for
// ReLU, whose max(x, 0) is what the CPU reference (x > 0 ? x : 0) gives on every driver here.
float activate(float v, uint act, float a, float b) {
  if (act == ACT_RELU) return max(v, 0.0);
  if (act == ACT_GELU) return gelu(v);
  if (act == ACT_QUICK_GELU) return quick_gelu(v);
  if (act == ACT_GELU_TANH) return gelu_tanh(v);
  if (act == ACT_TANH) return tanh_stable(v);
  if (act == ACT_SIGMOID) return sigmoid(v);
  if (act == ACT_CLIP) return v < a ? a : (v > b ? b : v);
  if (act == ACT_HARD_SIGMOID) {
    float h = fma(a, v, b);
    return h < 0.0 ? 0.0 : (h > 1.0 ? 1.0 : h);
  }
  if (act == ACT_HARD_SWISH) {
    float h = fma(v, 1.0 / 6.0, 0.5);
    return v * (h < 0.0 ? 0.0 : (h > 1.0 ? 1.0 : h));
  }
  if (act == ACT_LEAKY_RELU) return v < 0.0 ? a * v : v;
  if (act == ACT_SILU) return v * sigmoid(v);
  if (act == ACT_ELU) return v < 0.0 ? a * expm1_stable(v) : v;
  if (act == ACT_SOFTPLUS) return softplus(v);
  if (act == ACT_SELU) return b * (v < 0.0 ? a * expm1_stable(v) : v);
  return v;
}

#endif
