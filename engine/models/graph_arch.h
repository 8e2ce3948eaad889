#pragma once
// An ONNX graph as an arch (models/arch.h): the inputs checked against the graph's declared
// inputs (dtype, rank, fixed sizes, symbolic sizes bound consistently), a plan per input
// shape (graph/plan.h), the program that records it (graph/lower.h) and the CPU run of the
// same plan on the ops' references. Model::load makes one for a file that reads as ONNX.
#include <memory>
#include <string>

#include "graph/graph.h"
#include "models/arch.h"

namespace vkfuse::detail {

std::unique_ptr<Arch> graph_arch(std::shared_ptr<const graph::Graph> g);
// The graph behind a model loaded from ONNX (null for the other archs): for vkfuse info.
const graph::Graph* graph_of(const Arch& arch);
// Model::graph_summary's text.
std::string describe_graph(const graph::Graph& g);

}  // namespace vkfuse::detail
