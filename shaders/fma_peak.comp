#version 450
// The device's arithmetic ceiling, so that every bench figure reads as a fraction of it:
// independent FMA chains with no memory traffic in the loop. Chains start at x0 = i % 64 + c
// (c = 0..CHAINS-1) and take steps·UNROLL updates x <- x·a + b; out[i] is the sum of their
// 4·CHAINS components. With a = 1 and b = 1 every update is exact in fp32, fused or not, so the
// result is checkable: 4·Σc (x0 + steps·UNROLL).
// Two vec4 chains (8 independent FMAs per invocation) measured the highest on lavapipe
// (llvmpipe runs 8 invocations per vector): 1: 70, 2: 101, 3: 84, 4: 87, 8: 91 GFLOP/s.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "fma_peak_contract.h"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer BufOut { float outv[]; };
layout(push_constant) uniform Params { FMA_PEAK_PARAMS } p;

void main() {
  uint i = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (i >= p.n) return;
  vec4 x[FMA_PEAK_CHAINS];
  [[unroll]] for (uint c = 0u; c < FMA_PEAK_CHAINS; ++c) x[c] = vec4(float(i % 64u + c));
  vec4 a = vec4(p.a), b = vec4(p.b);
  for (uint s = 0u; s < p.steps; ++s)
    [[unroll]] for (uint u = 0u; u < FMA_PEAK_UNROLL; ++u)
      [[unroll]] for (uint c = 0u; c < FMA_PEAK_CHAINS; ++c) x[c] = fma(x[c], a, b);
  vec4 sum = vec4(0.0);
  [[unroll]] for (uint c = 0u; c < FMA_PEAK_CHAINS; ++c) sum += x[c];
  outv[i] = sum.x + sum.y + sum.z + sum.w;
}
