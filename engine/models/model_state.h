#pragma once
// What a loaded Model holds, shared by its copies and the sessions that run it.
#include <any>
#include <memory>

#include "models/arch.h"
#include "vkfuse/model.hpp"

namespace vkfuse {

struct Model::State {
  std::string path, arch_name, config_json;
  std::map<std::string, std::string> metadata;
  WeightMap weights;
  std::unique_ptr<detail::Arch> arch;
  std::any config;
};

namespace detail {
// The outputs of p, sized and zeroed, for the CPU reference to fill; then filled.
HostTensors run_cpu(const Model::State& m, const Prepared& p);
}  // namespace detail

}  // namespace vkfuse
