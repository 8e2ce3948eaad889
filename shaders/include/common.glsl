// Shared by every vkfuse kernel.
#ifndef VKFUSE_COMMON_GLSL
#define VKFUSE_COMMON_GLSL

#define NEG_INF uintBitsToFloat(0xff800000u)

// max() that keeps a NaN: GLSL leaves max(x, NaN) undefined (drivers return either operand),
// and a row whose max dropped its NaN would be taken for a fully masked row (zeros) where
// PyTorch gives NaN. a + b is NaN when either is.
float max_nan(float a, float b) { return isnan(a) || isnan(b) ? a + b : max(a, b); }

// lavapipe ends an invocation's loops once it has taken 65,535 loop back-edges in total,
// counted over every loop of the shader (one limiter per function in gallivm). No loop
// structure escapes that, so the host bounds the work per invocation instead: see
// engine/ops/loop_budget.h (long K is split over dispatches, long rows get more
// invocations per row).

// Large 1-D grids are dispatched as x*y workgroups (per-axis limits are often 65,535).
uint linear_group() { return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; }

#endif
