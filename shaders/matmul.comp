#version 450
// C = act(alpha·A·op(B) + bias), batched over two levels with strides.
// Tiled through shared memory with register blocking: a workgroup of WX x WY invocations
// computes a BM x BN tile (BM = WY·TM, BN = WX·TN); each invocation accumulates TM x TN
// outputs in registers, rows ty + i·WY and columns tx + j·WX (strided, so neighbouring
// invocations read neighbouring shared-memory words and the same A value).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#ifdef SHARED_A
#extension GL_KHR_shader_subgroup_shuffle : require
#endif
// B, the weight operand, as stored: fp32, or 16-bit words widened to fp32 as they are read
// (B_F16: IEEE binary16; B_BF16: the high half of an fp32); products and sums are fp32.
// Storage buffers of 16-bit words need storageBuffer16BitAccess (STORAGE_16BIT); without it
// B is read as 32-bit words that each hold two elements, the lower address in the low half.
// FP16_MATH (tiled kernel): tiles in shared memory as fp16 and each product rounded to fp16,
// summed in fp32 (the error of a sum grows with K; a product's does not).
// COOPMAT: VK_NV_cooperative_matrix, 16x16x16 fp16 x fp16 products into fp32 (below).
#ifdef COOPMAT
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#endif
#if defined(FP16_MATH) || defined(COOPMAT)
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define TILE float16_t
#else
#define TILE float
#endif
#if (defined(B_F16) || defined(B_BF16)) && !defined(TEXEL_LOADS)
#define B_16BIT 1
#ifdef STORAGE_16BIT
#extension GL_EXT_shader_16bit_storage : require
#endif
#endif
#include "common.glsl"
#include "activation.glsl"
#include "matmul_contract.h"

layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z = 1) in;
layout(constant_id = 2) const uint TM = 4;
layout(constant_id = 3) const uint TN = 4;
layout(constant_id = 4) const uint BK = 16;

#ifndef TEXEL_LOADS
layout(std430, binding = 0) readonly buffer BufA { float a[]; };
#if !defined(B_16BIT)
layout(std430, binding = 1) readonly buffer BufB { float b[]; };
float load_b(uint i) { return b[i]; }
#elif defined(STORAGE_16BIT) && defined(B_F16)
layout(std430, binding = 1) readonly buffer BufB { float16_t b[]; };
float load_b(uint i) { return float(b[i]); }
#elif defined(STORAGE_16BIT)
layout(std430, binding = 1) readonly buffer BufB { uint16_t b[]; };
float load_b(uint i) { return uintBitsToFloat(uint(b[i]) << 16u); }
#else
layout(std430, binding = 1) readonly buffer BufB { uint b[]; };
float load_b(uint i) {
  uint w = b[i >> 1u];
#ifdef B_F16
  return unpackHalf2x16(w)[i & 1u];
#else
  return uintBitsToFloat((i & 1u) != 0u ? w & 0xffff0000u : w << 16u);
#endif
}
#endif
#endif
layout(std430, binding = 2) buffer BufC { float c[]; };  // read by later slices of a K split
layout(std430, binding = 3) readonly buffer BufBias { float bias[]; };
layout(std430, binding = 4) readonly buffer BufRes { float res[]; };  // residual, C's strides

layout(push_constant) uniform Params { MATMUL_PARAMS } p;  // matmul_contract.h

const uint WX = gl_WorkGroupSize.x;
const uint WY = gl_WorkGroupSize.y;
const uint BM = WY * TM;
const uint BN = WX * TN;
const uint NT = WX * WY;
const uint MAX_T = MATMUL_MAX_T;    // register block bounds, checked on the host: TN <= MAX_T,
const uint MAX_TM = MATMUL_MAX_TM;  // TM <= MAX_TM, TM·TN <= MAX_T²

// The first elements of this workgroup's matrices: z = outer·batch_inner + inner.
void batch_bases(out uint base_a, out uint base_b, out uint base_c) {
  uint z = gl_WorkGroupID.z;
  uint zo = z / p.batch_inner, zi = z % p.batch_inner;
  base_a = p.off_a + zo * p.sa_outer + zi * p.sa_inner;
  base_b = p.off_b + zo * p.sb_outer + zi * p.sb_inner;
  base_c = p.off_c + zo * p.sc_outer + zi * p.sc_inner;
}

