#version 450
// y = softmax(scale·x + mask) over each row, numerically stable (max subtracted first), or
// with log_out its logarithm l - max - log Σ e^(l - max);
// a row with no finite logit (all -inf, e.g. fully masked) gives zeros, not NaN.
// TPR invocations share a row; a workgroup holds WG/TPR rows.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TPR = 1;
#include "reduce.glsl"

#ifdef TEXEL_LOADS
// x read as RGBA32F texels of a storage texel buffer over its whole allocation (imageLoad is
// an inlined vector gather on lavapipe, a storage-buffer load a per-invocation loop). One invocation per row (TPR = 1,
// checked on the host); texel t holds elements 4t..4t+3, rows need not start on a texel.
layout(binding = 0, rgba32f) uniform readonly imageBuffer tx;
#else
layout(std430, binding = 0) readonly buffer BufX { float x[]; };
#endif
layout(std430, binding = 1) writeonly buffer BufY { float y[]; };
layout(std430, binding = 2) readonly buffer BufMask { float mask[]; };

#include "softmax_contract.h"
layout(push_constant) uniform Params { SOFTMAX_PARAMS } p;

#ifdef TEXEL_LOADS
float logit4(vec4 v, uint c, uint mrow, uint i) {
  float l = p.scale * v[c];
  if (p.has_mask != 0u) l += mask[mrow + i];
  return l;
}

void main() {
  uint row = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (row >= p.rows) return;
  uint xrow = p.off_x + row * p.ldx, xend = xrow + p.n;
  uint mrow = p.off_mask + (p.has_mask != 0u ? (row % p.mask_rows) * p.n : 0u);
  uint t0 = xrow / 4u, t1 = (xend + 3u) / 4u;
  float mx = NEG_INF;
  for (uint t = t0; t < t1; ++t) {
    vec4 v = imageLoad(tx, int(t));
    [[unroll]] for (uint c = 0u; c < 4u; ++c) {
      uint e = 4u * t + c;
      if (e >= xrow && e < xend) mx = max_nan(mx, logit4(v, c, mrow, e - xrow));
    }
  }
  float s = 0.0;
  if (mx != NEG_INF) for (uint t = t0; t < t1; ++t) {
    vec4 v = imageLoad(tx, int(t));
    [[unroll]] for (uint c = 0u; c < 4u; ++c) {
      uint e = 4u * t + c;
      if (e >= xrow && e < xend) s += exp(logit4(v, c, mrow, e - xrow) - mx);
    }
  }
  uint yrow = p.off_y + row * p.ldy;
  // A row with no finite logit gives zeros, not NaN.
  float inv = mx == NEG_INF ? 0.0 : 1.0 / s;
  float shift = mx == NEG_INF ? 0.0 : mx;
  float log_sum = mx == NEG_INF ? 0.0 : mx + log(s);
  for (uint t = t0; t < t1; ++t) {
    vec4 v = imageLoad(tx, int(t));
    [[unroll]] for (uint c = 0u; c < 4u; ++c) {
      uint e = 4u * t + c;
      if (e >= xrow && e < xend) {
        float l = logit4(v, c, mrow, e - xrow);
        y[yrow + e - xrow] = mx == NEG_INF ? 0.0 : p.log_out != 0u ? l - log_sum : exp(l - shift) * inv;
      }
    }
  }
}
#else
float logit(uint xrow, uint mrow, uint i) {
  float v = p.scale * x[xrow + i];
  if (p.has_mask != 0u) v += mask[mrow + i];
  return v;
}

void main() {
  const uint RPW = gl_WorkGroupSize.x / TPR;
  uint row = linear_group() * RPW + gl_LocalInvocationID.x / TPR;
  uint t = gl_LocalInvocationID.x % TPR;
  bool live_row = row < p.rows;  // no early return: the reductions hold barriers
  uint xrow = p.off_x + row * p.ldx;
  uint mrow = p.off_mask + (live_row && p.has_mask != 0u ? (row % p.mask_rows) * p.n : 0u);

  float mx = NEG_INF;
  if (live_row) for (uint i = t; i < p.n; i += TPR) mx = max_nan(mx, logit(xrow, mrow, i));
#ifdef USE_SUBGROUP
  // subgroupMax skips NaN (and is undefined over NaN alone): count them with a sum, which
  // cannot drop one, so a row holding a NaN is NaN here as in the shared-memory reduction.
  float nans = row_sum(isnan(mx) ? 1.0 : 0.0);
  mx = row_max(mx);
  if (nans > 0.0) mx = uintBitsToFloat(0x7fc00000u);
#else
  mx = row_max(mx);
#endif
  float s = 0.0;
  if (live_row && mx != NEG_INF) for (uint i = t; i < p.n; i += TPR) s += exp(logit(xrow, mrow, i) - mx);
  s = row_sum(s);
  if (!live_row) return;
  uint yrow = p.off_y + row * p.ldy;
  float inv = mx == NEG_INF ? 0.0 : 1.0 / s;
  float log_sum = mx + log(s);
  for (uint i = t; i < p.n; i += TPR) {
    float l = logit(xrow, mrow, i);
    y[yrow + i] = mx == NEG_INF ? 0.0 : p.log_out != 0u ? l - log_sum : exp(l - mx) * inv;
  }
}
#endif
