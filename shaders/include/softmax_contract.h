// shaders/softmax.comp <-> engine/ops/softmax.cpp.
#ifndef VKFUSE_SOFTMAX_CONTRACT_H
#define VKFUSE_SOFTMAX_CONTRACT_H
#include "contract.h"
CONTRACT_BEGIN

#define SOFTMAX_PARAMS                                                            \
  CONTRACT_UINT rows, n, ldx, ldy, off_x, off_y, off_mask;                        \
  CONTRACT_UINT mask_rows;  /* row r of x uses mask row r % mask_rows */           \
  CONTRACT_UINT has_mask;                                                         \
  CONTRACT_FLOAT scale;                                                           \
  CONTRACT_UINT log_out;    /* log-softmax: l - max - log(sum) */

#ifdef __cplusplus
struct SoftmaxParams {
  SOFTMAX_PARAMS
};
CONTRACT_PUSH_CHECK(SoftmaxParams)
#endif

CONTRACT_END

#endif
