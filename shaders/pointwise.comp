#version 450
// y[i] = f(a, b, c) element by element with numpy broadcasting: one invocation per output
// element, which it finds in each input through that input's strides (0 along a broadcast
// dimension, negative for a reversed slice), so transposes, expands and slices are read in
// place. OP (a specialization constant, PW_* of pointwise_contract.h) picks f. Every buffer
// is 32-bit words: fp32, or int32 for integer and bool data (0/1); the *_INT constants say
// which each binding holds, INT_MATH whether f runs on integers (else on floats, integer
// inputs converted), as the host decided from the inputs' kinds.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "activation.glsl"
#include "pointwise_contract.h"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint OP = 0;
layout(constant_id = 2) const bool INT_MATH = false;
layout(constant_id = 3) const bool A_INT = false;
layout(constant_id = 4) const bool B_INT = false;
layout(constant_id = 5) const bool C_INT = false;
layout(constant_id = 6) const bool Y_INT = false;

layout(std430, binding = 0) readonly buffer BufA { uint wa[]; };
layout(std430, binding = 1) readonly buffer BufB { uint wb[]; };
layout(std430, binding = 2) readonly buffer BufC { uint wc[]; };
layout(std430, binding = 3) writeonly buffer BufY { uint wy[]; };

layout(push_constant) uniform Params { POINTWISE_PARAMS } p;

float as_float(uint w, bool is_int) { return is_int ? float(int(w)) : uintBitsToFloat(w); }
// A float to an integer truncates toward zero (C's conversion, as ONNX Runtime's Cast).
int as_int(uint w, bool is_int) { return is_int ? int(w) : int(uintBitsToFloat(w)); }

// Python's modulo for integers: the result takes the divisor's sign.
int mod_floor(int x, int y) {
  if (y == 0) return 0;
  int r = x - (x / y) * y;
  return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;
}

float float_op(float x, float y, float z) {
  if (OP == PW_COPY || OP == PW_CAST) return x;
  if (OP == PW_NEG) return -x;
  if (OP == PW_ABS) return abs(x);
  if (OP == PW_EXP) return exp(x);
  if (OP == PW_LOG) return log(x);
  if (OP == PW_SQRT) return sqrt(x);
  if (OP == PW_RECIPROCAL) return 1.0 / x;
  if (OP == PW_ERF) return erf_approx(x);
  if (OP == PW_FLOOR) return floor(x);
  if (OP == PW_CEIL) return ceil(x);
  if (OP == PW_ROUND) return roundEven(x);
  if (OP == PW_SIGN) return isnan(x) ? x : sign(x);
  if (OP == PW_SIN) return sin(x);
  if (OP == PW_COS) return cos(x);
  if (OP == PW_NOT) return x == 0.0 ? 1.0 : 0.0;
  if (OP == PW_ISNAN) return isnan(x) ? 1.0 : 0.0;
  if (OP == PW_ISINF)
    return (isinf(x) && (((p.aux & 1u) != 0u && x > 0.0) || ((p.aux & 2u) != 0u && x < 0.0))) ? 1.0 : 0.0;
  if (OP == PW_SOFTSIGN) return x / (1.0 + abs(x));
  if (OP == PW_ACTIVATE) return activate(x, p.aux, p.alpha, p.beta);
  if (OP == PW_ADD) return x + y;
  if (OP == PW_SUB) return x - y;
  if (OP == PW_MUL) return x * y;
  if (OP == PW_DIV) return x / y;
  if (OP == PW_POW) {
    // pow(x, y) of GLSL is undefined for x < 0; an integral y gives the sign back.
    float m = pow(abs(x), y);
    if (x < 0.0 && y == floor(y)) return (mod(y, 2.0) == 1.0) ? -m : m;
    if (x < 0.0) return uintBitsToFloat(0x7fc00000u);
    return (x == 0.0 && y == 0.0) ? 1.0 : m;
  }
  if (OP == PW_MAX) return isnan(x) || isnan(y) ? x + y : max(x, y);
  if (OP == PW_MIN) return isnan(x) || isnan(y) ? x + y : min(x, y);
  if (OP == PW_MOD) {
    float r = x - y * trunc(x / y);
    return (r != 0.0 && ((r < 0.0) != (y < 0.0))) ? r + y : r;
  }
  if (OP == PW_FMOD) return x - y * trunc(x / y);
  if (OP == PW_EQUAL) return x == y ? 1.0 : 0.0;
  if (OP == PW_LESS) return x < y ? 1.0 : 0.0;
  if (OP == PW_GREATER) return x > y ? 1.0 : 0.0;
  if (OP == PW_LESS_EQUAL) return x <= y ? 1.0 : 0.0;
  if (OP == PW_GREATER_EQUAL) return x >= y ? 1.0 : 0.0;
  if (OP == PW_AND) return (x != 0.0 && y != 0.0) ? 1.0 : 0.0;
  if (OP == PW_OR) return (x != 0.0 || y != 0.0) ? 1.0 : 0.0;
  if (OP == PW_XOR) return ((x != 0.0) != (y != 0.0)) ? 1.0 : 0.0;
  if (OP == PW_PRELU) return x < 0.0 ? y * x : x;
  if (OP == PW_MULADD) return fma(x, y, z);
  return x;
}

