// Shape inference and host folding: a graph specialised for one set of input shapes
// (plan.h), and the constants folded once at load.
#include "graph/plan.h"

#include "io/message_text.h"

namespace vkfuse::detail::graph {

uint64_t host_bytes(const TypeShape& t) {
  uint64_t n = elem_is_float(t.type) ? 4 : 8;
  for (int64_t d : t.shape)
    if (d < 0 || __builtin_mul_overflow(n, uint64_t(d), &n)) return UINT64_MAX;
  return n;
}

std::vector<HostArray> evaluate(const Graph& g, const Node& n, const std::vector<const TypeShape*>& in,
                                const std::vector<const HostArray*>& values) {
  const NodeCtx ctx(g, n, in, values);
  std::vector<TypeShape> types(n.outputs.size());
  n.op->infer(ctx, types);
  std::vector<HostArray> out(n.outputs.size());
  n.op->ref(ctx, values, out);
  for (size_t k = 0; k < out.size(); ++k) {
    if (n.outputs[k] == kNone) continue;
    if (out[k].type != types[k].type || out[k].shape != types[k].shape)
      throw Error(g.where(n) + ": the reference made output " + std::to_string(k) + " " + elem_name(out[k].type) + " " +
                  shape_string(out[k].shape) + ", the shape rule says " + elem_name(types[k].type) + " " +
                  shape_string(types[k].shape) + " (a bug in vkfuse)");
  }
  return out;
}

namespace {

// Every output of a node within the limits, before anything is allocated for it.
void check_outputs(const Graph& g, const Node& n, const std::vector<TypeShape>& types, const HostLimits& limits) {
  for (size_t k = 0; k < types.size(); ++k) {
    if (n.outputs[k] == kNone) continue;
    const uint64_t bytes = host_bytes(types[k]);
    if (bytes > limits.value_bytes)
      throw Error(g.where(n) + ": output " + quote(g.name(n.outputs[k])) + " of shape " + shape_string(types[k].shape) +
                  " would take " + (bytes == UINT64_MAX ? std::string("over 2^64 bytes") : mib(bytes)) +
                  ", over the host's limit of " + mib(limits.value_bytes) + " for one value");
  }
}

bool fits_fold(const std::vector<TypeShape>& types, const HostLimits& limits, uint64_t& folded) {
  uint64_t bytes = 0;
  for (const auto& t : types) {
    if (!t.defined()) continue;
    if (uint64_t(shape_numel(t.shape)) > limits.fold_value_elements) return false;
    bytes += host_bytes(t);
  }
  if (folded + bytes > limits.folded_bytes) return false;
  folded += bytes;
  return true;
}

}  // namespace

void fold_constants(Graph& g, const HostLimits& limits) {
  std::vector<TypeShape> info(g.names.size());
  for (const auto& [v, a] : g.constants) info[size_t(v)] = {a->type, a->shape};
  uint64_t folded = 0;
  std::vector<Node> kept;
  for (Node& n : g.nodes) {
    bool constant = !(n.op->flags & kNoFold) && n.op->ref;
    std::vector<const TypeShape*> in;
    std::vector<const HostArray*> values;
    for (ValueId v : n.inputs) {
      const HostArray* c = v == kNone ? nullptr : g.constant(v);
      constant = constant && (v == kNone || c);
      in.push_back(v == kNone ? nullptr : &info[size_t(v)]);
      values.push_back(c);
    }
    if (!constant) {
      kept.push_back(std::move(n));
      continue;
    }
    std::vector<TypeShape> types(n.outputs.size());
    n.op->infer(NodeCtx(g, n, in, values), types);
    check_outputs(g, n, types, limits);
    if (!fits_fold(types, limits, folded)) {
      kept.push_back(std::move(n));
      continue;
    }
    std::vector<HostArray> out = evaluate(g, n, in, values);
    for (size_t k = 0; k < out.size(); ++k) {
      if (n.outputs[k] == kNone) continue;
      info[size_t(n.outputs[k])] = types[k];
      g.constants[n.outputs[k]] = std::make_shared<const HostArray>(std::move(out[k]));
    }
  }
  g.nodes = std::move(kept);
}

std::shared_ptr<const Plan> make_plan(const Graph& g, const std::map<std::string, TypeShape>& inputs,
                                      const HostLimits& limits,
                                      const std::map<std::string, std::shared_ptr<const HostArray>>& input_values) {
  auto plan = std::make_shared<Plan>();
  Plan& p = *plan;
  p.info.resize(g.names.size());
  p.known.resize(g.names.size());
  for (const auto& [v, a] : g.constants) {
    p.info[size_t(v)] = {a->type, a->shape};
    p.known[size_t(v)] = a;
  }
  for (const Decl& d : g.inputs) {
    auto it = inputs.find(d.name);
    if (it == inputs.end()) throw Error(g.label + ": input " + quote(d.name) + " is missing");
    p.info[size_t(d.id)] = it->second;
    auto v = input_values.find(d.name);
    if (v != input_values.end()) p.known[size_t(d.id)] = v->second;
  }
  uint64_t folded = 0;
  for (const Node& n : g.nodes) {
    std::vector<const TypeShape*> in;
    std::vector<const HostArray*> values;
    bool known = !(n.op->flags & kNoFold) && n.op->ref;
    for (ValueId v : n.inputs) {
      in.push_back(v == kNone ? nullptr : &p.info[size_t(v)]);
      values.push_back(v == kNone ? nullptr : p.known[size_t(v)].get());
      if (v != kNone && !p.info[size_t(v)].defined())
        throw Error(g.where(n) + ": input " + quote(g.name(v)) + " has no type (a bug in vkfuse's ordering)");
      known = known && (v == kNone || p.known[size_t(v)]);
    }
    if (n.op->flags & kShapeOnly) known = true;
    const NodeCtx ctx(g, n, in, values);
    std::vector<TypeShape> types(n.outputs.size());
    n.op->infer(ctx, types);
    check_outputs(g, n, types, limits);
    for (size_t k = 0; k < types.size(); ++k)
      if (n.outputs[k] != kNone) p.info[size_t(n.outputs[k])] = types[k];
    if (known && fits_fold(types, limits, folded)) {
      std::vector<const HostArray*> given = values;
      if (n.op->flags & kShapeOnly) std::fill(given.begin(), given.end(), nullptr);
      std::vector<HostArray> out = evaluate(g, n, in, given);
      for (size_t k = 0; k < out.size(); ++k)
        if (n.outputs[k] != kNone) p.known[size_t(n.outputs[k])] = std::make_shared<const HostArray>(std::move(out[k]));
      continue;
    }
    p.nodes.push_back(&n);
  }
  for (const Decl& d : g.outputs) p.outputs[d.name] = p.info[size_t(d.id)];
  return plan;
}

}  // namespace vkfuse::detail::graph
