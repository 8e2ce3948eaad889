#pragma once
// The memory plan of one recording. Intermediates are taken when the first dispatch that
// writes them is recorded and given back after the last one that reads them; a later
// intermediate reuses a given-back buffer it fits in (the smallest such), so the plan holds
// about the largest set of intermediates alive at once, not all of them. Reuse is safe
// because a buffer keeps its Storage: the sequence's hazard tracking sees the later write
// after the earlier reads and puts a barrier between them.
#include <memory>
#include <vector>

#include "storage.h"
#include "vkfuse/sequence.hpp"
#include "vkfuse/tensor.hpp"

namespace vkfuse::detail {

class Workspace {
 public:
  Tensor take(Context& ctx, const Shape& shape);  // contiguous F32
  void give_back(const Storage* storage);
  uint64_t planned_bytes() const { return planned_; }    // held by the plan
  uint64_t unshared_bytes() const { return unshared_; }  // one buffer per intermediate

 private:
  struct Slot {
    Tensor base;  // [bytes / 4] over the whole storage
    bool free = false;
  };
  std::vector<Slot> slots_;
  uint64_t planned_ = 0, unshared_ = 0;
};

Workspace& workspace_of(Sequence& s);

// Intermediates of one scope of recording, given back when it ends (or earlier, by hand,
// once the last reader is recorded).
class Scratch {
 public:
  explicit Scratch(Sequence& s) : seq_(s) {}
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  Tensor operator()(const Shape& shape);
  void give_back(const Tensor& t);

 private:
  Sequence& seq_;
  std::vector<const Storage*> taken_;
};

}  // namespace vkfuse::detail
