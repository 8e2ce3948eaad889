#version 450
// C = act(alpha·A·op(B) + bias), batched over two levels with strides.
// Tiled through shared memory with register blocking: a workgroup of WX x WY invocations
// computes a BM x BN tile (BM = WY·TM, BN = WX·TN); each invocation accumulates TM x TN
// outputs in registers, rows ty + i·WY and columns tx + j·WX (strided, so neighbouring
// invocations read neighbouring shared-memory words and the same A value).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "activation.glsl"

layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z = 1) in;
layout(constant_id = 2) const uint TM = 4;
layout(constant_id = 3) const uint TN = 4;
layout(constant_id = 4) const uint BK = 16;

layout(std430, binding = 0) readonly buffer BufA { float a[]; };
layout(std430, binding = 1) readonly buffer BufB { float b[]; };
layout(std430, binding = 2) buffer BufC { float c[]; };
layout(std430, binding = 3) readonly buffer BufBias { float bias[]; };

layout(push_constant) uniform Params {
  uint M, N, K;
  uint lda, ldb, ldc;              // row strides
  uint off_a, off_b, off_c, off_bias;
  uint batch_inner;                // z = outer·batch_inner + inner
  uint sa_outer, sa_inner, sb_outer, sb_inner, sc_outer, sc_inner;
  uint flags;                      // bit 0: B transposed; bit 1: bias; bits 2-3: activation;
                                   // bit 4: add to C (a later slice of a K split)
  float alpha;
} p;

const uint WX = gl_WorkGroupSize.x;
const uint WY = gl_WorkGroupSize.y;
const uint BM = WY * TM;
const uint BN = WX * TN;
const uint NT = WX * WY;
const uint MAX_T = 8u;             // register block bound; TM, TN <= MAX_T (checked on host)

shared float As[BK * BM];          // [k][m]
shared float Bs[BK * BN];          // [k][n]

void main() {
  uint z = gl_WorkGroupID.z;
  uint zo = z / p.batch_inner, zi = z % p.batch_inner;
  uint base_a = p.off_a + zo * p.sa_outer + zi * p.sa_inner;
  uint base_b = p.off_b + zo * p.sb_outer + zi * p.sb_inner;
  uint base_c = p.off_c + zo * p.sc_outer + zi * p.sc_inner;
  uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
  uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
  uint lid = gl_LocalInvocationIndex;
  bool trans_b = (p.flags & 1u) != 0u;

  float acc[MAX_T * MAX_T];
  [[unroll]] for (uint i = 0u; i < MAX_T * MAX_T; ++i) acc[i] = 0.0;

  for (uint k0 = 0u; k0 < p.K; k0 += BK) {
    // Edge tiles read zeros past M, N and K, so the inner loop needs no bounds checks.
    for (uint e = lid; e < BM * BK; e += NT) {
      uint mm = e / BK, kk = e % BK, gm = m0 + mm, gk = k0 + kk;
      As[kk * BM + mm] = (gm < p.M && gk < p.K) ? a[base_a + gm * p.lda + gk] : 0.0;
    }
    if (trans_b) {
      for (uint e = lid; e < BN * BK; e += NT) {
        uint nn = e / BK, kk = e % BK, gn = n0 + nn, gk = k0 + kk;
        Bs[kk * BN + nn] = (gn < p.N && gk < p.K) ? b[base_b + gn * p.ldb + gk] : 0.0;
      }
    } else {
      for (uint e = lid; e < BK * BN; e += NT) {
        uint kk = e / BN, nn = e % BN, gn = n0 + nn, gk = k0 + kk;
        Bs[kk * BN + nn] = (gn < p.N && gk < p.K) ? b[base_b + gk * p.ldb + gn] : 0.0;
      }
    }
    barrier();
    for (uint kk = 0u; kk < BK; ++kk) {
      float av[MAX_T], bv[MAX_T];
      [[unroll]] for (uint i = 0u; i < TM; ++i) av[i] = As[kk * BM + ty + i * WY];
      [[unroll]] for (uint j = 0u; j < TN; ++j) bv[j] = Bs[kk * BN + tx + j * WX];
      [[unroll]] for (uint i = 0u; i < TM; ++i)
        [[unroll]] for (uint j = 0u; j < TN; ++j) acc[i * TN + j] = fma(av[i], bv[j], acc[i * TN + j]);
    }
    barrier();
  }

  bool has_bias = (p.flags & 2u) != 0u;
  uint act = (p.flags >> 2u) & 3u;
  bool accumulate = (p.flags & 16u) != 0u;
  [[unroll]] for (uint i = 0u; i < TM; ++i) {
    uint gm = m0 + ty + i * WY;
    if (gm >= p.M) break;
    [[unroll]] for (uint j = 0u; j < TN; ++j) {
      uint gn = n0 + tx + j * WX;
      if (gn >= p.N) break;
      uint ci = base_c + gm * p.ldc + gn;
      float v = p.alpha * acc[i * TN + j];
      if (accumulate) v += c[ci];
      if (has_bias) v += bias[p.off_bias + gn];
      c[ci] = activate(v, act);
    }
  }
}
