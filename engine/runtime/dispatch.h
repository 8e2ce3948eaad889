#pragma once
// What an op hands to a Sequence: one dispatch with its pipeline, buffers and constants.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "op_context.h"
#include "storage.h"
#include "vkfuse/sequence.hpp"

namespace vkfuse::detail {

struct Binding {
  std::shared_ptr<Storage> storage;
  bool write = false;
  // Bound as a storage texel buffer of RGBA32F texels over the whole allocation instead of a
  // storage buffer (read-only, imageLoad). On lavapipe imageLoad is an inlined branch-free
  // vector gather (texelFetch from a uniform texel buffer is the same gather behind a function
  // call, which spills every live vector register around each fetch), while
  // a storage-buffer load is a per-invocation loop.
  bool texels = false;
  // The texel format: RGBA32F for F32 tensors; RGBA16F and RGBA16UI (bfloat16 words, widened
  // in the shader) for 16-bit ones.
  VkFormat texel_format = VK_FORMAT_R32G32B32A32_SFLOAT;
};

// RGBA32F texels for F32 tensors, RGBA16F for F16, RGBA16UI for BF16.
inline VkFormat texel_format(DType t) {
  return t == DType::F16 ? VK_FORMAT_R16G16B16A16_SFLOAT
                         : t == DType::BF16 ? VK_FORMAT_R16G16B16A16_UINT : VK_FORMAT_R32G32B32A32_SFLOAT;
}
inline uint32_t texel_bytes(VkFormat f) { return f == VK_FORMAT_R32G32B32A32_SFLOAT ? 16u : 8u; }

struct Dispatch {
  const Pipeline* pipeline = nullptr;
  std::vector<Binding> bindings;
  std::vector<uint8_t> push;
  uint32_t groups[3] = {1, 1, 1};
  std::string label;
};

template <class P> std::vector<uint8_t> push_bytes(const P& p) {
  std::vector<uint8_t> v(sizeof(P));
  std::memcpy(v.data(), &p, sizeof(P));
  return v;
}

// Appends a dispatch; checks its group counts against the device's limits.
void add_dispatch(Sequence& s, Dispatch d);
// Put before the label of every dispatch added from here on ("" for none): what a graph's
// --profile groups dispatches by.
void set_label_prefix(Sequence& s, std::string prefix);
const SequenceOptions& options_of(Sequence& s);

}  // namespace vkfuse::detail
