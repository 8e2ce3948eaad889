#pragma once
#include <stdexcept>
#include <string>

namespace vkfuse {

// Every failure vkfuse reports: what failed and where, in one line.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace vkfuse
