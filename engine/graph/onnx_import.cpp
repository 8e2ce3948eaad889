// An ONNX model's graph as the graph layer's program: names resolved, every node's op and
// attributes checked against the op table at the model's opset, the nodes sorted (a cycle is
// an error), constants folded once.
#include <algorithm>
#include <functional>
#include <queue>
#include <set>

#include "graph/op_table.h"
#include "graph/plan.h"
#include "io/message_text.h"

namespace vkfuse::detail::graph {

namespace {

// The opsets of the default domain whose schemas vkfuse's table follows (ONNX 1.12 is 17).
constexpr int64_t kMinOpset = 1, kMaxOpset = 17;

std::string q(const std::string& s) { return quote(clipped(s, 200)); }

}  // namespace

std::shared_ptr<const Graph> import_onnx(onnx::Model m, const std::string& label) {
  auto g = std::make_shared<Graph>();
  g->label = label;
  g->producer = m.producer_name + (m.producer_version.empty() ? "" : " " + m.producer_version);
  auto opset = m.opsets.find("");
  if (opset == m.opsets.end()) throw Error(label + ": the model imports no opset of the default domain (ai.onnx)");
  g->opset = opset->second;
  if (g->opset < kMinOpset || g->opset > kMaxOpset)
    throw Error(label + ": opset " + std::to_string(g->opset) + " of the default domain; vkfuse reads opsets " +
                std::to_string(kMinOpset) + " to " + std::to_string(kMaxOpset));
  if (m.graph.sparse_initializers) throw Error(label + ": the graph has sparse initializers, which vkfuse does not read");

  std::map<std::string, ValueId> ids;
  auto id_of = [&](const std::string& name) {
    auto it = ids.find(name);
    if (it != ids.end()) return it->second;
    const ValueId v = ValueId(g->names.size());
    g->names.push_back(name);
    ids[name] = v;
    return v;
  };

  // Initializers are constants; an initializer listed as a graph input too (IR < 4) stays one.
  std::set<ValueId> defined;
  for (size_t k = 0; k < m.graph.initializers.size(); ++k) {
    const std::string& name = m.graph.initializer_names[k];
    const ValueId v = id_of(name);
    if (g->constants.count(v)) throw Error(label + ": initializer " + q(name) + " appears twice");
    g->constants[v] = std::make_shared<const HostArray>(std::move(m.graph.initializers[k]));
    defined.insert(v);
  }
  auto decl_of = [&](const onnx::ValueInfo& vi, const char* what, size_t index) {
    const std::string where = label + ": graph " + what + " " + std::to_string(index) + " " + q(vi.name);
    if (vi.name.empty()) throw Error(label + ": graph " + what + " " + std::to_string(index) + " has no name");
    Decl d;
    d.name = vi.name;
    d.id = id_of(vi.name);
    if (!vi.tensor) throw Error(where + " is not a tensor (a sequence, map or optional), which vkfuse does not run");
    d.type = vi.type;
    if (!elem_supported(d.type))
      throw Error(where + " has type " + elem_name(d.type) + ", which vkfuse does not compute with");
    d.has_shape = vi.has_shape;
    for (size_t k = 0; k < vi.dims.size(); ++k) {
      DeclDim dim;
      dim.value = vi.dims[k].value;
      dim.symbol = vi.dims[k].param;
      if (dim.value < 0 && dim.symbol.empty()) dim.symbol = "?" + std::to_string(k);
      d.dims.push_back(dim);
    }
    return d;
  };
  for (size_t k = 0; k < m.graph.inputs.size(); ++k) {
    Decl d = decl_of(m.graph.inputs[k], "input", k);
    if (g->constants.count(d.id)) continue;
    if (defined.count(d.id)) throw Error(label + ": graph input " + q(d.name) + " appears twice");
    defined.insert(d.id);
    g->inputs.push_back(std::move(d));
  }

  // Nodes: ops and attributes checked at the opset, inputs and outputs resolved.
  std::vector<Node> nodes;
  std::map<ValueId, size_t> producer;
  for (size_t k = 0; k < m.graph.nodes.size(); ++k) {
    onnx::Node& src = m.graph.nodes[k];
    Node n;
    n.index = int(k);
    n.op_type = src.op_type;
    n.name = src.name.empty() ? src.op_type + "_" + std::to_string(k) : src.name;
    const std::string where = label + ": node " + q(n.name) + " (" + clipped(escaped(n.op_type, false), 64) + ")";
    if (!src.domain.empty() && src.domain != "ai.onnx")
      throw Error(where + ": domain " + q(src.domain) + " is not one vkfuse implements (only the default, ai.onnx)");
    n.op = find_op(src.op_type);
    if (!n.op)
      throw Error(where + ": op " + q(src.op_type) + " is not one vkfuse implements (opset " +
                  std::to_string(g->opset) + ")");
    if (g->opset < n.op->since)
      throw Error(where + ": vkfuse implements " + n.op_type + " from opset " + std::to_string(n.op->since) +
                  "; the model's opset is " + std::to_string(g->opset));
    if (int(src.inputs.size()) < n.op->min_in || int(src.inputs.size()) > n.op->max_in)
      throw Error(where + ": " + std::to_string(src.inputs.size()) + " inputs; the op takes " +
                  std::to_string(n.op->min_in) + " to " + std::to_string(n.op->max_in));
    if (int(src.outputs.size()) < n.op->min_out || int(src.outputs.size()) > n.op->max_out)
      throw Error(where + ": " + std::to_string(src.outputs.size()) + " outputs; the op has " +
                  std::to_string(n.op->min_out) + " to " + std::to_string(n.op->max_out));
    std::set<std::string> seen;
    for (const auto& a : src.attributes) {
      if (!seen.insert(a.name).second) throw Error(where + ": attribute " + q(a.name) + " appears twice");
      const AttrSpec* spec = nullptr;
      for (const auto& s : n.op->attrs)
        if (a.name == s.name && g->opset >= s.since && g->opset <= s.until) spec = &s;
      if (!spec)
        throw Error(where + ": attribute " + q(a.name) + " is not one the schema of " + n.op_type + " at opset " +
                    std::to_string(g->opset) + " defines (or vkfuse does not implement it)");
      if (a.type != spec->type)
        throw Error(where + ": attribute " + q(a.name) + " is " + onnx::attr_type_name(a.type) + "; " + n.op_type +
                    " at opset " + std::to_string(g->opset) + " takes " + onnx::attr_type_name(spec->type));
    }
    n.attrs = Attrs(std::move(src.attributes));
    for (const auto& name : src.inputs) n.inputs.push_back(name.empty() ? kNone : id_of(name));
    for (const auto& name : src.outputs) {
      if (name.empty()) {
        n.outputs.push_back(kNone);
        continue;
      }
      const ValueId v = id_of(name);
      if (defined.count(v) || producer.count(v))
        throw Error(where + ": output " + q(name) + " is already an input, an initializer or another node's output");
      producer[v] = nodes.size();
      n.outputs.push_back(v);
    }
    nodes.push_back(std::move(n));
  }

  // Topological order (Kahn's): a node runs once every input is defined.
  std::vector<int> waiting(nodes.size(), 0);
  std::vector<std::vector<size_t>> consumers(g->names.size());
  std::priority_queue<size_t, std::vector<size_t>, std::greater<size_t>> ready;  // the lowest file index first
  for (size_t k = 0; k < nodes.size(); ++k) {
    for (ValueId v : nodes[k].inputs) {
      if (v == kNone || defined.count(v)) continue;
      if (!producer.count(v))
        throw Error(g->where(nodes[k]) + ": input " + q(g->name(v)) +
                    " is no graph input, initializer or node output");
      consumers[size_t(v)].push_back(k);
      ++waiting[k];
    }
    if (waiting[k] == 0) ready.push(k);
  }
  std::vector<size_t> order;
  while (!ready.empty()) {
    // The file's order where it is already topological.
    const size_t k = ready.top();
    ready.pop();
    order.push_back(k);
    for (ValueId v : nodes[k].outputs) {
      if (v == kNone) continue;
      for (size_t c : consumers[size_t(v)])
        if (--waiting[c] == 0) ready.push(c);
    }
  }
  if (order.size() != nodes.size()) {
    for (size_t k = 0; k < nodes.size(); ++k)
      if (waiting[k] > 0) throw Error(g->where(nodes[k]) + ": the graph has a cycle through this node");
  }
  for (size_t k : order) {
    ++g->op_counts[nodes[k].op_type];
    g->nodes.push_back(std::move(nodes[k]));
  }

  for (size_t k = 0; k < m.graph.outputs.size(); ++k) {
    Decl d = decl_of(m.graph.outputs[k], "output", k);
    if (!defined.count(d.id) && !producer.count(d.id))
      throw Error(label + ": graph output " + q(d.name) + " is no node's output, input or initializer");
    for (const Decl& o : g->outputs)
      if (o.id == d.id) throw Error(label + ": graph output " + q(d.name) + " appears twice");
    g->outputs.push_back(std::move(d));
  }
  if (g->outputs.empty()) throw Error(label + ": the graph has no outputs");
  const size_t before = g->nodes.size();
  fold_constants(*g);
  g->folded_at_load = before - g->nodes.size();
  return g;
}

}  // namespace vkfuse::detail::graph
