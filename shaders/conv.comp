#version 450
// Convolution over three spatial axes (1-D and 2-D ones have leading axes of size 1), as ONNX
// and PyTorch define it: y[b, g·OCg + m, q] = act(Σ_k w[g·OCg + m, k]·col[k, q] + bias) +
// residual, where k runs over (input channel of the group, kd, kh, kw), q over the output
// positions, and col[k, q] is the input element that tap k of position q sees (0 in the
// padding): the im2col matrix, computed where it is read, never stored.
// Tiled (default): an implicit GEMM, as matmul.comp's shared-memory kernel: a workgroup of
// WX x WY invocations computes a BM x BN tile (BM = WY·TM channels, BN = WX·TN positions),
// staging w and col tiles of BK steps of K in shared memory; z is (batch, group). A deep K is
// split into dispatches of slices [k0, k0 + k_count) that add to y (CONV_ACCUMULATE).
// DIRECT: one invocation per output element looping over its group's channels and the kernel
// window, for depthwise convolutions (one input channel a group), where a GEMM has no K to
// tile.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "activation.glsl"
#include "conv_contract.h"

layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z = 1) in;
layout(constant_id = 2) const uint TM = 4;
layout(constant_id = 3) const uint TN = 4;
layout(constant_id = 4) const uint BK = 16;

layout(std430, binding = 0) readonly buffer BufX { float x[]; };
layout(std430, binding = 1) readonly buffer BufW { float w[]; };
layout(std430, binding = 2) buffer BufY { float y[]; };  // read by later slices of a K split
layout(std430, binding = 3) readonly buffer BufBias { float bias[]; };
layout(std430, binding = 4) readonly buffer BufRes { float res[]; };

layout(push_constant) uniform Params { CONV_PARAMS } p;

const uint MAX_T = 8u;  // TM, TN <= MAX_T (checked on the host)

uint taps() { return p.kernel[0] * p.kernel[1] * p.kernel[2]; }
uint positions() { return p.out_size[0] * p.out_size[1] * p.out_size[2]; }
uint in_volume() { return p.in_size[0] * p.in_size[1] * p.in_size[2]; }

// Bias, activation, residual, after the last slice; earlier slices' sums added first.
float epilogue(float acc, uint yi, uint oc) {
  float v = acc;
  if ((p.flags & CONV_ACCUMULATE) != 0u) v += y[yi];
  if ((p.flags & CONV_BIAS) != 0u) v += bias[p.off_bias + oc];
  v = activate(v, (p.flags >> CONV_ACT_SHIFT) & CONV_ACT_MASK, p.act_a, p.act_b);
  if ((p.flags & CONV_RESIDUAL) != 0u) v += res[yi - p.off_y + p.off_res];
  return v;
}

// The input element tap (kd, kh, kw) of output position (od, oh, ow) reads in channel plane
// `plane`, or 0 in the padding.
float tap(uint plane, uint kd, uint kh, uint kw, uint od, uint oh, uint ow) {
  int id = int(od * p.stride[0] + kd * p.dilation[0]) - int(p.pad[0]);
  int ih = int(oh * p.stride[1] + kh * p.dilation[1]) - int(p.pad[1]);
  int iw = int(ow * p.stride[2] + kw * p.dilation[2]) - int(p.pad[2]);
  if (id < 0 || ih < 0 || iw < 0 || id >= int(p.in_size[0]) || ih >= int(p.in_size[1]) || iw >= int(p.in_size[2]))
    return 0.0;
  return x[plane + (uint(id) * p.in_size[1] + uint(ih)) * p.in_size[2] + uint(iw)];
}

#ifdef DIRECT
void main() {
  uint i = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  uint P = positions(), oc_total = p.ocg * p.groups;
  uint batch_n = oc_total * P;
  // The host dispatches exactly batch·OC·P invocations (rounded up to workgroups).
  uint b = i / batch_n, r = i % batch_n, oc = r / P, q = r % P;
  if (i >= p.k_count) return;  // k_count holds the element count here
  uint g = oc / p.ocg;
  uint ow = q % p.out_size[2], oh = (q / p.out_size[2]) % p.out_size[1], od = q / (p.out_size[2] * p.out_size[1]);
  uint T = taps();
  float acc = 0.0;
  for (uint c = 0u; c < p.cg; ++c) {
    uint plane = p.off_x + (b * p.cg * p.groups + g * p.cg + c) * in_volume();
    uint wrow = p.off_w + (oc * p.cg + c) * T;
    for (uint kd = 0u; kd < p.kernel[0]; ++kd)
      for (uint kh = 0u; kh < p.kernel[1]; ++kh)
        for (uint kw = 0u; kw < p.kernel[2]; ++kw)
          acc = fma(w[wrow + (kd * p.kernel[1] + kh) * p.kernel[2] + kw], tap(plane, kd, kh, kw, od, oh, ow), acc);
  }
  uint yi = p.off_y + (b * oc_total + oc) * P + q;
  y[yi] = epilogue(acc, yi, oc);
}
#else
const uint WX = gl_WorkGroupSize.x;
const uint WY = gl_WorkGroupSize.y;
const uint BM = WY * TM;
const uint BN = WX * TN;
const uint NT = WX * WY;
shared float As[BK * BM];  // [k][m]
shared float Bs[BK * BN];  // [k][q]

void main() {
  uint z = gl_WorkGroupID.z, b = z / p.groups, g = z % p.groups;
  uint P = positions(), T = taps(), K = p.cg * T;
  uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
  uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y, lid = gl_LocalInvocationIndex;
  uint xbase = p.off_x + (b * p.groups + g) * p.cg * in_volume();
  uint wbase = p.off_w + g * p.ocg * K;
  uint kend = p.k0 + p.k_count;
  uint k2 = p.kernel[2], k12 = p.kernel[1] * p.kernel[2];
  uint o2 = p.out_size[2], o12 = p.out_size[1] * p.out_size[2];

  float acc[MAX_T * MAX_T];
  [[unroll]] for (uint i = 0u; i < MAX_T * MAX_T; ++i) acc[i] = 0.0;

  for (uint k0 = p.k0; k0 < kend; k0 += BK) {
    // Edge tiles read zeros past OCg, P and the slice's end.
    for (uint e = lid; e < BM * BK; e += NT) {
      uint mm = e / BK, kk = e % BK, gm = m0 + mm, gk = k0 + kk;
      As[kk * BM + mm] = (gm < p.ocg && gk < kend) ? w[wbase + gm * K + gk] : 0.0;
    }
    // Neighbouring invocations take neighbouring positions: neighbouring input addresses.
    for (uint e = lid; e < BK * BN; e += NT) {
      uint kk = e / BN, nn = e % BN, gq = n0 + nn, gk = k0 + kk;
      float v = 0.0;
      if (gq < P && gk < kend) {
        uint c = gk / T, t = gk % T;
        v = tap(xbase + c * in_volume(), t / k12, (t / k2) % p.kernel[1], t % k2, gq / o12, (gq / o2) % p.out_size[1],
                gq % o2);
      }
      Bs[kk * BN + nn] = v;
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

  uint ybase = p.off_y + (b * p.groups + g) * p.ocg * P;
  [[unroll]] for (uint i = 0u; i < TM; ++i) {
    uint gm = m0 + ty + i * WY;
    if (gm >= p.ocg) break;
    [[unroll]] for (uint j = 0u; j < TN; ++j) {
      uint gq = n0 + tx + j * WX;
      if (gq >= P) break;
      uint yi = ybase + gm * P + gq;
      y[yi] = epilogue(acc[i * TN + j], yi, g * p.ocg + gm);
    }
  }
}
#endif
