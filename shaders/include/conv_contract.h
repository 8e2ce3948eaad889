// shaders/conv.comp <-> engine/ops/conv.cpp.
#ifndef VKFUSE_CONV_CONTRACT_H
#define VKFUSE_CONV_CONTRACT_H
#include "activation_contract.h"
CONTRACT_BEGIN

// flags: the epilogue, as matmul's (matmul_contract.h)
CONTRACT_CONST(CONV_BIAS, 1u)          // + bias[oc]
CONTRACT_CONST(CONV_ACT_SHIFT, 1u)     // bits 1-4: the activation code (ACT_*)
CONTRACT_CONST(CONV_ACT_MASK, 15u)
CONTRACT_CONST(CONV_ACCUMULATE, 32u)   // add to y: a later slice of a K split
CONTRACT_CONST(CONV_RESIDUAL, 64u)     // + residual after the activation

// Spatial axes are three, outermost first (depth, height, width); a 1-D or 2-D convolution has
// leading axes of size 1. pad: the begin padding (the end's shows only in the output size).
#define CONV_PARAMS                                                            \
  CONTRACT_UINT ocg, cg, groups;           /* output and input channels a group */ \
  CONTRACT_UINT off_x, off_w, off_y, off_bias, off_res;                        \
  CONTRACT_UINT flags;                                                         \
  CONTRACT_FLOAT act_a, act_b;                                                 \
  CONTRACT_UINT k0, k_count;               /* this dispatch's slice of K */    \
  CONTRACT_UINT in_size[3], out_size[3], kernel[3], stride[3], dilation[3], pad[3];

#ifdef __cplusplus
struct ConvParams {
  CONV_PARAMS
};
CONTRACT_PUSH_CHECK(ConvParams)
#endif

CONTRACT_END

#endif
