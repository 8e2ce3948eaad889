#pragma once
// What an op hands to a Sequence: one dispatch with its pipeline, buffers and constants.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

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
};

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

ContextImpl& context_of(Sequence& s);
// Appends a dispatch; checks its group counts against the device's limits.
void add_dispatch(Sequence& s, Dispatch d);
// A 1-D count of workgroups laid out as x*y within the device's per-axis limit; shaders
// recover the index with linear_group() (shaders/include/common.glsl).
void split_groups(const ContextImpl& c, uint64_t groups, uint32_t out[3]);

}  // namespace vkfuse::detail
