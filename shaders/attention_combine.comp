#version 450
// Merges the key splits of attention_tiled.comp: split i saw the keys of its share with
// running max m_i, sum s_i and unnormalized output acc_i; with M = max_i m_i,
//   out = Σ_i exp(m_i - M)·acc_i / Σ_i exp(m_i - M)·s_i,   lse = M + log Σ_i exp(m_i - M)·s_i.
// A split whose keys were all masked (m_i = -inf) adds nothing; all of them: zeros.
// One invocation per output element (row r, column d).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint D = 64;

layout(std430, binding = 0) readonly buffer BufPart { float part[]; };  // [splits, rows, D + 2]
layout(std430, binding = 1) writeonly buffer BufO { float o[]; };
layout(std430, binding = 2) writeonly buffer BufLSE { float lse[]; };

#include "attention_contract.h"
layout(push_constant) uniform Params { ATTENTION_PARAMS } p;

void main() {
  uint i = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  uint rows = p.B * p.H * p.L;
  if (i >= rows * D) return;
  uint r = i / D, d = i % D;
  float mx = NEG_INF;
  for (uint k = 0u; k < p.splits; ++k) mx = max_nan(mx, part[(k * rows + r) * (D + 2u)]);
  float s = 0.0, a = 0.0;
  if (mx != NEG_INF) {
    for (uint k = 0u; k < p.splits; ++k) {
      uint pi = (k * rows + r) * (D + 2u);
      float mk = part[pi];
      float c = mk == NEG_INF ? 0.0 : exp(mk - mx);  // NaN propagates through mk - mx
      s = fma(c, part[pi + 1u], s);
      a = fma(c, part[pi + 2u + d], a);
    }
  }
  float inv = isnan(s) ? s : s > 0.0 ? 1.0 / s : 0.0;
  uint l = r % p.L, h = (r / p.L) % p.H, b = r / (p.L * p.H);
  o[p.off_o + b * p.so_b + h * p.so_h + l * p.so_l + d] = a * inv;
  if (d == 0u && (p.flags & FLAG_LSE) != 0u) lse[p.off_lse + r] = s > 0.0 || isnan(s) ? mx + log(s) : NEG_INF;
}
