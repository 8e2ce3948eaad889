// The memory plan of a recording: intermediates shared by lifetime (workspace.h).
#include "workspace.h"

#include <algorithm>

#include "dispatch.h"
#include "vkfuse/error.hpp"

namespace vkfuse::detail {

Tensor Workspace::take(Context& ctx, const Shape& shape) {
  const uint64_t bytes = uint64_t(shape_numel(shape)) * sizeof(float);
  unshared_ += bytes;
  Slot* best = nullptr;
  for (Slot& s : slots_)
    if (s.free && s.base.storage()->bytes >= bytes && (!best || s.base.storage()->bytes < best->base.storage()->bytes))
      best = &s;
  if (!best) {
    slots_.push_back({ctx.tensor({std::max<int64_t>(shape_numel(shape), 1)}), true});
    best = &slots_.back();
    planned_ += best->base.storage()->bytes;
  }
  best->free = false;
  return best->base.view(shape, contiguous_strides(shape), 0);
}

void Workspace::give_back(const Storage* storage) {
  for (Slot& s : slots_)
    if (s.base.storage().get() == storage) {
      if (s.free) throw Error("workspace: an intermediate was given back twice");
      s.free = true;
      return;
    }
  throw Error("workspace: given back a tensor it did not hand out");
}

Scratch::~Scratch() {
  for (const Storage* s : taken_) {
    try {
      workspace_of(seq_).give_back(s);
    } catch (const Error&) {
      // Only a scope given back by hand twice gets here; the recording is already wrong.
    }
  }
}

Tensor Scratch::operator()(const Shape& shape) {
  Tensor t = workspace_of(seq_).take(seq_.context(), shape);
  taken_.push_back(t.storage().get());
  return t;
}

void Scratch::give_back(const Tensor& t) {
  auto it = std::find(taken_.begin(), taken_.end(), t.storage().get());
  if (it == taken_.end()) throw Error("workspace: given back a tensor this scope did not take");
  taken_.erase(it);
  workspace_of(seq_).give_back(t.storage().get());
}

}  // namespace vkfuse::detail
