// shaders/pointwise.comp <-> engine/ops/pointwise.cpp: the op codes (ops::Pointwise's values,
// static_assert in the dispatch), the cast codes and the push constants.
#ifndef VKFUSE_POINTWISE_CONTRACT_H
#define VKFUSE_POINTWISE_CONTRACT_H
#include "contract.h"
CONTRACT_BEGIN

// One input
CONTRACT_CONST(PW_COPY, 0u)
CONTRACT_CONST(PW_NEG, 1u)
CONTRACT_CONST(PW_ABS, 2u)
CONTRACT_CONST(PW_EXP, 3u)
CONTRACT_CONST(PW_LOG, 4u)
CONTRACT_CONST(PW_SQRT, 5u)
CONTRACT_CONST(PW_RECIPROCAL, 6u)
CONTRACT_CONST(PW_ERF, 7u)
CONTRACT_CONST(PW_FLOOR, 8u)
CONTRACT_CONST(PW_CEIL, 9u)
CONTRACT_CONST(PW_ROUND, 10u)      // half to even
CONTRACT_CONST(PW_SIGN, 11u)
CONTRACT_CONST(PW_SIN, 12u)
CONTRACT_CONST(PW_COS, 13u)
CONTRACT_CONST(PW_NOT, 14u)
CONTRACT_CONST(PW_ISNAN, 15u)
CONTRACT_CONST(PW_ISINF, 16u)      // aux bit 0: +inf counts, bit 1: -inf counts
CONTRACT_CONST(PW_SOFTSIGN, 17u)
CONTRACT_CONST(PW_ACTIVATE, 18u)   // activate(x, aux, alpha, beta): an ACT_* code in aux
CONTRACT_CONST(PW_CAST, 19u)       // to the output's kind, then aux (PW_CAST_*)
// Two
CONTRACT_CONST(PW_ADD, 20u)
CONTRACT_CONST(PW_SUB, 21u)
CONTRACT_CONST(PW_MUL, 22u)
CONTRACT_CONST(PW_DIV, 23u)        // integers: truncated toward zero
CONTRACT_CONST(PW_POW, 24u)
CONTRACT_CONST(PW_MAX, 25u)
CONTRACT_CONST(PW_MIN, 26u)
CONTRACT_CONST(PW_MOD, 27u)        // the sign of the divisor (Python's %)
CONTRACT_CONST(PW_FMOD, 28u)       // the sign of the dividend (C's fmod)
CONTRACT_CONST(PW_EQUAL, 29u)
CONTRACT_CONST(PW_LESS, 30u)
CONTRACT_CONST(PW_GREATER, 31u)
CONTRACT_CONST(PW_LESS_EQUAL, 32u)
CONTRACT_CONST(PW_GREATER_EQUAL, 33u)
CONTRACT_CONST(PW_AND, 34u)
CONTRACT_CONST(PW_OR, 35u)
CONTRACT_CONST(PW_XOR, 36u)
CONTRACT_CONST(PW_PRELU, 37u)      // a < 0 ? b·a : a
// Three
CONTRACT_CONST(PW_WHERE, 38u)      // a != 0 ? b : c
CONTRACT_CONST(PW_MULADD, 39u)     // a·b + c
CONTRACT_CONST(PW_COUNT, 40u)

// PW_CAST's aux: what the value becomes after the conversion to the output's kind.
CONTRACT_CONST(PW_CAST_NONE, 0u)
CONTRACT_CONST(PW_CAST_BOOL, 1u)   // nonzero is 1
CONTRACT_CONST(PW_CAST_I8, 2u)     // two's complement wrap-around to 8 or 16 bits
CONTRACT_CONST(PW_CAST_U8, 3u)
CONTRACT_CONST(PW_CAST_I16, 4u)
CONTRACT_CONST(PW_CAST_U16, 5u)
CONTRACT_CONST(PW_CAST_F16, 6u)    // rounded to binary16 (to nearest even), kept as fp32
CONTRACT_CONST(PW_CAST_BF16, 7u)   // rounded to bfloat16 (to nearest even), kept as fp32

#define PW_MAX_RANK 6

// Inputs a, b, c are views of any (signed) strides, broadcast to the output's shape by stride
// 0; the output is contiguous. Strides and offsets are in elements.
#define POINTWISE_PARAMS                                                   \
  CONTRACT_UINT n;                                                         \
  CONTRACT_UINT off_a, off_b, off_c, off_y;                                \
  CONTRACT_UINT size[PW_MAX_RANK];  /* the output's shape, outermost first */ \
  CONTRACT_UINT sa[PW_MAX_RANK];    /* int bits: a's strides */            \
  CONTRACT_UINT sb[PW_MAX_RANK];                                           \
  CONTRACT_UINT sc[PW_MAX_RANK];                                           \
  CONTRACT_UINT aux;                                                       \
  CONTRACT_FLOAT alpha, beta;

#ifdef __cplusplus
struct PointwiseParams {
  POINTWISE_PARAMS
};
CONTRACT_PUSH_CHECK(PointwiseParams)
#endif

CONTRACT_END

#endif
