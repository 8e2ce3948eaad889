// An ONNX graph as an arch: input checks, plans per input shape, the recording program and
// the CPU run (graph_arch.h).
#include "models/graph_arch.h"

#include <climits>
#include <cstdio>
#include <mutex>
#include <set>

#include "graph/lower.h"
#include "graph/plan.h"
#include "io/message_text.h"
#include "models/graph_program.h"

namespace vkfuse::detail {

namespace {

using graph::Graph;
using graph::Plan;
using graph::TypeShape;

// The caller's dtype of a graph value.

std::string key_of(const Graph& g, const std::map<std::string, Shape>& shapes) {
  std::string k;
  for (const graph::Decl& d : g.inputs) k += d.name + shape_string(shapes.at(d.name)) + ";";
  return k;
}

class GraphArch : public Arch {
 public:
  explicit GraphArch(std::shared_ptr<const Graph> g) : g_(std::move(g)) {
    // The graph inputs a shape depends on: those that reach an op's host input (a Reshape's
    // shape, a Slice's starts) through any nodes.
    std::vector<graph::ValueId> work;
    for (const graph::Node& n : g_->nodes)
      for (int k : n.op->host_inputs)
        if (size_t(k) < n.inputs.size() && n.inputs[size_t(k)] != graph::kNone) work.push_back(n.inputs[size_t(k)]);
    std::map<graph::ValueId, const graph::Node*> producer;
    for (const graph::Node& n : g_->nodes)
      for (graph::ValueId v : n.outputs)
        if (v != graph::kNone) producer[v] = &n;
    std::set<graph::ValueId> seen;
    while (!work.empty()) {
      const graph::ValueId v = work.back();
      work.pop_back();
      if (!seen.insert(v).second) continue;
      auto it = producer.find(v);
      if (it == producer.end()) continue;
      if (it->second->op->flags & graph::kShapeOnly) continue;  // Shape reads the shape alone
      for (graph::ValueId u : it->second->inputs)
        if (u != graph::kNone) work.push_back(u);
    }
    for (const graph::Decl& d : g_->inputs)
      if (seen.count(d.id)) baked_.insert(d.name);
  }
  const Graph& graph() const { return *g_; }

  TensorList tensors() const override { return {}; }  // the graph holds its weights
  std::any config() const override { return {}; }
  const char* picture_input() const override { return g_->inputs.empty() ? "" : g_->inputs[0].name.c_str(); }

  Prepared prepare(const InputSet& in, bool /*need_weights*/) const override {
    std::vector<std::string> names;
    for (const graph::Decl& d : g_->inputs) names.push_back(d.name);
    only_inputs(in, names, "onnx");
    Prepared p;
    std::map<std::string, Shape> shapes;
    std::map<std::string, TypeShape> types;
    std::map<std::string, std::pair<int64_t, std::string>> bound;  // symbol -> size, where it was bound
    std::map<std::string, std::shared_ptr<const HostArray>> values;
    std::string baked;
    for (const graph::Decl& d : g_->inputs) {
      const TensorBytes& t = in.at(d.name);
      check_shape(in, d, t.shape, bound);
      shapes[d.name] = t.shape;
      types[d.name] = {d.type, t.shape};
      p.inputs[d.name] = device_input(in, d, t);
      if (baked_.count(d.name)) {
        auto a = std::make_shared<HostArray>(host_array(d.type, p.inputs[d.name]));
        baked += d.name + "=" + value_text(*a) + ";";
        values[d.name] = std::move(a);
      }
    }
    const std::shared_ptr<const Plan> plan = plan_for(shapes, types, values, baked);
    p.variant = baked;
    check_indices(in, *plan, p);
    for (const graph::Decl& d : g_->outputs) {
      const TypeShape& o = plan->outputs.at(d.name);
      p.outputs[d.name] = {o.shape, o.shape, host_dtype(o.type)};
    }
    return p;
  }

  ArchGraph graph(const Prepared& p, const graph::WeightFn&) const override {
    std::map<std::string, Shape> shapes;
    for (const graph::Decl& d : g_->inputs) shapes[d.name] = p.inputs.at(d.name).shape;
    return {g_, cached(key_of(*g_, shapes))};
  }

  std::shared_ptr<const Plan> cached(const std::string& key) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = plans_.find(key);
    if (it == plans_.end()) throw Error(g_->label + ": no plan for these input shapes (a bug in vkfuse)");
    return it->second;
  }

