// Graphs of archs, their recording and their CPU reference (graph_program.h).
#include "models/graph_program.h"

#include <cstring>

#include "graph/plan.h"

namespace vkfuse::detail {

ArchGraph GraphCache::get(const std::string& label, const Prepared& p, const graph::WeightFn& weights,
                          const BuildFn& build) const {
  const std::string key = p.signature();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = graphs_.find(key);
    if (it != graphs_.end()) return it->second;
  }
  graph::GraphBuilder b(label, weights, key);
  build(b);
  ArchGraph g;
  g.graph = b.finish();
  std::map<std::string, graph::TypeShape> types;
  for (const graph::Decl& d : g.graph->inputs) types[d.name] = {d.type, p.inputs.at(d.name).shape};
  g.plan = graph::make_plan(*g.graph, types);
  std::lock_guard<std::mutex> lock(mu_);
  if (graphs_.size() >= 16) graphs_.erase(graphs_.begin());
  return graphs_[key] = g;
}

HostArray host_array(Elem type, const DeviceInput& x) {
  HostArray a = HostArray::zeros(type, x.shape);
  const size_t n = size_t(shape_numel(x.shape));
  if (a.is_float()) {
    if (n) std::memcpy(a.f.data(), x.floats(), n * 4);
  } else {
    for (size_t k = 0; k < n; ++k) a.i[k] = x.ints()[k];
  }
  return a;
}

graph::ValueId graph_input(graph::GraphBuilder& b, const Prepared& p, const std::string& name) {
  const DeviceInput& x = p.inputs.at(name);
  return b.input(name, x.dtype == DType::F32 ? Elem::Float : Elem::Int32, x.shape);
}

void GraphProgram::record(Sequence& s, const ArchGraph& g, const DeviceTensors& in, const DeviceTensors& out) {
  rec_.reset();
  graph_ = std::make_unique<ArchGraph>(g);
  rec_ = graph::record_graph(*g.graph, g.plan, s, constants_, in, out, graph::LowerOptions{});
}

uint64_t GraphProgram::weight_bytes() const {
  uint64_t b = 0;
  for (const auto& [name, t] : constants_.tensors) b += uint64_t(t.numel()) * dtype_size(t.dtype());
  return b;
}

void run_graph_cpu(const ArchGraph& ag, const Prepared& p, HostTensors& out) {
  const graph::Graph& g = *ag.graph;
  const graph::Plan& plan = *ag.plan;
  std::vector<std::shared_ptr<const HostArray>> values = plan.known;
  for (const graph::Decl& d : g.inputs)
    values[size_t(d.id)] = std::make_shared<const HostArray>(host_array(d.type, p.inputs.at(d.name)));
  // Each value is dropped after its last reader, as the device plan does.
  std::vector<size_t> last(values.size(), 0);
  for (size_t k = 0; k < plan.nodes.size(); ++k)
    for (graph::ValueId v : plan.nodes[k]->inputs)
      if (v != graph::kNone) last[size_t(v)] = k;
  std::vector<bool> keep(values.size(), false);
  for (const graph::Decl& d : g.outputs) keep[size_t(d.id)] = true;
  for (size_t k = 0; k < plan.nodes.size(); ++k) {
    const graph::Node& n = *plan.nodes[k];
    std::vector<const graph::TypeShape*> ts;
    std::vector<const HostArray*> vs;
    for (graph::ValueId v : n.inputs) {
      ts.push_back(v == graph::kNone ? nullptr : &plan.info[size_t(v)]);
      vs.push_back(v == graph::kNone ? nullptr : values[size_t(v)].get());
    }
    std::vector<HostArray> r = graph::evaluate(g, n, ts, vs);
    for (size_t o = 0; o < r.size(); ++o)
      if (n.outputs[o] != graph::kNone) values[size_t(n.outputs[o])] = std::make_shared<const HostArray>(std::move(r[o]));
    for (graph::ValueId v : n.inputs)
      if (v != graph::kNone && last[size_t(v)] == k && !keep[size_t(v)] && !plan.known[size_t(v)]) values[size_t(v)].reset();
  }
  for (const graph::Decl& d : g.outputs) {
    auto it = out.find(d.name);
    if (it == out.end()) continue;
    const HostArray& a = *values[size_t(d.id)];
    HostTensor& h = it->second;
    if (h.dtype == DType::F32) h.data = a.f;
    else h.ints = a.i;
  }
}

}  // namespace vkfuse::detail