// alpha·acc, plus C when this dispatch is a later slice of a K split, plus bias, then the
// activation, then the residual (x + f(x) of a transformer block, saving an add dispatch);
// bias, activation and residual come only with the last slice.
float epilogue(float acc, uint ci, uint gn) {
  float v = p.alpha * acc;
  if ((p.flags & MATMUL_ACCUMULATE) != 0u) v += c[ci];
  if ((p.flags & MATMUL_BIAS) != 0u) v += bias[p.off_bias + gn];
  v = activate(v, (p.flags >> MATMUL_ACT_SHIFT) & MATMUL_ACT_MASK, p.act_a, p.act_b);
  if ((p.flags & MATMUL_RESIDUAL) != 0u) v += res[ci - p.off_c + p.off_res];
  return v;
}

#ifdef TEXEL_LOADS
// CPU drivers (lavapipe), A and B read as RGBA32F storage texel buffers, no shared memory and
// no barriers. llvmpipe turns a storage-buffer or shared-memory load into a loop over the 8
// invocations of a SIMD vector with a branch per invocation and component (~10 cycles per
// float), but imageLoad into an inlined branch-free gather (8 16-byte loads and a 4x8
// transpose). texelFetch from a uniform texel buffer compiles to the same gather inside a
// called function (Mesa 22.3 gallivm calls a sampling function for every fetch), which forces
// every live accumulator out to the stack around each fetch: 1024^3 22 -> 26-29 GFLOP/s.
// The CPU caches do the job of shared memory. Each invocation accumulates a TM x TN register block; fp32 throughout.
// The host guarantees: base offsets, lda, ldb and batch strides multiples of 4 (so rows start
// on a texel), TN a multiple of 4, and the texel views cover whole allocations (so the texel
// holding the last element of a row can be read; its extra lanes are never used).
// Rows and columns past M, N are clamped to the last valid one (loads stay in bounds without
// branches); their results are dropped at the store.
layout(binding = 0, rgba32f) uniform readonly imageBuffer ta;
#define fetch(t, texel) imageLoad(t, int(texel))
// 16-bit B as RGBA16F or RGBA16UI texels: 4 elements per texel, widened by the texel load.
#if defined(B_F16)
layout(binding = 1, rgba16f) uniform readonly imageBuffer tb;
#define fetch_b(texel) imageLoad(tb, int(texel))
#elif defined(B_BF16)
layout(binding = 1, rgba16ui) uniform readonly uimageBuffer tb;
#define fetch_b(texel) uintBitsToFloat(imageLoad(tb, int(texel)) << 16u)
#else
layout(binding = 1, rgba32f) uniform readonly imageBuffer tb;
#define fetch_b(texel) imageLoad(tb, int(texel))
#endif

