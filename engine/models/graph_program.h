#pragma once
// What runs a model's graph, whichever arch made it (an ONNX file's, or an arch's builder):
// the graphs an arch builds, one per set of input shapes; the program that records a graph's
// plan into a session's sequence; and the CPU reference, the same plan's nodes run on the
// op table's references.
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "graph/builder.h"
#include "graph/lower.h"
#include "models/arch.h"

namespace vkfuse::detail {

// The graphs an arch built, by the signature of the prepared inputs they were built for (at
// most 16 kept: the shapes a session varies through).
class GraphCache {
 public:
  using BuildFn = std::function<void(graph::GraphBuilder&)>;
  ArchGraph get(const std::string& label, const Prepared& p, const graph::WeightFn& weights, const BuildFn& build) const;

 private:
  mutable std::mutex mu_;
  mutable std::map<std::string, ArchGraph> graphs_;
};

// The graph input of a prepared input (its dtype and shape), for a builder.
graph::ValueId graph_input(graph::GraphBuilder& b, const Prepared& p, const std::string& name);

// A prepared input as the graph value of type `type` (floats, or integers widened to int64).
HostArray host_array(Elem type, const DeviceInput& x);

// Records an ArchGraph for a session; constants and weight matrices are uploaded once (by
// value name) and kept across recordings.
class GraphProgram {
 public:
  explicit GraphProgram(DType weight_dtype) { constants_.weight_dtype = weight_dtype; }
  void record(Sequence& s, const ArchGraph& g, const DeviceTensors& in, const DeviceTensors& out);
  void run() { rec_->run(*graph_->graph); }
  Sequence& output_sequence() { return rec_->last(); }
  size_t dispatch_count() const { return rec_ ? rec_->dispatches() : 0; }
  std::vector<DispatchTiming> timings() const { return rec_ ? rec_->timings() : std::vector<DispatchTiming>{}; }
  uint64_t weight_bytes() const;

 private:
  graph::DeviceConstants constants_;
  std::unique_ptr<ArchGraph> graph_;
  std::unique_ptr<graph::Recording> rec_;
};

// The CPU reference: every node of g's plan on its reference, each value dropped after its
// last reader; `out` holds every output of p, sized (those the graph does not make are empty).
void run_graph_cpu(const ArchGraph& g, const Prepared& p, HostTensors& out);

}  // namespace vkfuse::detail

namespace vkfuse::detail {
template <class Config>
ArchGraph GraphArchOf<Config>::graph(const Prepared& p, const graph::WeightFn& weights) const {
  return graphs_->get(std::string("arch ") + name_, p, weights, [&](graph::GraphBuilder& b) { build(b, p); });
}
}  // namespace vkfuse::detail
