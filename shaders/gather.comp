#version 450
// y[a, j, b] = x[a, idx[j], b]: one invocation per output element. A negative index counts
// from the end; one outside the axis is clamped to it, so nothing outside x is read (the
// graph layer checks the indices that come from a run's inputs before they reach here).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "gather_contract.h"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer BufX { uint x[]; };
layout(std430, binding = 1) readonly buffer BufI { int idx[]; };
layout(std430, binding = 2) writeonly buffer BufY { uint y[]; };
layout(push_constant) uniform Params { GATHER_PARAMS } p;

void main() {
  uint i = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (i >= p.n) return;
  uint b = i % p.inner, t = i / p.inner;
  uint j = t % p.indices, a = t / p.indices;
  int k = idx[p.off_idx + j];
  if (k < 0) k += int(p.axis);
  k = clamp(k, 0, int(p.axis) - 1);
  y[p.off_y + i] = x[p.off_x + (a * p.axis + uint(k)) * p.inner + b];
}
