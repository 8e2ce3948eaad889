// shaders/attention*.comp <-> engine/ops/attention.cpp.
// Strides are in elements; q, k, v and o are [B, H, rows, D] views with a contiguous D.
#ifndef VKFUSE_ATTENTION_CONTRACT_H
#define VKFUSE_ATTENTION_CONTRACT_H
#include "contract.h"
CONTRACT_BEGIN

// flags
CONTRACT_CONST(FLAG_KEY_PAD, 1u)    // additive key padding [B, S]
CONTRACT_CONST(FLAG_ATTN_MASK, 2u)  // additive attention mask [L, S]
CONTRACT_CONST(FLAG_LSE, 4u)        // write each row's log-sum-exp [B, H, L]
CONTRACT_CONST(FLAG_CAUSAL, 8u)     // key j > query l is masked (L = S), no [L, S] mask stored

// SCORE, a specialization constant: ops::Score's values (docs/model-format.md §4)
CONTRACT_CONST(SCORE_DOT, 0u)
CONTRACT_CONST(SCORE_NEG_EUCLIDEAN, 1u)
CONTRACT_CONST(SCORE_NEG_MANHATTAN, 2u)

// Up to this head dimension one invocation keeps its rows in registers; beyond, the WIDE
// variant: dispatches of ATTENTION_WIDE_CHUNK output columns that recompute the scores.
CONTRACT_CONST(ATTENTION_MAX_FUSED_D, 256u)
CONTRACT_CONST(ATTENTION_WIDE_CHUNK, 128u)

#define ATTENTION_PARAMS                                                           \
  CONTRACT_UINT B, H, L, S;                                                        \
  CONTRACT_UINT off_q, sq_b, sq_h, sq_l;                                           \
  CONTRACT_UINT off_k, sk_b, sk_h, sk_s;                                           \
  CONTRACT_UINT off_v, sv_b, sv_h, sv_s;                                           \
  CONTRACT_UINT off_o, so_b, so_h, so_l;                                           \
  CONTRACT_UINT off_kp, off_am, off_lse, flags;                                    \
  CONTRACT_FLOAT scale;                                                            \
  CONTRACT_UINT d_total;  /* head_dim */                                           \
  CONTRACT_UINT d0;       /* WIDE: the first of the D columns this dispatch owns */ \
  CONTRACT_UINT splits;   /* tiled: key splits (1: none), attention_combine.comp merges */

#ifdef __cplusplus
struct AttentionParams {
  ATTENTION_PARAMS
};
CONTRACT_PUSH_CHECK(AttentionParams)
#endif

CONTRACT_END

#endif