 private:
  std::shared_ptr<const Plan> plan_for(const std::map<std::string, Shape>& shapes,
                                       const std::map<std::string, TypeShape>& types,
                                       const std::map<std::string, std::shared_ptr<const HostArray>>& values,
                                       const std::string& baked) const {
    const std::string key = key_of(*g_, shapes);
    {
      // A new value of an input a shape depends on: a new plan (and recording) for it.
      std::lock_guard<std::mutex> lock(mu_);
      auto b = baked_values_.find(key);
      if (b != baked_values_.end() && b->second != baked) plans_.erase(key);
      baked_values_[key] = baked;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = plans_.find(key);
      if (it != plans_.end()) return it->second;
    }
    std::shared_ptr<const Plan> plan = graph::make_plan(*g_, types, {}, values);
    std::lock_guard<std::mutex> lock(mu_);
    if (plans_.size() >= 16) plans_.erase(plans_.begin());  // a bound on what varying shapes keep
    return plans_[key] = plan;
  }

  void check_shape(const InputSet& in, const graph::Decl& d, const Shape& s,
                   std::map<std::string, std::pair<int64_t, std::string>>& bound) const {
    if (!d.has_shape) return;
    std::string want = "[";
    for (size_t k = 0; k < d.dims.size(); ++k)
      want += (k ? "," : "") + (d.dims[k].symbol.empty() ? std::to_string(d.dims[k].value) : d.dims[k].symbol);
    want += "]";
    if (s.size() != d.dims.size())
      throw Error(in.where(d.name) + " has shape " + shape_string(s) + "; the graph declares " + want);
    for (size_t k = 0; k < s.size(); ++k) {
      const graph::DeclDim& dd = d.dims[k];
      if (dd.symbol.empty()) {
        if (dd.value >= 0 && s[k] != dd.value)
          throw Error(in.where(d.name) + " has shape " + shape_string(s) + "; the graph declares " + want + " (axis " +
                      std::to_string(k) + " is " + std::to_string(dd.value) + ")");
        continue;
      }
      auto it = bound.find(dd.symbol);
      if (it == bound.end()) {
        bound[dd.symbol] = {s[k], "input '" + d.name + "' axis " + std::to_string(k)};
      } else if (it->second.first != s[k] && dd.symbol[0] != '?') {
        throw Error(in.where(d.name) + " axis " + std::to_string(k) + " is " + std::to_string(s[k]) + ", but '" +
                    dd.symbol + "' is " + std::to_string(it->second.first) + " from " + it->second.second);
      }
    }
  }

  DeviceInput device_input(const InputSet& in, const graph::Decl& d, const TensorBytes& t) const {
    if (elem_is_float(d.type)) {
      if (t.dtype != DType::F32 && t.dtype != DType::F16 && t.dtype != DType::BF16)
        throw Error(in.where(d.name) + " is " + dtype_name(t.dtype) + "; the graph declares " + elem_name(d.type) +
                    " (give F32, F16 or BF16)");
      return float_input(in, d.name, t.shape);
    }
    std::vector<int64_t> v;
    if (d.type == Elem::Bool) {
      if (t.dtype != DType::Bool && t.dtype != DType::U8)
        throw Error(in.where(d.name) + " is " + dtype_name(t.dtype) + "; the graph declares bool (give BOOL or U8)");
      for (uint8_t b : in.to_mask(d.name)) v.push_back(b != 0);
    } else {
      if (t.dtype != DType::I64 && t.dtype != DType::I32)
        throw Error(in.where(d.name) + " is " + dtype_name(t.dtype) + "; the graph declares " + elem_name(d.type) +
                    " (give I64 or I32)");
      v = in.to_i64(d.name);
    }
    for (size_t k = 0; k < v.size(); ++k)
      if (wrap_to(d.type, v[k]) != v[k])
        throw Error(in.where(d.name) + ": element " + std::to_string(k) + " (" + std::to_string(v[k]) +
                    ") is outside the graph's " + elem_name(d.type));
    return ints_of(t.shape, graph::narrow_to_i32(v, in.where(d.name)));
  }