// B not transposed: a row of B is contiguous, so one texel is 4 neighbouring columns; an
// invocation owns TN/4 texels of columns, n0 + 4·(j·WX + tx).
void main_nn(uint base_a, uint base_b, uint base_c, uint m0, uint n0) {
  const uint TN4 = TN / 4u;
  uint tx = gl_LocalInvocationID.x;
  uint arow[MAX_TM], bcol[MAX_T / 4u];
  [[unroll]] for (uint i = 0u; i < TM; ++i) arow[i] = (base_a + min(m0 + i, p.M - 1u) * p.lda) / 4u;
  uint n_last = (p.N - 1u) & ~3u;
  [[unroll]] for (uint j = 0u; j < TN4; ++j) bcol[j] = (base_b + min(n0 + 4u * (j * WX + tx), n_last)) / 4u;
  uint ldb4 = p.ldb / 4u;
  vec4 acc[MAX_TM * MAX_T / 4u];
  [[unroll]] for (uint i = 0u; i < MAX_TM * MAX_T / 4u; ++i) acc[i] = vec4(0.0);

  uint kfull = p.K & ~3u;
  for (uint k0 = 0u; k0 < kfull; k0 += 4u) {
    vec4 av[MAX_TM];
    [[unroll]] for (uint i = 0u; i < TM; ++i) av[i] = fetch(ta, arow[i] + k0 / 4u);
    [[unroll]] for (uint cc = 0u; cc < 4u; ++cc) {
      vec4 bv[MAX_T / 4u];
      [[unroll]] for (uint j = 0u; j < TN4; ++j) bv[j] = fetch_b(bcol[j] + (k0 + cc) * ldb4);
      [[unroll]] for (uint i = 0u; i < TM; ++i)
        [[unroll]] for (uint j = 0u; j < TN4; ++j) acc[i * TN4 + j] = fma(vec4(av[i][cc]), bv[j], acc[i * TN4 + j]);
    }
  }
  if (kfull < p.K) {  // K % 4 trailing steps: rows k >= K of B are never read
    vec4 av[MAX_TM];
    [[unroll]] for (uint i = 0u; i < TM; ++i) av[i] = fetch(ta, arow[i] + kfull / 4u);
    [[unroll]] for (uint cc = 0u; cc < 3u; ++cc) {
      if (kfull + cc < p.K) {
        vec4 bv[MAX_T / 4u];
        [[unroll]] for (uint j = 0u; j < TN4; ++j) bv[j] = fetch_b(bcol[j] + (kfull + cc) * ldb4);
        [[unroll]] for (uint i = 0u; i < TM; ++i)
          [[unroll]] for (uint j = 0u; j < TN4; ++j) acc[i * TN4 + j] = fma(vec4(av[i][cc]), bv[j], acc[i * TN4 + j]);
      }
    }
  }

  [[unroll]] for (uint i = 0u; i < TM; ++i) {
    uint gm = m0 + i;
    if (gm >= p.M) break;
    [[unroll]] for (uint j = 0u; j < TN4; ++j) {
      uint gn = n0 + 4u * (j * WX + tx);
      [[unroll]] for (uint cc = 0u; cc < 4u; ++cc)
        if (gn + cc < p.N) {
          uint ci = base_c + gm * p.ldc + gn + cc;
          c[ci] = epilogue(acc[i * TN4 + j][cc], ci, gn + cc);
        }
    }
  }
}

// B transposed ([N, K]): both operands are contiguous along K, so one texel is 4 steps of K
// of a row of A or of a column of op(B). Columns n0 + j·WX + tx.
void main_nt(uint base_a, uint base_b, uint base_c, uint m0, uint n0) {
  uint tx = gl_LocalInvocationID.x;
  uint arow[MAX_TM], bcol[MAX_T];
  [[unroll]] for (uint i = 0u; i < TM; ++i) arow[i] = (base_a + min(m0 + i, p.M - 1u) * p.lda) / 4u;
  [[unroll]] for (uint j = 0u; j < TN; ++j) bcol[j] = (base_b + min(n0 + j * WX + tx, p.N - 1u) * p.ldb) / 4u;
  float acc[MAX_TM * MAX_T];
  [[unroll]] for (uint i = 0u; i < MAX_TM * MAX_T; ++i) acc[i] = 0.0;

  uint kfull = p.K & ~3u;
  for (uint k0 = 0u; k0 < kfull; k0 += 4u) {
    vec4 av[MAX_TM], bv[MAX_T];
    [[unroll]] for (uint i = 0u; i < TM; ++i) av[i] = fetch(ta, arow[i] + k0 / 4u);
    [[unroll]] for (uint j = 0u; j < TN; ++j) bv[j] = fetch_b(bcol[j] + k0 / 4u);
    [[unroll]] for (uint i = 0u; i < TM; ++i)
      [[unroll]] for (uint j = 0u; j < TN; ++j)
        acc[i * TN + j] = fma(av[i].w, bv[j].w, fma(av[i].z, bv[j].z,
                          fma(av[i].y, bv[j].y, fma(av[i].x, bv[j].x, acc[i * TN + j]))));
  }
  if (kfull < p.K) {
    // Lanes past K hold the next row or padding, possibly inf or NaN: select zeros, do not
    // multiply by a mask.
    bvec4 live = lessThan(uvec4(kfull) + uvec4(0u, 1u, 2u, 3u), uvec4(p.K));
    vec4 av[MAX_TM], bv[MAX_T];
    [[unroll]] for (uint i = 0u; i < TM; ++i) av[i] = mix(vec4(0.0), fetch(ta, arow[i] + kfull / 4u), live);
    [[unroll]] for (uint j = 0u; j < TN; ++j) bv[j] = mix(vec4(0.0), fetch_b(bcol[j] + kfull / 4u), live);
    [[unroll]] for (uint i = 0u; i < TM; ++i)
      [[unroll]] for (uint j = 0u; j < TN; ++j)
        acc[i * TN + j] = fma(av[i].z, bv[j].z, fma(av[i].y, bv[j].y, fma(av[i].x, bv[j].x, acc[i * TN + j])));
  }

  [[unroll]] for (uint i = 0u; i < TM; ++i) {
    uint gm = m0 + i;
    if (gm >= p.M) break;
    [[unroll]] for (uint j = 0u; j < TN; ++j) {
      uint gn = n0 + j * WX + tx;
      if (gn < p.N) {
        uint ci = base_c + gm * p.ldc + gn;
        c[ci] = epilogue(acc[i * TN + j], ci, gn);
      }
    }
  }
}

