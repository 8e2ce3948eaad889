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
// With parameters a and b (ops::MatmulOptions::act_alpha, act_beta), as ONNX defines them:
CONTRACT_CONST(ACT_SIGMOID, 6u)
CONTRACT_CONST(ACT_CLIP, 7u)          // min(max(x, a), b): ReLU6 is a = 0, b = 6
CONTRACT_CONST(ACT_HARD_SIGMOID, 8u)  // max(0, min(1, a·x + b))
CONTRACT_CONST(ACT_HARD_SWISH, 9u)    // x·max(0, min(1, x/6 + 1/2))
CONTRACT_CONST(ACT_LEAKY_RELU, 10u)   // x < 0 ? a·x : x
CONTRACT_CONST(ACT_SILU, 11u)         // x·sigmoid(x)
CONTRACT_CONST(ACT_ELU, 12u)          // x < 0 ? a·(e^x - 1) : x
CONTRACT_CONST(ACT_SOFTPLUS, 13u)     // log(1 + e^x)
CONTRACT_CONST(ACT_SELU, 14u)         // b·(x < 0 ? a·(e^x - 1) : x)
CONTRACT_CONST(ACT_COUNT, 15u)        // codes fit 4 bits

CONTRACT_END

#endif
