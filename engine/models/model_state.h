#pragma once
// What a loaded Model holds, shared by its copies and the sessions that run it.
#include <any>
#include <memory>
#include <mutex>

#include "models/arch.h"
#include "models/graph_program.h"
#include "vkfuse/model.hpp"

namespace vkfuse {

struct Model::State {
  explicit State(SafetensorsFile f) : file(std::move(f)) {}
  SafetensorsFile file;  // mapped: weights are read from it when first needed
  std::string arch_name, config_json;
  std::unique_ptr<detail::Arch> arch;
  std::any config;
  // Widened to F32 on the first weights() call: loading (and `vkfuse info`) touches only the
  // header, and a session checks every tensor against the device's limits first.
  mutable std::once_flag converted;
  mutable WeightMap weights;
  // The weights as the arch's graphs hold them: each tensor widened to F32 once, when the
  // first graph that reads it is built, and shared by every graph of the model.
  // Values made of them (q, k and v stacked) are kept under their keys, their parts not.
  mutable std::recursive_mutex arrays_mu;
  mutable std::map<std::string, std::shared_ptr<const detail::HostArray>> arrays;
  std::shared_ptr<const detail::HostArray> array(const std::string& name, bool keep = true) const;
  detail::graph::WeightFn weight_fn() const;
};

namespace detail {
// The outputs of p, sized and zeroed, for the CPU reference to fill; then filled.
HostTensors run_cpu(const Model& model, const Prepared& p);
// The arch's graph for p, its weights from the model's file.
ArchGraph graph_of(const Model& model, const Prepared& p);
}  // namespace detail

}  // namespace vkfuse
