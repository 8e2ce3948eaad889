#version 450
// Fused attention for GPUs, tiled (FlashAttention's forward pass):
//   out = Σ_j softmax_j(score(q, k_j) + mask_j) · v_j
// A workgroup owns BR query rows of one (batch, head) and walks the keys BC at a time: the
// workgroup stages a BC x D tile of K and of V in shared memory once, and every row of the
// block reads it from there (the per-row kernel reads each key from memory once per row).
// Each row has TPR lanes; lane t owns the columns t, t + TPR, ... (neighbouring lanes read
// neighbouring shared-memory words), so a score is TPR partial sums added across the row's
// lanes: by subgroupShuffleXor where the device has shuffles (SUBGROUP_REDUCE), else through
// shared memory (one barrier per tile). The xor butterfly adds the same pairs in every lane
// (a + b = b + a exactly), so all lanes of a row hold bit-identical scores and softmax state.
// Online softmax in fp32 per tile: m the running max, s the running sum, acc the running
// output, rescaled by exp(m_old - m_new) when the max grows. A row whose keys are all masked
// gives zeros; a NaN score makes the row NaN, as in PyTorch.
// FP16_MATH: q and the K/V tiles as fp16, each score term computed in fp16 (score_term_h),
// every sum, the softmax and P·V in fp32.
// Split over keys (decode: few query rows, so few workgroups): p.splits > 1 gives each
// workgroup a share of the tiles; it writes its unnormalized (m, s, acc) to `part`, and
// attention_combine.comp merges the shares.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#ifdef SUBGROUP_REDUCE
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#endif
#ifdef FP16_MATH
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define TILE float16_t
#else
#define TILE float
#endif
#include "common.glsl"

layout(local_size_x_id = 0) in;                 // BR·TPR invocations
layout(constant_id = 1) const uint D = 64;      // head dimension, up to ATTENTION_MAX_FUSED_D
layout(constant_id = 2) const uint SCORE = 0;   // SCORE_* of attention_contract.h
layout(constant_id = 3) const uint BC = 16;     // keys per tile
layout(constant_id = 4) const uint TPR = 4;     // lanes per query row, a power of two
const uint NT = gl_WorkGroupSize.x;
const uint BR = NT / TPR;                       // query rows per workgroup
const uint DL = (D + TPR - 1u) / TPR;           // columns per lane

#include "attention_inputs.glsl"
layout(std430, binding = 3) writeonly buffer BufO { float o[]; };
layout(std430, binding = 4) readonly buffer BufKP { float key_pad[]; };   // additive [B, S]
layout(std430, binding = 5) readonly buffer BufAM { float attn_mask[]; }; // additive [L, S]
layout(std430, binding = 6) writeonly buffer BufLSE { float lse[]; };     // [B, H, L]
// splits > 1: [splits, B·H·L, D + 2]: m, s, then the D columns of acc
layout(std430, binding = 7) writeonly buffer BufPart { float part[]; };

#include "attention_params.glsl"
#include "attention_score.glsl"

shared TILE ks[BC * D];
shared TILE vs[BC * D];
#ifndef SUBGROUP_REDUCE
shared float red[NT * BC];
#endif

