#version 450
// y[o] = x[map(o - before)] per axis, one invocation per output element: outside x the
// element is the fill (PAD_CONSTANT), or the axis is mirrored without repeating its edge
// (PAD_REFLECT), clamped to its edge (PAD_EDGE) or wrapped around (PAD_WRAP: Tile). 32-bit
// words, copied as they are (F32 or I32).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "pad_contract.h"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer BufX { uint x[]; };
layout(std430, binding = 1) writeonly buffer BufY { uint y[]; };
layout(push_constant) uniform Params { PAD_PARAMS } p;

void main() {
  uint i = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (i >= p.n) return;
  uint r = i;
  int at = int(p.off_x);
  bool fill = false;
  [[unroll]] for (int d = PAD_MAX_RANK - 1; d >= 0; --d) {
    int o = int(r % p.out_size[d]);
    r /= p.out_size[d];
    int n = int(p.in_size[d]);
    int c = o - int(p.before[d]);
    if (c < 0 || c >= n) {
      if (p.mode == PAD_CONSTANT) {
        fill = true;
      } else if (p.mode == PAD_EDGE) {
        c = clamp(c, 0, n - 1);
      } else if (p.mode == PAD_WRAP) {
        c = ((c % n) + n) % n;
      } else {  // reflect: period 2(n - 1); an axis of one element stays on it
        int period = max(2 * (n - 1), 1);
        c = ((c % period) + period) % period;
        if (c >= n) c = period - c;
      }
    }
    at += c * int(p.stride[d]);
  }
  y[p.off_y + i] = fill ? p.value : x[at];
}
