// shaders/fma_peak.comp <-> engine/ops/fma_peak.cpp.
#ifndef VKFUSE_FMA_PEAK_CONTRACT_H
#define VKFUSE_FMA_PEAK_CONTRACT_H
#include "contract.h"
CONTRACT_BEGIN

// Each invocation runs FMA_PEAK_CHAINS independent vec4 chains x <- x·a + b, unrolled
// FMA_PEAK_UNROLL times per loop step: 2·4·CHAINS·UNROLL flops per step and invocation.
CONTRACT_CONST(FMA_PEAK_CHAINS, 2u)
CONTRACT_CONST(FMA_PEAK_UNROLL, 8u)

#define FMA_PEAK_PARAMS                                      \
  CONTRACT_UINT n;           /* invocations = outputs */     \
  CONTRACT_UINT steps;       /* loop steps per invocation */ \
  CONTRACT_FLOAT a, b;       /* the chains' multiplier and addend */

#ifdef __cplusplus
struct FmaPeakParams {
  FMA_PEAK_PARAMS
};
CONTRACT_PUSH_CHECK(FmaPeakParams)
#endif

CONTRACT_END

#endif
