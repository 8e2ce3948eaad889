// shaders/matmul.comp <-> engine/ops/matmul.cpp.
#ifndef VKFUSE_MATMUL_CONTRACT_H
#define VKFUSE_MATMUL_CONTRACT_H
#include "activation_contract.h"
CONTRACT_BEGIN

// flags
CONTRACT_CONST(MATMUL_TRANS_B, 1u)       // B given as [N, K]
CONTRACT_CONST(MATMUL_BIAS, 2u)          // + bias[n]
CONTRACT_CONST(MATMUL_ACT_SHIFT, 2u)     // bits 2-5: the activation code (ACT_*)
CONTRACT_CONST(MATMUL_ACT_MASK, 15u)
CONTRACT_CONST(MATMUL_ACCUMULATE, 64u)   // add to C: a later slice of a K split
CONTRACT_CONST(MATMUL_RESIDUAL, 128u)    // + residual after the activation
CONTRACT_CONST(MATMUL_MAX_T, 8u)         // register block bounds: TN <= MATMUL_MAX_T,
CONTRACT_CONST(MATMUL_MAX_TM, 16u)       // TM <= MATMUL_MAX_TM, TM·TN <= MATMUL_MAX_T²
CONTRACT_CONST(MATMUL_COOPMAT_MAX_BLOCKS, 8u)  // coopmat: TM·TN blocks of 16x16, at most this

#define MATMUL_PARAMS                                                          \
  CONTRACT_UINT M, N, K;                                                       \
  CONTRACT_UINT lda, ldb, ldc;               /* row strides */                 \
  CONTRACT_UINT off_a, off_b, off_c, off_bias;                                 \
  CONTRACT_UINT batch_inner;                 /* z = outer·batch_inner + inner */ \
  CONTRACT_UINT sa_outer, sa_inner, sb_outer, sb_inner, sc_outer, sc_inner;    \
  CONTRACT_UINT flags;                                                         \
  CONTRACT_FLOAT alpha;                                                        \
  CONTRACT_UINT off_res;                     /* residual element = C's - off_c + off_res */ \
  CONTRACT_FLOAT act_a, act_b;               /* the activation's parameters */

#ifdef __cplusplus
struct MatmulParams {
  MATMUL_PARAMS
};
CONTRACT_PUSH_CHECK(MatmulParams)
#endif

CONTRACT_END

#endif
