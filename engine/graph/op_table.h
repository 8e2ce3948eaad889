#pragma once
// The op table: one entry per op (graph/op_table.cpp lists them, graph/ops/*.cpp define them
// by family), each with its schema (the opsets it is read at, its inputs, outputs and
// attributes), its shape rule, its CPU reference and its lowering onto the device kernels.
// Nothing outside the table names an op: import, folding, the CPU run and the lowering look
// entries up and call them.
#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "vkfuse/ops.hpp"

namespace vkfuse::detail::graph {

struct TypeShape {
  Elem type = Elem::Undefined;
  Shape shape;
  bool defined() const { return type != Elem::Undefined; }
};

// What an op's rules see of one node: its attributes, its inputs' types and shapes, and their
// values where the host knows them (constants, and what was folded for this input shape).
class NodeCtx {
 public:
  NodeCtx(const Graph& g, const Node& n, std::vector<const TypeShape*> in, std::vector<const HostArray*> values)
      : graph(g), node(n), in_(std::move(in)), values_(std::move(values)) {}
  const Graph& graph;
  const Node& node;

  int64_t opset() const { return graph.opset; }
  const Attrs& attrs() const { return node.attrs; }
  size_t inputs() const { return in_.size(); }
  bool has(size_t k) const { return k < in_.size() && in_[k] != nullptr; }
  const TypeShape& in(size_t k) const;           // an Error naming the input when it is absent
  const Shape& shape(size_t k) const { return in(k).shape; }
  int64_t rank(size_t k) const { return int64_t(in(k).shape.size()); }
  const HostArray* value(size_t k) const { return k < values_.size() ? values_[k] : nullptr; }
  // Input k's value, which the op needs on the host (a shape, axes, pads, scales): an Error
  // when it is computed on the device (a data-dependent shape), naming `what`.
  const HostArray& need(size_t k, const char* what) const;
  std::vector<int64_t> ints(size_t k, const char* what) const;   // need(k) as integers
  std::vector<double> reals(size_t k, const char* what) const;   // need(k) as doubles
  // An axis attribute or value in [-rank, rank) made non-negative; an Error naming `what`.
  int64_t axis(int64_t a, int64_t rank, const char* what) const;
  [[noreturn]] void fail(const std::string& what) const;

 private:
  std::vector<const TypeShape*> in_;
  std::vector<const HostArray*> values_;
};

struct Step;
class Lowering;

// Output types and shapes from the inputs' (and their host values where the op needs them).
using InferFn = void (*)(const NodeCtx&, std::vector<TypeShape>& out);
// The outputs from the inputs on the host, in double (int64 for integers); `in[k]` is null for
// an absent input (and for every input of a kShapeOnly op, which reads ctx's shapes).
using RefFn = void (*)(const NodeCtx&, const std::vector<const HostArray*>& in, std::vector<HostArray>& out);
// Records the step onto the device; null: the op runs on the host, in a segment of its own.
using LowerFn = void (*)(Lowering&, const Step&);

// The activation this node is, with its parameters, where a matmul or conv epilogue can apply
// it (Relu, Clip with constant bounds, HardSwish...); false where it cannot.
using ActivationFn = bool (*)(const NodeCtx&, ops::Activation& act, float& a, float& b);
// Whether this node must run on the host although the op has a kernel (an output the kernel
// does not make, such as MaxPool's indices).
using HostFn = bool (*)(const NodeCtx&, const std::vector<bool>& outputs_used);

struct AttrSpec {
  const char* name;
  onnx::AttrType type;
  int since = 1, until = 1 << 30;  // the opsets whose schema defines it
};

enum OpFlags : uint32_t {
  kShapeOnly = 1,  // the outputs follow from the inputs' shapes alone (Shape, Size): always folded
  kNoFold = 2,     // never evaluated ahead of a run (none today; random ops would be)
};

struct OpDef {
  const char* name;
  int since;             // the first opset whose form of the op vkfuse implements
  int min_in, max_in;    // inputs, optional ones included
  int min_out, max_out;
  std::vector<AttrSpec> attrs;
  InferFn infer;
  RefFn ref;
  LowerFn lower;
  uint32_t flags = 0;
  ActivationFn activation = nullptr;
  HostFn needs_host = nullptr;
  // The inputs whose values the shape rule reads (a Reshape's shape, a Slice's starts): a
  // graph input that reaches one is read when the run is recorded, and a new value of it
  // records again (models/graph_arch.cpp).
  std::vector<int> host_inputs = {};
};

// The entry of an ONNX op (default domain), or null.
const OpDef* find_op(const std::string& name);
// The same, and the vkfuse ops: "vkfuse.<Name>" entries that the passes and the archs' graph
// builders (graph/builder.h) make and no file may name (an ONNX file naming one is refused
// like any op vkfuse does not implement): vkfuse.Attention (graph/ops/attention_ops.cpp),
// vkfuse.QuickGelu (pointwise_ops.cpp), vkfuse.L2Normalize (norm_ops.cpp).
const OpDef* find_any_op(const std::string& name);
// Every ONNX entry, for `vkfuse info` and the docs' op list.
std::vector<const OpDef*> all_ops();

// vkfuse.Attention: the fused attention step graph/fuse.cpp makes of the attention pattern
// and the archs write, lowered onto ops::attention (graph/ops/attention_ops.cpp says its
// inputs and attributes). fused_attention_fits: whether the kernel takes S keys of head
// dimension D.
const OpDef& fused_attention_op();
bool fused_attention_fits(int64_t keys, int64_t head_dim);

// Families of entries (graph/ops/<family>.cpp), gathered by op_table.cpp.
std::vector<OpDef> pointwise_ops();
std::vector<OpDef> conv_ops();
std::vector<OpDef> matmul_ops();
std::vector<OpDef> norm_ops();
std::vector<OpDef> reduce_ops();
std::vector<OpDef> shape_ops();
std::vector<OpDef> movement_ops();
std::vector<OpDef> resize_ops();
std::vector<OpDef> other_ops();
std::vector<OpDef> attention_ops();

// Shared by the families: the host array of a rule's output, typed.
HostArray make_array(Elem type, Shape shape);
HostArray wrap_array(Elem type, ref::Array a);

}  // namespace vkfuse::detail::graph
