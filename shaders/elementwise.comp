#version 450
// One invocation per element. OP (a specialization constant) picks the operation:
//   0 add:    c[i] = a[i] + b[i % bn]   (b of a's shape, or of its trailing dimensions)
//   1 relu, 2 gelu, 5 sigmoid: c[i] = f(a[i])
//   3 copy:   c at dst strides = a at src strides, rank <= 6 (heads, image patches)
//   4 gather: c[r·bn + j] = a[ids[r]·bn + j], ids = b read as uint bits (embedding rows)
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "activation.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint OP = 0;

layout(std430, binding = 0) readonly buffer BufA { float a[]; };
layout(std430, binding = 1) readonly buffer BufB { float b[]; };
layout(std430, binding = 2) writeonly buffer BufC { float c[]; };

layout(push_constant) uniform Params {
  uint n, bn, off_a, off_b, off_c;
  uint size[6];       // copy: shape, outermost first
  uint sa[6], sc[6];  // copy: source and destination strides
} p;

void main() {
  uint i = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (i >= p.n) return;
  if (OP == 0u) {
    c[p.off_c + i] = a[p.off_a + i] + b[p.off_b + i % p.bn];
  } else if (OP == 1u) {
    c[p.off_c + i] = max(a[p.off_a + i], 0.0);
  } else if (OP == 4u) {
    uint row = i / p.bn;
    c[p.off_c + i] = a[p.off_a + floatBitsToUint(b[p.off_b + row]) * p.bn + i % p.bn];
  } else if (OP == 5u) {
    c[p.off_c + i] = 1.0 / (1.0 + exp(-a[p.off_a + i]));
  } else if (OP == 2u) {
    c[p.off_c + i] = gelu(a[p.off_a + i]);
  } else {
    uint r = i, src = p.off_a, dst = p.off_c;
    [[unroll]] for (int d = 5; d >= 0; --d) {
      uint k = r % p.size[d];
      r /= p.size[d];
      src += k * p.sa[d];
      dst += k * p.sc[d];
    }
    c[dst] = a[src];
  }
}
