#version 450
// y = (v - mean) / sqrt(var + eps) · weight + bias, v = x (+ residual), over each row.
// Two passes (mean, then the mean of squared deviations) in fp32: the one-pass
// E[v²] - E[v]² cancels catastrophically when |mean| >> std.
// L2_NORMALIZE: y = v / max(||v||_2, eps) (an embedding divided by its norm; eps 0 divides
// by 0 as PyTorch's x / x.norm() does), one pass of squares.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TPR = 1;
#include "reduce.glsl"

layout(std430, binding = 0) readonly buffer BufX { float x[]; };
layout(std430, binding = 1) writeonly buffer BufY { float y[]; };
layout(std430, binding = 2) readonly buffer BufR { float res[]; };
layout(std430, binding = 3) readonly buffer BufW { float w[]; };
layout(std430, binding = 4) readonly buffer BufB { float bs[]; };

#include "layer_norm_contract.h"
layout(push_constant) uniform Params { LAYER_NORM_PARAMS } p;

float val(uint xrow, uint rrow, uint i) {
  float v = x[xrow + i];
  if ((p.flags & LN_RESIDUAL) != 0u) v += res[rrow + i];
  return v;
}

void main() {
  const uint RPW = gl_WorkGroupSize.x / TPR;
  uint row = linear_group() * RPW + gl_LocalInvocationID.x / TPR;
  uint t = gl_LocalInvocationID.x % TPR;
  bool live_row = row < p.rows;
  uint xrow = p.off_x + row * p.ldx, rrow = p.off_r + row * p.ldr;

#ifdef L2_NORMALIZE
  float q2 = 0.0;
  if (live_row) for (uint i = t; i < p.n; i += TPR) {
    float v = val(xrow, rrow, i);
    q2 = fma(v, v, q2);
  }
  float inv = 1.0 / max(sqrt(row_sum(q2)), p.eps);
  if (!live_row) return;
  for (uint i = t; i < p.n; i += TPR) y[p.off_y + row * p.ldy + i] = val(xrow, rrow, i) * inv;
#else
  float s = 0.0;
  if (live_row) for (uint i = t; i < p.n; i += TPR) s += val(xrow, rrow, i);
  float mean = row_sum(s) / float(p.n);
  float q = 0.0;
  if (live_row) for (uint i = t; i < p.n; i += TPR) {
    float d = val(xrow, rrow, i) - mean;
    q = fma(d, d, q);
  }
  float rstd = inversesqrt(row_sum(q) / float(p.n) + p.eps);
  if (!live_row) return;
  uint yrow = p.off_y + row * p.ldy;
  for (uint i = t; i < p.n; i += TPR) {
    float v = (val(xrow, rrow, i) - mean) * rstd;
    if ((p.flags & LN_WEIGHT) != 0u) v *= w[p.off_w + i];
    if ((p.flags & LN_BIAS) != 0u) v += bs[p.off_b + i];
    y[yrow + i] = v;
  }
#endif
}
