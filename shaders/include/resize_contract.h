// shaders/resize.comp <-> engine/ops/resize.cpp.
#ifndef VKFUSE_RESIZE_CONTRACT_H
#define VKFUSE_RESIZE_CONTRACT_H
#include "contract.h"
CONTRACT_BEGIN

#define RESIZE_MAX_RANK 6

// The tap table (a float buffer): per axis d, from tab[d], for each output index out_size[d]
// groups of taps[d] (input index, weight) pairs, made on the host (ref::resize_taps).
#define RESIZE_PARAMS                                                       \
  CONTRACT_UINT n, off_x, off_y;                                            \
  CONTRACT_UINT in_size[RESIZE_MAX_RANK], out_size[RESIZE_MAX_RANK];        \
  CONTRACT_UINT taps[RESIZE_MAX_RANK], tab[RESIZE_MAX_RANK];

#ifdef __cplusplus
struct ResizeParams {
  RESIZE_PARAMS
};
CONTRACT_PUSH_CHECK(ResizeParams)
#endif

CONTRACT_END

#endif
