// Graphs written by code (builder.h): each node's shape rule runs as it is added, so a
// builder's mistake is an Error at the node that made it, not at the run.
#include "graph/builder.h"

#include <cstdio>

#include "graph/op_table.h"

namespace vkfuse::detail::graph {

GraphBuilder::GraphBuilder(std::string label, WeightFn weights, std::string key)
    : g_(std::make_shared<Graph>()), weights_(std::move(weights)) {
  g_->label = std::move(label);
  g_->key = std::move(key);
  g_->opset = 17;  // the schemas (attribute defaults) the builders write for
}

ValueId GraphBuilder::value(const std::string& name) {
  g_->names.push_back(name);
  types_.push_back({});
  return ValueId(g_->names.size() - 1);
}

ValueId GraphBuilder::input(const std::string& name, Elem type, const Shape& shape) {
  const ValueId v = value(name);
  Decl d;
  d.id = v;
  d.name = name;
  d.type = type;
  d.has_shape = true;
  for (int64_t s : shape) d.dims.push_back({s, ""});
  g_->inputs.push_back(d);
  types_[size_t(v)] = {type, shape};
  return v;
}

ValueId GraphBuilder::constant(const std::string& key, std::shared_ptr<const HostArray> a) {
  auto it = by_key_.find(key);
  if (it != by_key_.end()) return it->second;
  const ValueId v = value(key);
  types_[size_t(v)] = {a->type, a->shape};
  g_->constants[v] = std::move(a);
  by_key_[key] = v;
  return v;
}

ValueId GraphBuilder::weight(const std::string& name) {
  auto it = by_key_.find(name);
  if (it != by_key_.end()) return it->second;
  return constant(name, weights_.get(name));
}

ValueId GraphBuilder::made(const std::string& key, const std::function<HostArray(const WeightFn::Read&)>& make) {
  auto it = by_key_.find(key);
  if (it != by_key_.end()) return it->second;
  return constant(key, weights_.made(key, make));
}

const HostArray& GraphBuilder::value(ValueId v) const {
  const HostArray* a = g_->constant(v);
  if (!a) throw Error(g_->label + ": builder: value " + g_->name(v) + " is not a constant (a bug in vkfuse)");
  return *a;
}

ValueId GraphBuilder::ints(const std::vector<int64_t>& v) {
  std::string key = "ints:";
  for (int64_t x : v) key += std::to_string(x) + ",";
  auto a = std::make_shared<HostArray>(HostArray::scalar_ints(v));
  return constant(key, std::move(a));
}

ValueId GraphBuilder::scalar(float v) {
  auto a = std::make_shared<HostArray>(HostArray::zeros(Elem::Float, {}));
  a->f[0] = v;
  char key[48];
  std::snprintf(key, sizeof(key), "float:%a", double(v));
  return constant(key, std::move(a));
}

std::vector<ValueId> GraphBuilder::node(const std::string& op, const std::vector<ValueId>& in, Attrs attrs,
                                        int outputs) {
  Node n;
  n.op_type = op;
  n.op = find_any_op(op);
  if (!n.op) throw Error(g_->label + ": builder: no op " + op + " (a bug in vkfuse)");
  n.index = int(g_->nodes.size());
  n.name = op + "_" + std::to_string(n.index);
  n.inputs = in;
  n.attrs = std::move(attrs);
  std::vector<const TypeShape*> ts;
  std::vector<const HostArray*> vs;
  for (ValueId v : in) {
    ts.push_back(v == kNone ? nullptr : &types_[size_t(v)]);
    vs.push_back(v == kNone ? nullptr : g_->constant(v));
  }
  std::vector<TypeShape> out(static_cast<size_t>(outputs));
  n.op->infer(NodeCtx(*g_, n, ts, vs), out);
  for (int k = 0; k < outputs; ++k) {
    const ValueId v = value(n.name + ":" + std::to_string(k));
    types_[size_t(v)] = out[size_t(k)];
    n.outputs.push_back(v);
  }
  ++g_->op_counts[op];
  g_->nodes.push_back(std::move(n));
  return g_->nodes.back().outputs;
}

void GraphBuilder::output(const std::string& name, ValueId v) {
  Decl d;
  d.id = v;
  d.name = name;
  d.type = types_[size_t(v)].type;
  d.has_shape = true;
  for (int64_t s : types_[size_t(v)].shape) d.dims.push_back({s, ""});
  g_->outputs.push_back(d);
}

std::shared_ptr<const Graph> GraphBuilder::finish() { return std::move(g_); }

Attrs attrs_of(std::initializer_list<std::pair<const char*, int64_t>> ints) {
  Attrs a;
  for (const auto& [name, v] : ints) a.set_int(name, v);
  return a;
}

}  // namespace vkfuse::detail::graph
