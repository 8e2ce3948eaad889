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

// The dtype a graph value of type e takes on the host side of a run (inputs and outputs):
// F32 for the floating types, Bool, I64 for the integers.
inline DType host_dtype(Elem e) { return elem_is_float(e) ? DType::F32 : e == Elem::Bool ? DType::Bool : DType::I64; }

}  // namespace vkfuse::detail
