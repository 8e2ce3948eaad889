// Shared by every vkfuse kernel.
#ifndef VKFUSE_COMMON_GLSL
#define VKFUSE_COMMON_GLSL

#define NEG_INF uintBitsToFloat(0xff800000u)

// lavapipe silently ends any loop after 65,535 iterations. FOR_RANGE walks
// begin, begin+step, ... < end as two nested loops of at most 32,768 iterations each, so
// neither can reach that limit for any range that fits a storage buffer (< 2^32 elements).
#define FOR_RANGE(i, begin, end, step)                                              \
  for (uint i##_chunk = (begin); i##_chunk < (end); i##_chunk += (step) * 32768u)   \
    for (uint i = i##_chunk, i##_stop = min(i##_chunk + (step) * 32768u, (end));    \
         i < i##_stop; i += (step))

// Large 1-D grids are dispatched as x*y workgroups (per-axis limits are often 65,535).
uint linear_group() { return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; }

#endif
