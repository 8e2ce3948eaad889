// shaders/elementwise.comp <-> engine/ops/elementwise.cpp.
#ifndef VKFUSE_ELEMENTWISE_CONTRACT_H
#define VKFUSE_ELEMENTWISE_CONTRACT_H
#include "contract.h"
CONTRACT_BEGIN

// OP, the specialization constant that picks the operation
CONTRACT_CONST(EW_ADD, 0u)      // c[i] = a[i] + b[i % bn]
CONTRACT_CONST(EW_RELU, 1u)     // c[i] = f(a[i]) for these three
CONTRACT_CONST(EW_GELU, 2u)
CONTRACT_CONST(EW_SIGMOID, 5u)
CONTRACT_CONST(EW_COPY, 3u)     // c at dst strides = a at src strides
CONTRACT_CONST(EW_GATHER, 4u)   // c[r·bn + j] = a[ids[r]·bn + j], ids = b's bits
CONTRACT_CONST(EW_ACTIVATE, 6u) // c[i] = activate(a[i], bn): bn holds the ACT_* code

#define EW_MAX_COPY_RANK 6

#define ELEMENTWISE_PARAMS                                                   \
  CONTRACT_UINT n, bn, off_a, off_b, off_c;                                  \
  CONTRACT_UINT size[EW_MAX_COPY_RANK];  /* copy: shape, outermost first */  \
  CONTRACT_UINT sa[EW_MAX_COPY_RANK];    /* copy: source strides */          \
  CONTRACT_UINT sc[EW_MAX_COPY_RANK];    /* copy: destination strides */

#ifdef __cplusplus
struct ElementwiseParams {
  ELEMENTWISE_PARAMS
};
CONTRACT_PUSH_CHECK(ElementwiseParams)
#endif

CONTRACT_END

#endif