int int_op(int x, int y, int z) {
  if (OP == PW_COPY || OP == PW_CAST) return x;
  if (OP == PW_NEG) return -x;
  if (OP == PW_ABS) return abs(x);
  if (OP == PW_SIGN) return sign(x);
  if (OP == PW_NOT) return x == 0 ? 1 : 0;
  if (OP == PW_ADD) return x + y;
  if (OP == PW_SUB) return x - y;
  if (OP == PW_MUL) return x * y;
  if (OP == PW_DIV) return y == 0 ? 0 : x / y;
  if (OP == PW_POW) {
    int r = 1;
    for (int e = 0; e < y && e < 64; ++e) r *= x;
    return r;
  }
  if (OP == PW_MAX) return max(x, y);
  if (OP == PW_MIN) return min(x, y);
  if (OP == PW_MOD) return mod_floor(x, y);
  if (OP == PW_FMOD) return y == 0 ? 0 : x - (x / y) * y;
  if (OP == PW_EQUAL) return x == y ? 1 : 0;
  if (OP == PW_LESS) return x < y ? 1 : 0;
  if (OP == PW_GREATER) return x > y ? 1 : 0;
  if (OP == PW_LESS_EQUAL) return x <= y ? 1 : 0;
  if (OP == PW_GREATER_EQUAL) return x >= y ? 1 : 0;
  if (OP == PW_AND) return (x != 0 && y != 0) ? 1 : 0;
  if (OP == PW_OR) return (x != 0 || y != 0) ? 1 : 0;
  if (OP == PW_XOR) return ((x != 0) != (y != 0)) ? 1 : 0;
  if (OP == PW_PRELU) return x < 0 ? y * x : x;
  if (OP == PW_MULADD) return x * y + z;
  return x;
}

int wrap(int v) {
  if (OP != PW_CAST) return v;
  if (p.aux == PW_CAST_BOOL) return v != 0 ? 1 : 0;
  if (p.aux == PW_CAST_I8) return bitfieldExtract(v, 0, 8);
  if (p.aux == PW_CAST_U8) return v & 0xff;
  if (p.aux == PW_CAST_I16) return bitfieldExtract(v, 0, 16);
  if (p.aux == PW_CAST_U16) return v & 0xffff;
  return v;
}

float round_float(float v) {
  if (OP != PW_CAST) return v;
  if (p.aux == PW_CAST_F16) return unpackHalf2x16(packHalf2x16(vec2(v, 0.0))).x;
  if (p.aux == PW_CAST_BF16) {
    uint u = floatBitsToUint(v);
    if (isnan(v)) return v;
    u += 0x7fffu + ((u >> 16u) & 1u);  // to nearest, ties to even
    return uintBitsToFloat(u & 0xffff0000u);
  }
  return v;
}

void main() {
  uint i = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (i >= p.n) return;
  int ia = int(p.off_a), ib = int(p.off_b), ic = int(p.off_c);
  uint r = i;
  [[unroll]] for (int d = PW_MAX_RANK - 1; d >= 0; --d) {
    int k = int(r % p.size[d]);
    r /= p.size[d];
    ia += k * int(p.sa[d]);
    ib += k * int(p.sb[d]);
    ic += k * int(p.sc[d]);
  }
  uint xa = wa[ia], xb = wb[ib], xc = wc[ic];
  uint res;
  if (OP == PW_WHERE) {
    // The condition is a's; the values b, c are of the output's kind.
    res = as_int(xa, A_INT) != 0 ? xb : xc;
  } else if (INT_MATH) {
    int v = wrap(int_op(as_int(xa, A_INT), as_int(xb, B_INT), as_int(xc, C_INT)));
    res = Y_INT ? uint(v) : floatBitsToUint(float(v));
  } else {
    float v = float_op(as_float(xa, A_INT), as_float(xb, B_INT), as_float(xc, C_INT));
    if (Y_INT) {
      bool to_bool = OP == PW_CAST && p.aux == PW_CAST_BOOL;
      res = uint(wrap(to_bool ? (v != 0.0 ? 1 : 0) : int(v)));
    } else {
      res = floatBitsToUint(round_float(v));
    }
  }
  wy[p.off_y + i] = res;
}