  // A Gather whose indices are a graph input (token ids into an embedding table, directly or
  // through a Cast): each id within the table, else an Error naming it, before anything runs
  // (the kernel clamps; a silent clamp would be a wrong answer).
  void check_indices(const InputSet& in, const Plan& plan, const Prepared& p) const {
    std::map<graph::ValueId, std::string> from_input;
    for (const graph::Decl& d : g_->inputs)
      if (!elem_is_float(d.type)) from_input[d.id] = d.name;
    for (const graph::Node* n : plan.nodes) {
      if (n->op_type == "Cast" && from_input.count(n->inputs[0])) from_input[n->outputs[0]] = from_input[n->inputs[0]];
      if (n->op_type != "Gather" || !from_input.count(n->inputs[1])) continue;
      const std::string& name = from_input[n->inputs[1]];
      const Shape& data = plan.info[size_t(n->inputs[0])].shape;
      int64_t axis = n->attrs.i("axis", 0);
      if (axis < 0) axis += int64_t(data.size());
      if (axis < 0 || axis >= int64_t(data.size())) continue;  // the shape rule names it
      const int64_t size = data[size_t(axis)];
      const DeviceInput& x = p.inputs.at(name);
      for (int64_t k = 0; k < shape_numel(x.shape); ++k) {
        const int64_t v = x.ints()[k];
        if (v < -size || v >= size)
          throw Error(in.where(name) + ": element " + std::to_string(k) + " (" + std::to_string(v) +
                      ") is outside the " + std::to_string(size) + " entries node '" + n->name + "' (Gather) indexes");
      }
    }
  }

  static std::string value_text(const HostArray& a) {
    std::string s;
    for (int64_t k = 0; k < a.numel(); ++k) s += (a.is_float() ? std::to_string(a.f[size_t(k)]) : std::to_string(a.i[size_t(k)])) + ",";
    return s;
  }

  std::shared_ptr<const Graph> g_;
  std::set<std::string> baked_;  // inputs whose values the plan reads
  mutable std::map<std::string, std::string> baked_values_;  // per shape key: the values planned for
  mutable std::mutex mu_;
  mutable std::map<std::string, std::shared_ptr<const Plan>> plans_;
};

std::string decl_text(const graph::Decl& d) {
  std::string s = "  " + d.name + " " + elem_name(d.type) + " ";
  if (!d.has_shape) return s + "(shape not declared)\n";
  s += "[";
  for (size_t k = 0; k < d.dims.size(); ++k)
    s += (k ? "," : "") + (d.dims[k].symbol.empty() ? std::to_string(d.dims[k].value)
                           : d.dims[k].symbol[0] == '?' ? std::string("?") : d.dims[k].symbol);
  return s + "]\n";
}

}  // namespace

std::string describe_graph(const graph::Graph& g) {
  std::string s = "format: onnx, opset " + std::to_string(g.opset) + (g.producer.empty() ? "" : ", producer " + g.producer) + "\n";
  s += "inputs:\n";
  for (const auto& d : g.inputs) s += decl_text(d);
  s += "outputs:\n";
  for (const auto& d : g.outputs) s += decl_text(d);
  size_t nodes = 0;
  for (const auto& [op, n] : g.op_counts) nodes += size_t(n);
  s += "nodes: " + std::to_string(nodes) + " (" + std::to_string(g.folded_at_load) + " folded at load, " +
       std::to_string(g.nodes.size()) + " left; shape arithmetic folds again per input shape)\n";
  s += "initializers: " + std::to_string(g.constants.size()) + " values\n";
  s += "ops:\n";
  for (const auto& [op, n] : g.op_counts) {
    const graph::OpDef* d = graph::find_op(op);
    const char* where = !d ? "unknown" : (d->flags & graph::kShapeOnly) || !d->lower ? "host (reference)" : "GPU";
    if (d && d->lower && d->needs_host) where = "GPU (host for some forms)";
    if (d && !d->lower && (op == "Constant" || op == "ConstantOfShape" || op == "Range" || d->flags & graph::kShapeOnly))
      where = "host (folded)";
    char line[160];
    std::snprintf(line, sizeof(line), "  %-24s %5d  %s\n", op.c_str(), n, where);
    s += line;
  }
  return s;
}

std::unique_ptr<Arch> graph_arch(std::shared_ptr<const graph::Graph> g) { return std::make_unique<GraphArch>(std::move(g)); }

const graph::Graph* graph_of(const Arch& arch) {
  const auto* a = dynamic_cast<const GraphArch*>(&arch);
  return a ? &a->graph() : nullptr;
}

}  // namespace vkfuse::detail