#ifdef SHARED_A
const uint MAX_AG = 2u;  // rows of A per lane: TM <= 2 x the subgroup size
// The 8 lanes of a subgroup compute the same TM rows (different columns), so a gather of A
// with 8 copies of one address would waste 7 of its 8 loads: instead lane l fetches row
// m0 + l (TM = the subgroup size, checked on the host) and each row's texel reaches every
// lane by subgroupShuffle with a constant lane, which LLVM folds into a register broadcast.
// One A gather per 4 steps of K instead of TM. Tile position from gl_SubgroupID and
// gl_SubgroupInvocationID (the host requires WX = gl_SubgroupSize); every lane stays active
// through the loop (no early exit), as the shuffles need.
void main_nt_shared(uint base_a, uint base_b, uint base_c, uint m0, uint n0) {
  uint lane = gl_SubgroupInvocationID;
  const uint AG = (TM + WX - 1u) / WX;  // A rows per lane
  uint arow[MAX_AG];
  [[unroll]] for (uint g = 0u; g < AG; ++g) arow[g] = (base_a + min(m0 + g * WX + lane, p.M - 1u) * p.lda) / 4u;
  uint bcol[MAX_T];
  [[unroll]] for (uint j = 0u; j < TN; ++j) bcol[j] = (base_b + min(n0 + j * WX + lane, p.N - 1u) * p.ldb) / 4u;
  float acc[MAX_TM * MAX_T];
  [[unroll]] for (uint i = 0u; i < MAX_TM * MAX_T; ++i) acc[i] = 0.0;

  uint kfull = p.K & ~3u;
  for (uint k0 = 0u; k0 < kfull; k0 += 4u) {
    vec4 mine[MAX_AG];
    [[unroll]] for (uint g = 0u; g < AG; ++g) mine[g] = fetch(ta, arow[g] + k0 / 4u);
    vec4 bv[MAX_T];
    [[unroll]] for (uint j = 0u; j < TN; ++j) bv[j] = fetch_b(bcol[j] + k0 / 4u);
    [[unroll]] for (uint i = 0u; i < TM; ++i) {
      vec4 av = subgroupShuffle(mine[i / WX], i % WX);
      [[unroll]] for (uint j = 0u; j < TN; ++j)
        acc[i * TN + j] = fma(av.w, bv[j].w, fma(av.z, bv[j].z, fma(av.y, bv[j].y, fma(av.x, bv[j].x, acc[i * TN + j]))));
    }
  }
  if (kfull < p.K) {
    bvec4 live = lessThan(uvec4(kfull) + uvec4(0u, 1u, 2u, 3u), uvec4(p.K));
    vec4 mine[MAX_AG];
    [[unroll]] for (uint g = 0u; g < AG; ++g) mine[g] = mix(vec4(0.0), fetch(ta, arow[g] + kfull / 4u), live);
    vec4 bv[MAX_T];
    [[unroll]] for (uint j = 0u; j < TN; ++j) bv[j] = mix(vec4(0.0), fetch_b(bcol[j] + kfull / 4u), live);
    [[unroll]] for (uint i = 0u; i < TM; ++i) {
      vec4 av = subgroupShuffle(mine[i / WX], i % WX);
      [[unroll]] for (uint j = 0u; j < TN; ++j)
        acc[i * TN + j] = fma(av.z, bv[j].z, fma(av.y, bv[j].y, fma(av.x, bv[j].x, acc[i * TN + j])));
    }
  }

  [[unroll]] for (uint i = 0u; i < TM; ++i) {
    uint gm = m0 + i;
    if (gm >= p.M) break;
    [[unroll]] for (uint j = 0u; j < TN; ++j) {
      uint gn = n0 + j * WX + lane;
      if (gn < p.N) {
        uint ci = base_c + gm * p.ldc + gn;
        c[ci] = epilogue(acc[i * TN + j], ci, gn);
      }
    }
  }
}

