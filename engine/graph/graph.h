#pragma once
// The graph layer's program: values, nodes in a topological order, constants, and the
// declared inputs and outputs. Made from an ONNX file (graph/onnx_import.cpp) with every
// node's op checked against the op table (graph/op_table.h) at the graph's opset, constant
// subgraphs folded once; specialised per input shape (graph/plan.h), then run on the CPU
// references (models/graph_arch.cpp, the --cpu path) or lowered onto the device (graph/lower.cpp).
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/host_array.h"
#include "io/onnx_file.h"
#include "vkfuse/error.hpp"

namespace vkfuse::detail::graph {

struct OpDef;
using ValueId = int32_t;
constexpr ValueId kNone = -1;  // an optional input or output left out

// A node's attributes by name, typed as the file gave them (checked against the op's schema
// at import, so the getters' types hold); a getter of an attribute that is absent gives the
// schema's default, which the caller passes.
class Attrs {
 public:
  Attrs() = default;
  explicit Attrs(std::vector<onnx::Attribute> a) : a_(std::move(a)) {}
  bool has(const std::string& name) const { return find(name) != nullptr; }
  const onnx::Attribute* find(const std::string& name) const;
  int64_t i(const std::string& name, int64_t dflt) const;
  float f(const std::string& name, float dflt) const;
  std::string s(const std::string& name, const std::string& dflt) const;
  std::vector<int64_t> ints(const std::string& name, std::vector<int64_t> dflt = {}) const;
  std::vector<float> floats(const std::string& name, std::vector<float> dflt = {}) const;
  const HostArray* tensor(const std::string& name) const;
  const std::vector<onnx::Attribute>& all() const { return a_; }
  // Sets or replaces one (the optimization passes write attributes of the nodes they make).
  void set_int(const std::string& name, int64_t v);
  void set_float(const std::string& name, float v);
  void set_ints(const std::string& name, std::vector<int64_t> v);
  void set_string(const std::string& name, std::string v);

 private:
  std::vector<onnx::Attribute> a_;
};

struct Node {
  std::string name;     // the file's node name, or "<op_type>_<index>" where it has none
  std::string op_type;  // as in the file
  const OpDef* op = nullptr;
  std::vector<ValueId> inputs, outputs;  // kNone for an optional one left out
  Attrs attrs;
  int index = 0;  // in the file's node list
};

// A declared dimension: a size, or a symbol bound by the inputs of a run ("batch"); an
// unnamed unknown dimension gets a symbol of its own ("?3").
struct DeclDim {
  int64_t value = -1;
  std::string symbol;
};

struct Decl {
  ValueId id = kNone;
  std::string name;
  Elem type = Elem::Undefined;
  bool has_shape = false;
  std::vector<DeclDim> dims;
};

struct Graph {
  std::string label;  // the file, for messages
  // Distinguishes graphs that share one device's uploads (an arch builds one graph per set of
  // input shapes, numbering nodes alike): part of the keys of what a node's lowering uploads.
  std::string key;
  int64_t opset = 0;  // of the default domain
  std::string producer;
  std::vector<std::string> names;  // ValueId -> name
  std::vector<Node> nodes;         // topological order
  std::map<ValueId, std::shared_ptr<const HostArray>> constants;  // initializers and folded values
  std::vector<Decl> inputs;   // the graph inputs that are not initializers
  std::vector<Decl> outputs;
  std::map<std::string, int> op_counts;  // of the file, before folding (vkfuse info)
  size_t folded_at_load = 0;

  const std::string& name(ValueId v) const { return names[size_t(v)]; }
  // "graph.onnx: node 'conv1' (Conv)": where a message about a node points.
  std::string where(const Node& n) const { return label + ": node '" + n.name + "' (" + n.op_type + ")"; }
  const HostArray* constant(ValueId v) const {
    auto it = constants.find(v);
    return it == constants.end() ? nullptr : it->second.get();
  }
};

// The graph of an ONNX model read by onnx/onnx_file.h: names resolved to values, the nodes
// sorted (a cycle or a value without a producer is an error naming it), every op and
// attribute checked at the opset, constants folded.
std::shared_ptr<const Graph> import_onnx(onnx::Model model, const std::string& label);

}  // namespace vkfuse::detail::graph
