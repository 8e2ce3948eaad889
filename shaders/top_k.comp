#version 450
// The k best entries of each row, best first: one workgroup per row takes k rounds, each the
// best (value, index) after the previous round's winner in the order "larger value first,
// then lower index" (a total order, so ties and repeated values are neither lost nor
// doubled). A round is a strided scan and a tree reduction in shared memory: O(k·n/WG) per
// invocation, no sort buffer, nothing beyond WG pairs of shared memory. NaN ranks below
// -inf (an empty embedding's scores come last).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer BufX { float x[]; };
layout(std430, binding = 1) writeonly buffer BufV { float vals[]; };
layout(std430, binding = 2) writeonly buffer BufI { uint idx[]; };

#include "top_k_contract.h"
layout(push_constant) uniform Params { TOP_K_PARAMS } p;

const uint NONE = 0xffffffffu;
shared float sh_v[gl_WorkGroupSize.x];
shared uint sh_i[gl_WorkGroupSize.x];

// The key a value is ordered by (NaN as -inf), with a NaN flag that puts NaN below every
// number, -inf included; then the index.
float key_of(float v) { return isnan(v) ? NEG_INF : v; }
bool nan_at(uint i) { return isnan(x[i]); }

// a before b: larger key, then non-NaN before NaN, then lower index. NONE is after all.
bool before(float ka, bool na, uint ia, float kb, bool nb, uint ib) {
  if (ib == NONE) return ia != NONE;
  if (ia == NONE) return false;
  if (na != nb) return nb;
  if (ka != kb) return ka > kb;
  return ia < ib;
}

void main() {
  uint row = linear_group();
  if (row >= p.rows) return;  // uniform over the workgroup
  uint lid = gl_LocalInvocationID.x, base = p.off_x + row * p.ldx;
  float last_k = 0.0;
  bool last_n = false;
  uint last_i = NONE;
  for (uint r = 0u; r < p.k; ++r) {
    float bk = NEG_INF;
    bool bn = false;
    uint bi = NONE;
    for (uint i = lid; i < p.n; i += gl_WorkGroupSize.x) {
      float ki = key_of(x[base + i]);
      bool ni = nan_at(base + i);
      bool after_last = last_i == NONE || before(last_k, last_n, last_i, ki, ni, i);
      if (after_last && before(ki, ni, i, bk, bn, bi)) {
        bk = ki;
        bn = ni;
        bi = i;
      }
    }
    sh_v[lid] = bk;
    sh_i[lid] = bi;
    barrier();
    for (uint s = gl_WorkGroupSize.x / 2u; s > 0u; s >>= 1u) {
      if (lid < s) {
        uint oi = sh_i[lid + s];
        bool on = oi != NONE && nan_at(base + oi), mn = sh_i[lid] != NONE && nan_at(base + sh_i[lid]);
        if (before(sh_v[lid + s], on, oi, sh_v[lid], mn, sh_i[lid])) {
          sh_v[lid] = sh_v[lid + s];
          sh_i[lid] = oi;
        }
      }
      barrier();
    }
    last_k = sh_v[0];
    last_i = sh_i[0];
    last_n = last_i != NONE && nan_at(base + last_i);
    barrier();
    if (lid == 0u) {
      vals[p.off_v + row * p.k + r] = last_i == NONE ? NEG_INF : x[base + last_i];
      idx[p.off_i + row * p.k + r] = last_i;
    }
  }
}
