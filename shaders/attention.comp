#version 450
// Fused attention, flash style: for each (batch, head, query row),
//   out = Σ_j softmax_j(score(q, k_j) + mask_j) · v_j
// with an online softmax over the keys (running max m, running sum s, running output acc,
// rescaled by exp(m_old - m_new) when the max grows), so the L x S score matrix is never
// written. One invocation per query row; the head dimension D is a specialization constant,
// so the per-row loops over D unroll and an invocation takes one loop back-edge per key
// (lavapipe's loop limiter counts back-edges; the host bounds S accordingly).
// fp32 throughout. A row whose keys are all masked gives zeros, not NaN.
// WIDE (head_dim above 256): each dispatch owns D output columns from p.d0 and recomputes the
// full-width scores from memory (wide_score), so no invocation holds more than D of them.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint D = 64;      // head dimension
layout(constant_id = 2) const uint SCORE = 0;   // SCORE_* of attention_contract.h

#include "attention_inputs.glsl"
layout(std430, binding = 3) writeonly buffer BufO { float o[]; };
layout(std430, binding = 4) readonly buffer BufKP { float key_pad[]; };   // additive [B, S]
layout(std430, binding = 5) readonly buffer BufAM { float attn_mask[]; }; // additive [L, S]
layout(std430, binding = 6) writeonly buffer BufLSE { float lse[]; };     // [B, H, L]

#include "attention_params.glsl"
#include "attention_score.glsl"

void main() {
  uint r = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (r >= p.B * p.H * p.L) return;
  uint l = r % p.L, h = (r / p.L) % p.H, b = r / (p.L * p.H);
  uint qi = p.off_q + b * p.sq_b + h * p.sq_h + l * p.sq_l;
#ifndef WIDE
  float qv[D];
  LOAD_ROW(qv, q, qi)
#endif

  float m = NEG_INF, s = 0.0;
  float acc[D];
  [[unroll]] for (uint d = 0u; d < D; ++d) acc[d] = 0.0;
  uint kb = p.off_k + b * p.sk_b + h * p.sk_h, vb = p.off_v + b * p.sv_b + h * p.sv_h;
  // Causal rows stop at their own position: the keys after it are masked.
  uint keys = (p.flags & FLAG_CAUSAL) != 0u ? min(p.S, l + 1u) : p.S;
  for (uint j = 0u; j < keys; ++j) {
    float x = mask_add(b, l, j);
    if (x == NEG_INF) continue;
    uint ki = kb + j * p.sk_s;
#ifdef WIDE
    x += wide_score(qi, ki);
#else
    float kv[D];
    LOAD_ROW(kv, k, ki)
    x += score(qv, kv);
#endif
    float m_new = max_nan(m, x);  // a NaN score makes the row NaN, as in PyTorch
    float c = exp(m - m_new);  // 0 on the first live key (m = -inf)
    float e = exp(x - m_new);
    s = s * c + e;
    float vv[D];
    LOAD_ROW(vv, v, vb + j * p.sv_s + p.d0)
    [[unroll]] for (uint d = 0u; d < D; ++d) acc[d] = fma(e, vv[d], acc[d] * c);
    m = m_new;
  }
  // A NaN row stays NaN without relying on NaN·0 (drivers may fold it to 0).
  float inv = isnan(s) ? s : s > 0.0 ? 1.0 / s : 0.0;
  uint oi = p.off_o + b * p.so_b + h * p.so_h + l * p.so_l + p.d0;
  [[unroll]] for (uint d = 0u; d < D; ++d) o[oi + d] = acc[d] * inv;
  if ((p.flags & FLAG_LSE) != 0u) lse[p.off_lse + r] = s > 0.0 || isnan(s) ? m + log(s) : NEG_INF;
}
