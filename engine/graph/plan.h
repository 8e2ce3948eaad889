#pragma once
// A graph specialised for one set of input shapes: every value's type and shape inferred
// through the graph, and every value the host can compute ahead of the run (shape arithmetic
// of Shape, Gather, Concat, ...; anything whose inputs are all known) folded, so what is left
// is the work of a run. The session records one plan per input shape, as it records a model.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "graph/op_table.h"

namespace vkfuse::detail::graph {

struct Plan {
  std::vector<TypeShape> info;                          // per value
  std::vector<std::shared_ptr<const HostArray>> known;  // per value: its host value, or null
  std::vector<const Node*> nodes;                       // left to run, in order
  std::map<std::string, TypeShape> outputs;             // the graph's outputs by name
};

// Bounds on what the host holds while it specialises or runs a graph, so that a file cannot
// make it allocate by declaration: a value's bytes, and all values folded ahead of a run.
struct HostLimits {
  uint64_t value_bytes = uint64_t(4) << 30;
  uint64_t folded_bytes = uint64_t(1) << 30;
  uint64_t fold_value_elements = uint64_t(1) << 24;
};

// The plan for the inputs' types and shapes (by the graph input's name). An Error names the
// node, its op and what did not fit: shapes that do not agree, a value over the limits, a
// shape that depends on data computed on the device.
// `values` holds the inputs read when the run is recorded (those that set a shape), by name.
std::shared_ptr<const Plan> make_plan(const Graph& g, const std::map<std::string, TypeShape>& inputs,
                                      const HostLimits& limits = {},
                                      const std::map<std::string, std::shared_ptr<const HostArray>>& values = {});

// Folds the nodes whose inputs are all constants into constants, once, at load (within the
// limits' fold sizes); the others stay.
void fold_constants(Graph& g, const HostLimits& limits = {});

// Runs one node's reference: its outputs' types and shapes by the op's rule, then the values.
std::vector<HostArray> evaluate(const Graph& g, const Node& n, const std::vector<const TypeShape*>& in,
                                const std::vector<const HostArray*>& values);

// Bytes a value of this type and shape takes on the host (floats and int64s), checked for
// overflow (UINT64_MAX past it).
uint64_t host_bytes(const TypeShape& t);

}  // namespace vkfuse::detail::graph
