// Reductions over the TPR consecutive invocations that share one row (row kernels).
// Needs: local_size_x from constant_id 0, `TPR` (constant_id 1) a power of two dividing it.
// fp32 throughout: sums of squares in fp16 overflow and lose the variance.
#ifndef VKFUSE_REDUCE_GLSL
#define VKFUSE_REDUCE_GLSL

#ifdef USE_SUBGROUP
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

shared float red_shm[gl_WorkGroupSize.x];

// Tree reduction in shared memory: log2(TPR) steps, a barrier each. Every invocation of the
// workgroup calls it (the barriers need uniform control flow) and gets its row's result.
#define DEFINE_ROW_REDUCE(NAME, OP, SUBGROUP_OP)                                  \
  float NAME(float v) {                                                           \
    if (TPR == 1u) return v;                                                      \
    uint lid = gl_LocalInvocationID.x;                                            \
    uint t = lid % TPR;                                                           \
    ROW_REDUCE_SUBGROUP(SUBGROUP_OP)                                              \
    red_shm[lid] = v;                                                             \
    barrier();                                                                    \
    for (uint s = TPR / 2u; s > 0u; s >>= 1u) {                                   \
      if (t < s) red_shm[lid] = OP(red_shm[lid], red_shm[lid + s]);               \
      barrier();                                                                  \
    }                                                                             \
    float r = red_shm[lid - t];                                                   \
    barrier();                                                                    \
    return r;                                                                     \
  }

#ifdef USE_SUBGROUP
// One row per workgroup: reduce inside each subgroup, then across the subgroups' partials.
// Makes no assumption on how invocations map to subgroups, nor on the subgroup size.
#define ROW_REDUCE_SUBGROUP(SUBGROUP_OP)                                          \
  if (TPR == gl_WorkGroupSize.x) {                                                \
    float sv = SUBGROUP_OP(v);                                                    \
    if (subgroupElect()) red_shm[gl_SubgroupID] = sv;                             \
    barrier();                                                                    \
    float r = red_shm[0];                                                         \
    for (uint i = 1u; i < gl_NumSubgroups; ++i) r = SUBGROUP_OP##_pair(r, red_shm[i]); \
    barrier();                                                                    \
    return r;                                                                     \
  }
#define subgroupAdd_pair(a, b) ((a) + (b))
#define subgroupMax_pair(a, b) max_nan((a), (b))
#else
#define ROW_REDUCE_SUBGROUP(SUBGROUP_OP)
#endif

#define REDUCE_ADD(a, b) ((a) + (b))
DEFINE_ROW_REDUCE(row_sum, REDUCE_ADD, subgroupAdd)
DEFINE_ROW_REDUCE(row_max, max_nan, subgroupMax)

#endif