void main() {
  uint lid = gl_LocalInvocationID.x;
#ifdef SUBGROUP_REDUCE
  // Rows are formed from subgroup lanes, so a row's TPR lanes share a subgroup (the host
  // needs TPR <= the subgroup size and NT a multiple of it).
  uint me = gl_SubgroupID * gl_SubgroupSize + gl_SubgroupInvocationID;
#else
  uint me = lid;
#endif
  uint ri = me / TPR, t = me % TPR;
  uint g = linear_group();
  uint split = g % p.splits;
  g /= p.splits;
  uint blocks = (p.L + BR - 1u) / BR;
  uint blk = g % blocks, bh = g / blocks;
  uint h = bh % p.H, b = bh / p.H;
  uint l0 = blk * BR;
  uint l = l0 + ri;
  bool live = l < p.L && b < p.B;
  uint lc = min(l, p.L - 1u);

  TILE qv[DL];
  float acc[DL];
  uint qi = p.off_q + b * p.sq_b + h * p.sq_h + lc * p.sq_l;
  [[unroll]] for (uint i = 0u; i < DL; ++i) {
    uint d = t + i * TPR;
    qv[i] = TILE(live && d < D ? q_buf[qi + d] : 0.0);
    acc[i] = 0.0;
  }
  float m = NEG_INF, s = 0.0;

  // Causal blocks stop after their last row's position: later keys are masked for all rows.
  uint keys = (p.flags & FLAG_CAUSAL) != 0u ? min(p.S, min(l0 + BR, p.L)) : p.S;
  uint tiles = (keys + BC - 1u) / BC, per_split = (tiles + p.splits - 1u) / p.splits;
  uint j_begin = split * per_split * BC, j_end = min(keys, j_begin + per_split * BC);
  uint kb = p.off_k + b * p.sk_b + h * p.sk_h, vb = p.off_v + b * p.sv_b + h * p.sv_h;

  for (uint j0 = j_begin; j0 < j_end; j0 += BC) {
    barrier();  // the previous tile has been read by every row
    for (uint e = lid; e < BC * D; e += NT) {
      uint jj = e / D, d = e % D, j = j0 + jj;
      bool in_range = j < j_end && b < p.B;
      ks[e] = TILE(in_range ? k_buf[kb + j * p.sk_s + d] : 0.0);
      vs[e] = TILE(in_range ? v_buf[vb + j * p.sv_s + d] : 0.0);
    }
    barrier();

    float x[BC];
    [[unroll]] for (uint jj = 0u; jj < BC; ++jj) {
      float a = 0.0;
      [[unroll]] for (uint i = 0u; i < DL; ++i) {
        uint d = t + i * TPR;
#ifdef FP16_MATH
        if (d < D) a = score_term_h(a, qv[i], ks[jj * D + d]);
#else
        if (d < D) a = score_term(a, qv[i], ks[jj * D + d]);
#endif
      }
      x[jj] = a;
    }
#ifdef SUBGROUP_REDUCE
    [[unroll]] for (uint off = TPR / 2u; off > 0u; off >>= 1u)
      [[unroll]] for (uint jj = 0u; jj < BC; ++jj) x[jj] += subgroupShuffleXor(x[jj], off);
#else
    if (TPR > 1u) {
      [[unroll]] for (uint jj = 0u; jj < BC; ++jj) red[lid * BC + jj] = x[jj];
      barrier();
      // Every lane of the row adds the row's partials in the same order: identical sums.
      uint row0 = (lid - t) * BC;
      [[unroll]] for (uint jj = 0u; jj < BC; ++jj) {
        float a = 0.0;
        [[unroll]] for (uint u = 0u; u < TPR; ++u) a += red[row0 + u * BC + jj];
        x[jj] = a;
      }
    }
#endif

    float mt = NEG_INF;
    [[unroll]] for (uint jj = 0u; jj < BC; ++jj) {
      uint j = j0 + jj;
      float mk = j < j_end && live ? mask_add(b, l, j) : NEG_INF;
      x[jj] = mk == NEG_INF ? NEG_INF : finish_score(x[jj]) + mk;
      mt = max_nan(mt, x[jj]);
    }
    float m_new = max_nan(m, mt);
    if (m_new != NEG_INF) {  // else every key so far is masked: nothing to add
      float c = exp(m - m_new);  // 0 while m = -inf
      s *= c;
      [[unroll]] for (uint i = 0u; i < DL; ++i) acc[i] *= c;
      [[unroll]] for (uint jj = 0u; jj < BC; ++jj) {
        float e = exp(x[jj] - m_new);  // 0 for a masked key
        s += e;
        [[unroll]] for (uint i = 0u; i < DL; ++i) {
          uint d = t + i * TPR;
          if (d < D) acc[i] = fma(e, float(vs[jj * D + d]), acc[i]);
        }
      }
      m = m_new;
    }
  }

  if (!live) return;
  uint r = (b * p.H + h) * p.L + l;
  if (p.splits > 1u) {
    uint pi = (split * p.B * p.H * p.L + r) * (D + 2u);
    if (t == 0u) {
      part[pi] = m;
      part[pi + 1u] = s;
    }
    [[unroll]] for (uint i = 0u; i < DL; ++i) {
      uint d = t + i * TPR;
      if (d < D) part[pi + 2u + d] = acc[i];
    }
    return;
  }
  // A NaN row stays NaN without relying on NaN·0 (drivers may fold it to 0).
  float inv = isnan(s) ? s : s > 0.0 ? 1.0 / s : 0.0;
  uint oi = p.off_o + b * p.so_b + h * p.so_h + l * p.so_l;
  [[unroll]] for (uint i = 0u; i < DL; ++i) {
    uint d = t + i * TPR;
    if (d < D) o[oi + d] = acc[i] * inv;
  }
  if (t == 0u && (p.flags & FLAG_LSE) != 0u) lse[p.off_lse + r] = s > 0.0 || isnan(s) ? m + log(s) : NEG_INF;
}
