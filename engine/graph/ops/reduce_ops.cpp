// The reductions (ReduceSum ... ReduceLogSumExp) and ArgMax/ArgMin: axes from the attribute
// or (ReduceSum from opset 13) the input, keepdims, noop_with_empty_axes; lowered as
// ops::reduce over the reduced axes moved last (a view, no copy).
#include <map>

#include "graph/ops/rules.h"

namespace vkfuse::detail::graph {

namespace {

using namespace rules;
using ops::Reduce;

const std::map<std::string, Reduce>& reduce_table() {
  static const std::map<std::string, Reduce> t = {
      {"ReduceSum", Reduce::Sum},        {"ReduceMean", Reduce::Mean},     {"ReduceMax", Reduce::Max},
      {"ReduceMin", Reduce::Min},        {"ReduceProd", Reduce::Prod},     {"ReduceL1", Reduce::L1},
      {"ReduceL2", Reduce::L2},          {"ReduceSumSquare", Reduce::SumSquare}, {"ReduceLogSum", Reduce::LogSum},
      {"ReduceLogSumExp", Reduce::LogSumExp}, {"ArgMax", Reduce::ArgMax}, {"ArgMin", Reduce::ArgMin},
  };
  return t;
}

Reduce op_of(const NodeCtx& c) { return reduce_table().at(c.node.op_type); }
bool is_arg(Reduce r) { return r == Reduce::ArgMax || r == Reduce::ArgMin; }

// The reduced axes, sorted, each once (all of them where none are given, unless
// noop_with_empty_axes).
std::vector<int64_t> axes_of_node(const NodeCtx& c) {
  const int64_t r = c.rank(0);
  std::vector<int64_t> axes;
  if (is_arg(op_of(c))) {
    axes = {c.axis(c.attrs().i("axis", 0), r, "axis")};
    return axes;
  }
  const bool from_input = c.node.op_type == "ReduceSum" && c.opset() >= 13;
  if (from_input && c.has(1)) axes = c.ints(1, "axes");
  else if (!from_input) axes = c.attrs().ints("axes");
  if (axes.empty()) {
    if (from_input && c.attrs().i("noop_with_empty_axes", 0)) return {};
    for (int64_t d = 0; d < r; ++d) axes.push_back(d);
  }
  axes = axes_of(c, axes, r, "axes");
  std::sort(axes.begin(), axes.end());
  return axes;
}

Shape out_shape(const NodeCtx& c, const std::vector<int64_t>& axes) {
  const Shape& x = c.shape(0);
  const bool keep = c.attrs().i("keepdims", 1) != 0;
  Shape y;
  for (int64_t d = 0; d < int64_t(x.size()); ++d) {
    const bool reduced = std::find(axes.begin(), axes.end(), d) != axes.end();
    if (!reduced) y.push_back(x[size_t(d)]);
    else if (keep) y.push_back(1);
  }
  return y;
}

void reduce_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  const Reduce r = op_of(c);
  const Elem t = c.in(0).type;
  if (!is_arg(r) && !elem_is_float(t) && r != Reduce::Sum && r != Reduce::Max && r != Reduce::Min && r != Reduce::Prod)
    c.fail(std::string("takes floats, not ") + elem_name(t));
  if (t == Elem::Bool) c.fail("takes numbers, not bool");
  const auto axes = axes_of_node(c);
  for (int64_t a : axes)
    if (c.shape(0)[size_t(a)] == 0 && is_arg(r)) c.fail("reduces an empty axis " + std::to_string(a));
  out[0] = {is_arg(r) ? Elem::Int64 : t, out_shape(c, axes)};
}

void reduce_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  const Reduce r = op_of(c);
  const auto axes = axes_of_node(c);
  ref::Array a = ref::reduce(*in[0], axes, r, c.attrs().i("select_last_index", 0) != 0);
  a.shape = out_shape(c, axes);
  out[0] = wrap_array(is_arg(r) ? Elem::Int64 : c.in(0).type, std::move(a));
}

void reduce_lower(Lowering& l, const Step& st) {
  const NodeCtx c = l.node_ctx(st);
  const Reduce r = op_of(c);
  const auto axes = axes_of_node(c);
  std::vector<int> perm;
  for (int d = 0; d < int(c.rank(0)); ++d)
    if (std::find(axes.begin(), axes.end(), d) == axes.end()) perm.push_back(d);
  for (int64_t a : axes) perm.push_back(int(a));
  Tensor x = l.in(st, 0).permute(perm), y = l.out(st, 0);
  ops::reduce(l.seq(), x, y.reshape({y.numel()}), r, int(axes.size()), c.attrs().i("select_last_index", 0) != 0);
}

// Reductions of integers run on the host (the kernel reads floats).
bool reduce_needs_host(const NodeCtx& c, const std::vector<bool>&) {
  return !elem_is_float(c.in(0).type);
}

}  // namespace

std::vector<OpDef> reduce_ops() {
  std::vector<OpDef> v;
  for (const auto& [name, r] : reduce_table()) {
    OpDef d{name.c_str(), 1, 1, 1, 1, 1, {{"axes", A::Ints}, {"keepdims", A::Int}}, reduce_infer, reduce_ref, reduce_lower};
    if (is_arg(r)) d.attrs = {{"axis", A::Int}, {"keepdims", A::Int}, {"select_last_index", A::Int, 12}};
    if (name == "ReduceSum") {
      d.max_in = 2;  // axes as an input from opset 13
      d.host_inputs = {1};
      d.attrs = {{"axes", A::Ints, 1, 12}, {"keepdims", A::Int}, {"noop_with_empty_axes", A::Int, 13}};
    }
    d.needs_host = reduce_needs_host;
    v.push_back(d);
  }
  return v;
}

}  // namespace vkfuse::detail::graph
