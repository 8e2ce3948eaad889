#version 450
// y[o] = a reduction of the elements of x that output o gathers (the last `axes` dimensions
// of x, read in place through its strides). LANES invocations share an output (a power of
// two dividing the workgroup): each folds a strided share of the elements, then the lanes'
// partial states merge in shared memory. States are fp32 (sums, products, extremes, the
// running max and scaled sum of log-sum-exp, the best value and its index of arg-max).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "reduce_contract.h"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint OP = 0;
layout(constant_id = 2) const uint LANES = 1;

layout(std430, binding = 0) readonly buffer BufX { float x[]; };
layout(std430, binding = 1) writeonly buffer BufY { uint y[]; };  // fp32 bits, or the index
layout(push_constant) uniform Params { REDUCE_PARAMS } p;

struct State {
  float a, b;  // sum/product/extreme; log-sum-exp: max, scaled sum
  uint i;      // arg-max/arg-min: the best index
};

const bool ARG = OP == RED_ARGMAX || OP == RED_ARGMIN;

State identity() {
  if (OP == RED_PROD) return State(1.0, 0.0, 0u);
  if (OP == RED_MAX || OP == RED_ARGMAX || OP == RED_LOG_SUM_EXP) return State(NEG_INF, 0.0, 0xffffffffu);
  if (OP == RED_MIN || OP == RED_ARGMIN) return State(-NEG_INF, 0.0, 0xffffffffu);
  return State(0.0, 0.0, 0u);
}

// Is (v, i) better than (best, bi) for arg-max/arg-min: ties go to the lower index (the
// higher with select_last).
bool better(float v, uint i, float best, uint bi) {
  if (bi == 0xffffffffu) return true;
  if (v == best) return p.select_last != 0u ? i > bi : i < bi;
  return OP == RED_ARGMAX ? v > best : v < best;
}

State merge(State s, State t) {
  if (OP == RED_PROD) return State(s.a * t.a, 0.0, 0u);
  if (OP == RED_MAX) return State(max_nan(s.a, t.a), 0.0, 0u);
  if (OP == RED_MIN) return State(isnan(s.a) || isnan(t.a) ? s.a + t.a : min(s.a, t.a), 0.0, 0u);
  if (ARG) return better(t.a, t.i, s.a, s.i) ? t : s;
  if (OP == RED_LOG_SUM_EXP) {
    float m = max_nan(s.a, t.a);
    if (m == NEG_INF) return s;
    return State(m, s.b * exp(s.a - m) + t.b * exp(t.a - m), 0u);
  }
  return State(s.a + t.a, 0.0, 0u);
}

State element(float v, uint r) {
  if (OP == RED_L1) return State(abs(v), 0.0, 0u);
  if (OP == RED_L2 || OP == RED_SUM_SQUARE) return State(v * v, 0.0, 0u);
  if (OP == RED_LOG_SUM_EXP) return State(v, 1.0, 0u);
  return State(v, 0.0, r);
}

shared float sa[gl_WorkGroupSize.x], sb[gl_WorkGroupSize.x];
shared uint si[gl_WorkGroupSize.x];

void main() {
  const uint per_group = gl_WorkGroupSize.x / LANES;
  uint o = linear_group() * per_group + gl_LocalInvocationID.x / LANES;
  uint lane = gl_LocalInvocationID.x % LANES;
  bool live = o < p.outputs;  // no early return: the merge below holds barriers
  // The output's place in x: its coordinates over the kept dimensions.
  int base = int(p.off_x);
  uint r = live ? o : 0u;
  [[unroll]] for (int d = RED_MAX_RANK - 1; d >= 0; --d) {
    if (uint(d) < RED_MAX_RANK - p.axes) {
      base += int(r % p.size[d]) * int(p.stride[d]);
      r /= p.size[d];
    }
  }
  State s = identity();
  if (live)
    for (uint e = lane; e < p.count; e += LANES) {
      int at = base;
      uint q = e;
      [[unroll]] for (int d = RED_MAX_RANK - 1; d >= 0; --d) {
        if (uint(d) >= RED_MAX_RANK - p.axes) {
          at += int(q % p.size[d]) * int(p.stride[d]);
          q /= p.size[d];
        }
      }
      s = merge(s, element(x[at], e));
    }
  if (LANES > 1u) {
    uint l = gl_LocalInvocationID.x;
    sa[l] = s.a;
    sb[l] = s.b;
    si[l] = s.i;
    barrier();
    [[unroll]] for (uint h = LANES / 2u; h > 0u; h /= 2u) {
      if (lane < h) {
        State t = merge(State(sa[l], sb[l], si[l]), State(sa[l + h], sb[l + h], si[l + h]));
        sa[l] = t.a;
        sb[l] = t.b;
        si[l] = t.i;
      }
      barrier();
    }
    s = State(sa[l], sb[l], si[l]);
  }
  if (!live || lane != 0u) return;
  float v = s.a;
  if (OP == RED_MEAN) v = s.a / float(p.count);
  if (OP == RED_L2) v = sqrt(s.a);
  if (OP == RED_LOG_SUM) v = log(s.a);
  if (OP == RED_LOG_SUM_EXP) v = s.a == NEG_INF ? NEG_INF : s.a + log(s.b);
  y[p.off_y + o] = ARG ? (s.i == 0xffffffffu ? 0u : s.i) : floatBitsToUint(v);
}
