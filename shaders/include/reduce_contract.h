// shaders/reduce.comp <-> engine/ops/reduce.cpp (ops::Reduce's values: static_assert there).
#ifndef VKFUSE_REDUCE_CONTRACT_H
#define VKFUSE_REDUCE_CONTRACT_H
#include "contract.h"
CONTRACT_BEGIN

CONTRACT_CONST(RED_SUM, 0u)
CONTRACT_CONST(RED_MEAN, 1u)
CONTRACT_CONST(RED_MAX, 2u)
CONTRACT_CONST(RED_MIN, 3u)
CONTRACT_CONST(RED_PROD, 4u)
CONTRACT_CONST(RED_L1, 5u)
CONTRACT_CONST(RED_L2, 6u)
CONTRACT_CONST(RED_SUM_SQUARE, 7u)
CONTRACT_CONST(RED_LOG_SUM, 8u)
CONTRACT_CONST(RED_LOG_SUM_EXP, 9u)
CONTRACT_CONST(RED_ARGMAX, 10u)
CONTRACT_CONST(RED_ARGMIN, 11u)

#define RED_MAX_RANK 6

// x: a view of RED_MAX_RANK dimensions (outermost first, leading ones of size 1) whose last
// `axes` are reduced; y: contiguous, one element per combination of the others.
#define REDUCE_PARAMS                                                        \
  CONTRACT_UINT outputs, count;        /* y's elements; elements reduced into each */ \
  CONTRACT_UINT off_x, off_y, axes, select_last;                             \
  CONTRACT_UINT size[RED_MAX_RANK];                                          \
  CONTRACT_UINT stride[RED_MAX_RANK];  /* int bits */

#ifdef __cplusplus
struct ReduceParams {
  REDUCE_PARAMS
};
CONTRACT_PUSH_CHECK(ReduceParams)
#endif

CONTRACT_END

#endif
