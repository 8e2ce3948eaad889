#version 450
// Attention probabilities averaged over heads (PyTorch's average_attn_weights=True):
//   w[b, l, j] = (1/H) Σ_h exp(score(q_bhl, k_bhj) + mask_blj - lse_bhl)
// from the log-sum-exp the fused kernel saved per row, so each probability is recomputed
// from one score instead of storing the [B, H, L, S] matrix. A fully masked row
// (lse = -inf) contributes zeros. One invocation per output element.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint D = 64;
layout(constant_id = 2) const uint SCORE = 0;

#include "attention_inputs.glsl"
layout(std430, binding = 3) writeonly buffer BufW { float w[]; };  // [B, L, S], strides so_b, so_l
layout(std430, binding = 4) readonly buffer BufKP { float key_pad[]; };
layout(std430, binding = 5) readonly buffer BufAM { float attn_mask[]; };
layout(std430, binding = 6) readonly buffer BufLSE { float lse[]; };

#include "attention_params.glsl"
#include "attention_score.glsl"

void main() {
  uint i = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (i >= p.B * p.L * p.S) return;
  uint j = i % p.S, l = (i / p.S) % p.L, b = i / (p.S * p.L);
  float x = mask_add(b, l, j), sum = 0.0;
  for (uint h = 0u; h < p.H; ++h) {
    float t = lse[p.off_lse + (b * p.H + h) * p.L + l];
    // A NaN row's log-sum-exp is NaN: every position of it is NaN, masked ones too (softmax
    // over a row holding a NaN), as in the CPU reference and PyTorch.
    if (isnan(t)) sum += t;
  }
  if (x != NEG_INF && !isnan(sum)) {
    for (uint h = 0u; h < p.H; ++h) {
      float t = lse[p.off_lse + (b * p.H + h) * p.L + l];
      if (t == NEG_INF) continue;
      uint qi = p.off_q + b * p.sq_b + h * p.sq_h + l * p.sq_l;
      uint ki = p.off_k + b * p.sk_b + h * p.sk_h + j * p.sk_s;
#ifdef WIDE
      sum += exp(wide_score(qi, ki) + x - t);
#else
      float qv[D], kv[D];
      LOAD_ROW(qv, q, qi)
      LOAD_ROW(kv, k, ki)
      sum += exp(score(qv, kv) + x - t);
#endif
    }
  }
  w[p.off_o + b * p.so_b + l * p.so_l + j] = sum / float(p.H);
}
