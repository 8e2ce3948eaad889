#version 450
// y[o] = Σ over the taps of every axis of x[i_0, ..., i_5]·w_0·...·w_5: one invocation per
// output element, each axis's input indices and weights read from the tap table (nearest: one
// tap of weight 1; linear: 2; cubic: 4), made on the host by the reference's own coordinate
// mapping (ref::resize_taps).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "resize_contract.h"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer BufX { float x[]; };
layout(std430, binding = 1) readonly buffer BufT { float tab[]; };
layout(std430, binding = 2) writeonly buffer BufY { float y[]; };
layout(push_constant) uniform Params { RESIZE_PARAMS } p;

void main() {
  uint i = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (i >= p.n) return;
  uint o[RESIZE_MAX_RANK];
  uint r = i, combos = 1u;
  [[unroll]] for (int d = RESIZE_MAX_RANK - 1; d >= 0; --d) {
    o[d] = r % p.out_size[d];
    r /= p.out_size[d];
    combos *= p.taps[d];
  }
  float acc = 0.0;
  for (uint c = 0u; c < combos; ++c) {
    uint q = c, at = 0u;
    float wgt = 1.0;
    [[unroll]] for (int d = 0; d < RESIZE_MAX_RANK; ++d) {
      uint t = q % p.taps[d];
      q /= p.taps[d];
      uint e = p.tab[d] + 2u * (o[d] * p.taps[d] + t);
      at = at * p.in_size[d] + uint(tab[e]);
      wgt *= tab[e + 1u];
    }
    acc = fma(wgt, x[p.off_x + at], acc);
  }
  y[p.off_y + i] = acc;
}