// B not transposed: as main_nn, with A shared as in main_nt_shared (one scalar shuffle per
// row and step of K keeps fewer values live than shuffling whole texels).
void main_nn_shared(uint base_a, uint base_b, uint base_c, uint m0, uint n0) {
  const uint TN4 = TN / 4u;
  uint lane = gl_SubgroupInvocationID;
  const uint AG = (TM + WX - 1u) / WX;  // A rows per lane
  uint arow[MAX_AG];
  [[unroll]] for (uint g = 0u; g < AG; ++g) arow[g] = (base_a + min(m0 + g * WX + lane, p.M - 1u) * p.lda) / 4u;
  uint n_last = (p.N - 1u) & ~3u;
  uint bcol[MAX_T / 4u];
  [[unroll]] for (uint j = 0u; j < TN4; ++j) bcol[j] = (base_b + min(n0 + 4u * (j * WX + lane), n_last)) / 4u;
  uint ldb4 = p.ldb / 4u;
  vec4 acc[MAX_TM * MAX_T / 4u];
  [[unroll]] for (uint i = 0u; i < MAX_TM * MAX_T / 4u; ++i) acc[i] = vec4(0.0);

  uint kfull = p.K & ~3u;
  for (uint k0 = 0u; k0 < kfull; k0 += 4u) {
    vec4 mine[MAX_AG];
    [[unroll]] for (uint g = 0u; g < AG; ++g) mine[g] = fetch(ta, arow[g] + k0 / 4u);
    [[unroll]] for (uint cc = 0u; cc < 4u; ++cc) {
      vec4 bv[MAX_T / 4u];
      [[unroll]] for (uint j = 0u; j < TN4; ++j) bv[j] = fetch_b(bcol[j] + (k0 + cc) * ldb4);
      [[unroll]] for (uint i = 0u; i < TM; ++i) {
        float av = subgroupShuffle(mine[i / WX][cc], i % WX);
        [[unroll]] for (uint j = 0u; j < TN4; ++j) acc[i * TN4 + j] = fma(vec4(av), bv[j], acc[i * TN4 + j]);
      }
    }
  }
  if (kfull < p.K) {  // K % 4 trailing steps: rows k >= K of B are never read
    vec4 mine[MAX_AG];
    [[unroll]] for (uint g = 0u; g < AG; ++g) mine[g] = fetch(ta, arow[g] + kfull / 4u);
    [[unroll]] for (uint cc = 0u; cc < 3u; ++cc) {
      if (kfull + cc < p.K) {
        vec4 bv[MAX_T / 4u];
        [[unroll]] for (uint j = 0u; j < TN4; ++j) bv[j] = fetch_b(bcol[j] + (kfull + cc) * ldb4);
        [[unroll]] for (uint i = 0u; i < TM; ++i) {
          float av = subgroupShuffle(mine[i / WX][cc], i % WX);
          [[unroll]] for (uint j = 0u; j < TN4; ++j) acc[i * TN4 + j] = fma(vec4(av), bv[j], acc[i * TN4 + j]);
        }
      }
    }
  }

  [[unroll]] for (uint i = 0u; i < TM; ++i) {
    uint gm = m0 + i;
    if (gm >= p.M) break;
    [[unroll]] for (uint j = 0u; j < TN4; ++j) {
      uint gn = n0 + 4u * (j * WX + lane);
      [[unroll]] for (uint cc = 0u; cc < 4u; ++cc)
        if (gn + cc < p.N) {
          uint ci = base_c + gm * p.ldc + gn + cc;
          c[ci] = epilogue(acc[i * TN4 + j][cc], ci, gn + cc);
        }
    }
  }
}
#endif

