#pragma once
// Which storages were written or read since the last barrier of a recording. A step that
// reads what was written (RAW), or writes what was read or written (WAR, WAW), needs a
// barrier first; reads after reads do not.
#include <map>
#include <vector>

#include "dispatch.h"

namespace vkfuse::detail {

class HazardTracker {
 public:
  bool needs_barrier(const std::vector<Binding>& uses) const {
    for (const auto& u : uses) {
      auto it = state_.find(u.storage.get());
      if (it == state_.end()) continue;
      if (it->second.written || (u.write && it->second.read)) return true;
    }
    return false;
  }
  void mark(const std::vector<Binding>& uses) {
    for (const auto& u : uses) {
      auto& s = state_[u.storage.get()];
      (u.write ? s.written : s.read) = true;
    }
  }
  void clear() { state_.clear(); }

 private:
  struct State {
    bool written = false, read = false;
  };
  std::map<const Storage*, State> state_;
};

}  // namespace vkfuse::detail
