// Activation codes of the matmul epilogue and the elementwise kernel; ops::Activation's
// values (static_assert in engine/ops/matmul.cpp).
#ifndef VKFUSE_ACTIVATION_CONTRACT_H
#define VKFUSE_ACTIVATION_CONTRACT_H
#include "contract.h"
CONTRACT_BEGIN

CONTRACT_CONST(ACT_NONE, 0u)
CONTRACT_CONST(ACT_RELU, 1u)
CONTRACT_CONST(ACT_GELU, 2u)

CONTRACT_END

#endif