void main() {
  uint base_a, base_b, base_c;
  batch_bases(base_a, base_b, base_c);
#ifdef SHARED_A
  uint m0 = gl_WorkGroupID.y * BM + gl_SubgroupID * TM;
  uint n0 = gl_WorkGroupID.x * BN;
  if ((p.flags & MATMUL_TRANS_B) != 0u)
    main_nt_shared(base_a, base_b, base_c, m0, n0);
  else
    main_nn_shared(base_a, base_b, base_c, m0, n0);
#else
  uint m0 = gl_WorkGroupID.y * BM + gl_LocalInvocationID.y * TM;
  uint n0 = gl_WorkGroupID.x * BN;
  if ((p.flags & MATMUL_TRANS_B) != 0u)
    main_nt(base_a, base_b, base_c, m0, n0);
  else
    main_nn(base_a, base_b, base_c, m0, n0);
#endif
}
#elif defined(COOPMAT)
// One subgroup per workgroup (WX = the subgroup size, WY = 1) computes TM x TN blocks of
// 16x16 with the device's matrix units: per step of 16 along K it stages A [16·TM, 16] and
// op(B) [16, 16·TN] in shared memory as fp16 (zeros past M, N and K), and multiplies them
// into fp32 accumulators; at the end the accumulators go through shared memory to the same
// epilogue as the other kernels, element by element, so edges and strides need nothing from
// the matrix loads. A and B are rounded to fp16 (2^-11 each), products and sums are fp32.
const uint T16 = 16u;
const uint CM = TM * T16, CN = TN * T16;
const uint CMAX = MATMUL_COOPMAT_MAX_BLOCKS;  // TM, TN and TM·TN at most this (checked on the host)
shared float16_t Ah[CM * T16];     // [m][k]
shared float16_t Bh[T16 * CN];     // [k][n]
shared float Cs[CM * CN];          // [m][n]

void main() {
  uint base_a, base_b, base_c;
  batch_bases(base_a, base_b, base_c);
  uint m0 = gl_WorkGroupID.y * CM, n0 = gl_WorkGroupID.x * CN;
  uint lid = gl_LocalInvocationIndex;
  bool trans_b = (p.flags & MATMUL_TRANS_B) != 0u;

  fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> acc[CMAX];
  [[unroll]] for (uint i = 0u; i < TM * TN; ++i) acc[i] = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0.0);
  for (uint k0 = 0u; k0 < p.K; k0 += T16) {
    barrier();
    for (uint e = lid; e < CM * T16; e += NT) {
      uint mm = e / T16, kk = e % T16, gm = m0 + mm, gk = k0 + kk;
      Ah[e] = float16_t((gm < p.M && gk < p.K) ? a[base_a + gm * p.lda + gk] : 0.0);
    }
    // Neighbouring invocations read neighbouring elements of B: along K for B^T, along N else.
    for (uint e = lid; e < T16 * CN; e += NT) {
      uint kk = trans_b ? e % T16 : e / CN, nn = trans_b ? e / T16 : e % CN, gn = n0 + nn, gk = k0 + kk;
      float v = 0.0;
      if (gn < p.N && gk < p.K) v = load_b(base_b + (trans_b ? gn * p.ldb + gk : gk * p.ldb + gn));
      Bh[kk * CN + nn] = float16_t(v);
    }
    barrier();
    fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> am[CMAX], bm[CMAX];
    [[unroll]] for (uint i = 0u; i < TM; ++i) coopMatLoadNV(am[i], Ah, i * T16 * T16, T16, false);
    [[unroll]] for (uint j = 0u; j < TN; ++j) coopMatLoadNV(bm[j], Bh, j * T16, CN, false);
    [[unroll]] for (uint i = 0u; i < TM; ++i)
      [[unroll]] for (uint j = 0u; j < TN; ++j) acc[i * TN + j] = coopMatMulAddNV(am[i], bm[j], acc[i * TN + j]);
  }
  [[unroll]] for (uint i = 0u; i < TM; ++i)
    [[unroll]] for (uint j = 0u; j < TN; ++j) coopMatStoreNV(acc[i * TN + j], Cs, i * T16 * CN + j * T16, CN, false);
  barrier();
  for (uint e = lid; e < CM * CN; e += NT) {
    uint gm = m0 + e / CN, gn = n0 + e % CN;
    if (gm < p.M && gn < p.N) {
      uint ci = base_c + gm * p.ldc + gn;
      c[ci] = epilogue(Cs[e], ci, gn);
    }
  }
}
#else
shared TILE As[BK * BM];          // [k][m]
shared TILE Bs[BK * BN];          // [k][n]

