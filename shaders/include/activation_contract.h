// Activation codes of the matmul epilogue and the elementwise kernel; ops::Activation's
// values (static_assert in engine/ops/matmul.cpp).
#ifndef VKFUSE_ACTIVATION_CONTRACT_H
#define VKFUSE_ACTIVATION_CONTRACT_H
#include "contract.h"
CONTRACT_BEGIN

CONTRACT_CONST(ACT_NONE, 0u)
CONTRACT_CONST(ACT_RELU, 1u)
CONTRACT_CONST(ACT_GELU, 2u)        // exact (erf)
CONTRACT_CONST(ACT_QUICK_GELU, 3u)  // x·sigmoid(1.702x) (OpenAI CLIP)
CONTRACT_CONST(ACT_GELU_TANH, 4u)   // the tanh form (Hugging Face's gelu_new)
CONTRACT_CONST(ACT_TANH, 5u)

CONTRACT_END

#endif
