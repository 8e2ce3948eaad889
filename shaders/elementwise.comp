#version 450
// One invocation per element. OP (a specialization constant, EW_* of elementwise_contract.h)
// picks the operation:
//   add:    c[i] = a[i] + b[i % bn]   (b of a's shape, or of its trailing dimensions)
//   relu, gelu, sigmoid: c[i] = f(a[i]); activate: c[i] = f(a[i]) for f = ACT_* code bn
//   copy:   c at dst strides = a at src strides, rank <= 6 (heads, image patches)
//   gather: c[r·bn + j] = a[ids[r]·bn + j], ids = b read as uint bits (embedding rows)
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "activation.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint OP = 0;

layout(std430, binding = 0) readonly buffer BufA { float a[]; };
layout(std430, binding = 1) readonly buffer BufB { float b[]; };
layout(std430, binding = 2) writeonly buffer BufC { float c[]; };

#include "elementwise_contract.h"
layout(push_constant) uniform Params { ELEMENTWISE_PARAMS } p;

void main() {
  uint i = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (i >= p.n) return;
  if (OP == EW_ADD) {
    c[p.off_c + i] = a[p.off_a + i] + b[p.off_b + i % p.bn];
  } else if (OP == EW_RELU) {
    c[p.off_c + i] = max(a[p.off_a + i], 0.0);
  } else if (OP == EW_GATHER) {
    uint row = i / p.bn;
    c[p.off_c + i] = a[p.off_a + floatBitsToUint(b[p.off_b + row]) * p.bn + i % p.bn];
  } else if (OP == EW_SIGMOID) {
    c[p.off_c + i] = 1.0 / (1.0 + exp(-a[p.off_a + i]));
  } else if (OP == EW_GELU) {
    c[p.off_c + i] = gelu(a[p.off_a + i]);
  } else if (OP == EW_ACTIVATE) {
    c[p.off_c + i] = activate(a[p.off_a + i], p.bn, 0.0, 0.0);
  } else {
    uint r = i, src = p.off_a, dst = p.off_c;
    [[unroll]] for (int d = EW_MAX_COPY_RANK - 1; d >= 0; --d) {
      uint k = r % p.size[d];
      r /= p.size[d];
      src += k * p.sa[d];
      dst += k * p.sc[d];
    }
    c[dst] = a[src];
  }
}