void main() {
  uint base_a, base_b, base_c;
  batch_bases(base_a, base_b, base_c);
  uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
  uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
  uint lid = gl_LocalInvocationIndex;
  bool trans_b = (p.flags & MATMUL_TRANS_B) != 0u;

  float acc[MAX_TM * MAX_T];
  [[unroll]] for (uint i = 0u; i < MAX_TM * MAX_T; ++i) acc[i] = 0.0;

  for (uint k0 = 0u; k0 < p.K; k0 += BK) {
    // Edge tiles read zeros past M, N and K, so the inner loop needs no bounds checks.
    for (uint e = lid; e < BM * BK; e += NT) {
      uint mm = e / BK, kk = e % BK, gm = m0 + mm, gk = k0 + kk;
      As[kk * BM + mm] = TILE((gm < p.M && gk < p.K) ? a[base_a + gm * p.lda + gk] : 0.0);
    }
    if (trans_b) {
      for (uint e = lid; e < BN * BK; e += NT) {
        uint nn = e / BK, kk = e % BK, gn = n0 + nn, gk = k0 + kk;
        Bs[kk * BN + nn] = TILE((gn < p.N && gk < p.K) ? load_b(base_b + gn * p.ldb + gk) : 0.0);
      }
    } else {
      for (uint e = lid; e < BK * BN; e += NT) {
        uint kk = e / BN, nn = e % BN, gn = n0 + nn, gk = k0 + kk;
        Bs[kk * BN + nn] = TILE((gn < p.N && gk < p.K) ? load_b(base_b + gk * p.ldb + gn) : 0.0);
      }
    }
    barrier();
    for (uint kk = 0u; kk < BK; ++kk) {
      TILE av[MAX_TM], bv[MAX_T];
      [[unroll]] for (uint i = 0u; i < TM; ++i) av[i] = As[kk * BM + ty + i * WY];
      [[unroll]] for (uint j = 0u; j < TN; ++j) bv[j] = Bs[kk * BN + tx + j * WX];
      [[unroll]] for (uint i = 0u; i < TM; ++i)
        [[unroll]] for (uint j = 0u; j < TN; ++j)
#ifdef FP16_MATH
          acc[i * TN + j] += float(av[i] * bv[j]);
#else
          acc[i * TN + j] = fma(av[i], bv[j], acc[i * TN + j]);
#endif
    }
    barrier();
  }

  [[unroll]] for (uint i = 0u; i < TM; ++i) {
    uint gm = m0 + ty + i * WY;
    if (gm >= p.M) break;
    [[unroll]] for (uint j = 0u; j < TN; ++j) {
      uint gn = n0 + tx + j * WX;
      if (gn >= p.N) break;
      uint ci = base_c + gm * p.ldc + gn;
      c[ci] = epilogue(acc[i * TN + j], ci, gn);
    }
  }
}
#endif
