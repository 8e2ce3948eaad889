// The q, k and v bindings of the attention kernels (0, 1, 2) and LOAD_ROW(dst, which, base),
// which reads D floats from element `base` of q, k or v into the array dst.
// TEXEL_LOADS (lavapipe): RGBA32F storage texel buffers; imageLoad is a vector gather there,
// a storage-buffer load a per-lane loop (~10 cycles per float). The host uses this variant
// only when D and every offset and stride are multiples of 4, so rows start on a texel.
#ifdef TEXEL_LOADS
layout(binding = 0, rgba32f) uniform readonly imageBuffer q_img;
layout(binding = 1, rgba32f) uniform readonly imageBuffer k_img;
layout(binding = 2, rgba32f) uniform readonly imageBuffer v_img;
#define LOAD_ROW(dst, which, base)                                  \
  [[unroll]] for (uint d4 = 0u; d4 < D / 4u; ++d4) {                \
    vec4 t_ = imageLoad(which##_img, int((base) / 4u + d4));        \
    dst[4u * d4] = t_.x;                                            \
    dst[4u * d4 + 1u] = t_.y;                                       \
    dst[4u * d4 + 2u] = t_.z;                                       \
    dst[4u * d4 + 3u] = t_.w;                                       \
  }
#else
layout(std430, binding = 0) readonly buffer BufQ { float q_buf[]; };
layout(std430, binding = 1) readonly buffer BufK { float k_buf[]; };
layout(std430, binding = 2) readonly buffer BufV { float v_buf[]; };  // unused by the weights kernel
#define LOAD_ROW(dst, which, base) \
  [[unroll]] for (uint d_ = 0u; d_ < D; ++d_) dst[d_] = which##_buf[(base) + d_];
#endif
