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

#include "layer_norm_contract.h"
layout(push_constant) uniform Params { LAYER_NORM_PARAMS } p;

#ifdef TEXEL_LOADS
// lavapipe: every operand as RGBA32F storage texel buffers, one invocation per row (TPR = 1),
// four elements per step. llvmpipe turns each storage-buffer load or store into a loop over
// the 8 invocations of a SIMD vector with a branch per invocation and component; imageLoad
// is one branch-free gather of 8 texels and imageStore one scatter, 4 floats per invocation.
// The host guarantees n, every row stride and every offset multiples of 4 (rows start on a
// texel and end on one), and y in a buffer of its own. Sums in vec4 lanes, then across them.
layout(binding = 0, rgba32f) uniform readonly imageBuffer tx;
layout(binding = 1, rgba32f) uniform writeonly imageBuffer ty;
layout(binding = 2, rgba32f) uniform readonly imageBuffer tr;
layout(binding = 3, rgba32f) uniform readonly imageBuffer tw;
layout(binding = 4, rgba32f) uniform readonly imageBuffer tb;

vec4 val4(uint xrow, uint rrow, uint t) {
  vec4 v = imageLoad(tx, int(xrow + t));
  if ((p.flags & LN_RESIDUAL) != 0u) v += imageLoad(tr, int(rrow + t));
  return v;
}

float hsum(vec4 v) { return (v.x + v.y) + (v.z + v.w); }

void main() {
  uint row = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (row >= p.rows) return;
  uint xrow = (p.off_x + row * p.ldx) / 4u, rrow = (p.off_r + row * p.ldr) / 4u;
  uint yrow = (p.off_y + row * p.ldy) / 4u, n4 = p.n / 4u;
#ifdef L2_NORMALIZE
  vec4 q2 = vec4(0.0);
  for (uint t = 0u; t < n4; ++t) {
    vec4 v = val4(xrow, rrow, t);
    q2 = fma(v, v, q2);
  }
  float inv = 1.0 / max(sqrt(hsum(q2)), p.eps);
  for (uint t = 0u; t < n4; ++t) imageStore(ty, int(yrow + t), val4(xrow, rrow, t) * inv);
#else
  vec4 s = vec4(0.0);
  for (uint t = 0u; t < n4; ++t) s += val4(xrow, rrow, t);
  float mean = hsum(s) / float(p.n);
  vec4 q = vec4(0.0);
  for (uint t = 0u; t < n4; ++t) {
    vec4 d = val4(xrow, rrow, t) - mean;
    q = fma(d, d, q);
  }
  float rstd = inversesqrt(hsum(q) / float(p.n) + p.eps);
  uint w4 = p.off_w / 4u, b4 = p.off_b / 4u;
  for (uint t = 0u; t < n4; ++t) {
    vec4 v = (val4(xrow, rrow, t) - mean) * rstd;
    if ((p.flags & LN_WEIGHT) != 0u) v *= imageLoad(tw, int(w4 + t));
    if ((p.flags & LN_BIAS) != 0u) v += imageLoad(tb, int(b4 + t));
    imageStore(ty, int(yrow + t), v);
  }
#endif
}
#else
layout(std430, binding = 0) readonly buffer BufX { float x[]; };
layout(std430, binding = 1) writeonly buffer BufY { float y[]; };
layout(std430, binding = 2) readonly buffer BufR { float res[]; };
layout(std430, binding = 3) readonly buffer BufW { float w[]; };
layout(std430, binding = 4) readonly buffer BufB { float bs[]; };

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
#endif
