// The ops of shapes and constants: Shape and Size (from the input's shape alone, always
// folded), Reshape, Flatten, Squeeze, Unsqueeze, Identity and Dropout (views of the input, no
// copy), Transpose (a permuted view: the next kernel reads it in place or copies it),
// Expand (a stride-0 view), Constant, ConstantOfShape and Range (folded on the host).
#include <cmath>
#include <map>

#include "graph/ops/rules.h"

namespace vkfuse::detail::graph {

namespace {

using namespace rules;

// ---- Shape, Size ----

void shape_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  const int64_t r = c.rank(0);
  int64_t start = c.attrs().i("start", 0), end = c.attrs().i("end", r);
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = std::clamp<int64_t>(start, 0, r);
  end = std::clamp<int64_t>(end, 0, r);
  out[0] = {Elem::Int64, {std::max<int64_t>(end - start, 0)}};
}

void shape_ref(const NodeCtx& c, const std::vector<const HostArray*>&, std::vector<HostArray>& out) {
  std::vector<TypeShape> t(1);
  shape_infer(c, t);
  const int64_t r = c.rank(0);
  int64_t start = c.attrs().i("start", 0);
  if (start < 0) start += r;
  start = std::clamp<int64_t>(start, 0, r);
  out[0] = make_array(Elem::Int64, t[0].shape);
  for (int64_t k = 0; k < t[0].shape[0]; ++k) out[0].i[size_t(k)] = c.shape(0)[size_t(start + k)];
}

void size_infer(const NodeCtx&, std::vector<TypeShape>& out) { out[0] = {Elem::Int64, {}}; }
void size_ref(const NodeCtx& c, const std::vector<const HostArray*>&, std::vector<HostArray>& out) {
  out[0] = make_array(Elem::Int64, {});
  out[0].i[0] = shape_numel(c.shape(0));
}

// ---- views: Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout ----

Shape reshape_target(const NodeCtx& c) {
  const Shape& x = c.shape(0);
  std::vector<int64_t> want = c.opset() < 5 ? c.attrs().ints("shape") : c.ints(1, "shape");
  const bool allow_zero = c.attrs().i("allowzero", 0) != 0;
  int64_t known = 1, infer = -1;
  for (size_t d = 0; d < want.size(); ++d) {
    if (want[d] == 0 && !allow_zero) {
      if (d >= x.size()) c.fail("shape " + shape_string(want) + " copies axis " + std::to_string(d) + " that the input " + shape_string(x) + " lacks");
      want[d] = x[d];
    }
    if (want[d] == -1) {
      if (infer >= 0) c.fail("shape " + shape_string(want) + " has more than one -1");
      infer = int64_t(d);
      continue;
    }
    if (want[d] < 0) c.fail("shape " + shape_string(want) + " has a negative size");
    if (__builtin_mul_overflow(known, want[d], &known)) c.fail("shape overflows");
  }
  const int64_t n = shape_numel(x);
  if (infer >= 0) {
    if (known == 0 || n % known) c.fail("cannot reshape " + shape_string(x) + " to " + shape_string(want));
    want[size_t(infer)] = n / known;
  } else if (known != n) {
    c.fail("cannot reshape " + shape_string(x) + " (" + std::to_string(n) + " elements) to " + shape_string(want));
  }
  return want;
}

Shape flatten_target(const NodeCtx& c) {
  const Shape& x = c.shape(0);
  const int64_t r = int64_t(x.size());
  int64_t a = c.attrs().i("axis", 1);
  if (a < -r || a > r) c.fail("axis " + std::to_string(a) + " is outside rank " + std::to_string(r));
  if (a < 0) a += r;
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < r; ++d) (d < a ? outer : inner) *= x[size_t(d)];
  return {outer, inner};
}

std::vector<int64_t> squeeze_axes(const NodeCtx& c, int64_t rank) {
  std::vector<int64_t> axes;
  if (c.opset() >= 13) {
    if (c.has(1)) axes = c.ints(1, "axes");
  } else {
    axes = c.attrs().ints("axes");
  }
  return axes_of(c, axes, rank, "axes");
}

Shape squeeze_target(const NodeCtx& c) {
  const Shape& x = c.shape(0);
  std::vector<int64_t> axes = squeeze_axes(c, int64_t(x.size()));
  Shape y;
  for (int64_t d = 0; d < int64_t(x.size()); ++d) {
    const bool listed = std::find(axes.begin(), axes.end(), d) != axes.end();
    if (listed && x[size_t(d)] != 1) c.fail("squeezes axis " + std::to_string(d) + " of size " + std::to_string(x[size_t(d)]));
    if (listed || (axes.empty() && x[size_t(d)] == 1)) continue;
    y.push_back(x[size_t(d)]);
  }
  return y;
}

Shape unsqueeze_target(const NodeCtx& c) {
  const Shape& x = c.shape(0);
  std::vector<int64_t> raw = c.opset() >= 13 ? c.ints(1, "axes") : c.attrs().ints("axes");
  const int64_t r = int64_t(x.size() + raw.size());
  std::vector<int64_t> axes = axes_of(c, raw, r, "axes");
  Shape y;
  size_t k = 0;
  for (int64_t d = 0; d < r; ++d) {
    if (std::find(axes.begin(), axes.end(), d) != axes.end()) y.push_back(1);
    else y.push_back(x[k++]);
  }
  return y;
}

Shape view_target(const NodeCtx& c) {
  const std::string& op = c.node.op_type;
  if (op == "Reshape") return reshape_target(c);
  if (op == "Flatten") return flatten_target(c);
  if (op == "Squeeze") return squeeze_target(c);
  if (op == "Unsqueeze") return unsqueeze_target(c);
  return c.shape(0);  // Identity, Dropout
}

void view_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  // Training mode drops at random, except at ratio 0 (torchvision's Swin exports that): the
  // identity then.
  if (c.node.op_type == "Dropout" && c.opset() >= 12 && c.has(2)) {
    const double ratio = c.has(1) ? c.reals(1, "ratio").at(0) : 0.5;
    for (int64_t t : c.ints(2, "training_mode"))
      if (t && ratio != 0) c.fail("training_mode true (random dropout) is not implemented: vkfuse runs inference");
  }
  out[0] = {c.in(0).type, view_target(c)};
  if (out.size() > 1) out[1] = {Elem::Bool, c.shape(0)};  // Dropout's mask: all kept
}

void view_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  out[0] = *in[0];
  out[0].shape = view_target(c);
  if (out.size() > 1) {
    out[1] = make_array(Elem::Bool, c.shape(0));
    std::fill(out[1].i.begin(), out[1].i.end(), 1);
  }
}

void view_lower(Lowering& l, const Step& st) {
  const NodeCtx c = l.node_ctx(st);
  const Shape target = view_target(c);
  Tensor x = l.in(st, 0);
  l.set(st, 0, x.shape() == target ? x : reshaped(l, x, target));
  if (st.outputs.size() > 1 && st.outputs[1] != kNone) {
    Tensor m = l.out(st, 1);
    const HostArray one = HostArray::scalar_ints({1}, Elem::Int32);
    Tensor t = l.constant("one:i32", one);
    ops::pointwise(l.seq(), ops::Pointwise::Copy, {&t}, m);
  }
}

// ---- Transpose ----

std::vector<int64_t> perm_of(const NodeCtx& c) {
  const int64_t r = c.rank(0);
  std::vector<int64_t> p = c.attrs().ints("perm");
  if (p.empty())
    for (int64_t d = r - 1; d >= 0; --d) p.push_back(d);
  if (int64_t(p.size()) != r) c.fail("perm has " + std::to_string(p.size()) + " axes for rank " + std::to_string(r));
  return axes_of(c, p, r, "perm");
}

void transpose_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  Shape y;
  for (int64_t a : perm_of(c)) y.push_back(c.shape(0)[size_t(a)]);
  out[0] = {c.in(0).type, y};
}

void transpose_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  const auto perm = perm_of(c);
  const Shape& x = c.shape(0);
  const size_t r = x.size();
  Shape y, xs(r, 1);
  for (int64_t a : perm) y.push_back(x[size_t(a)]);
  for (size_t d = r; d-- > 1;) xs[d - 1] = xs[d] * x[d];
  out[0] = make_array(c.in(0).type, y);
  const int64_t n = shape_numel(y);
  std::vector<int64_t> idx(r, 0);
  for (int64_t e = 0; e < n; ++e) {
    int64_t src = 0;
    for (size_t d = 0; d < r; ++d) src += idx[d] * xs[size_t(perm[d])];
    if (out[0].is_float()) out[0].f[size_t(e)] = in[0]->f[size_t(src)];
    else out[0].i[size_t(e)] = in[0]->i[size_t(src)];
    for (size_t d = r; d-- > 0;) {
      if (++idx[d] < y[d]) break;
      idx[d] = 0;
    }
  }
}

void transpose_lower(Lowering& l, const Step& st) {
  const NodeCtx c = l.node_ctx(st);
  std::vector<int> perm;
  for (int64_t a : perm_of(c)) perm.push_back(int(a));
  l.set(st, 0, l.in(st, 0).permute(perm));
}

// ---- Expand: numpy broadcast of the input to a shape ----

Shape expand_target(const NodeCtx& c) { return broadcast(c, c.shape(0), c.ints(1, "shape")); }

void expand_infer(const NodeCtx& c, std::vector<TypeShape>& out) { out[0] = {c.in(0).type, expand_target(c)}; }

void expand_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  const Shape y = expand_target(c);
  const HostArray zero = make_array(c.in(0).type, y);
  out[0] = wrap_array(c.in(0).type, ref::pointwise(ops::Pointwise::Add, {&zero, in[0]}, !in[0]->is_float()));
}

void expand_lower(Lowering& l, const Step& st) {
  const NodeCtx c = l.node_ctx(st);
  const Shape y = expand_target(c);
  Tensor x = l.in(st, 0);
  Shape strides(y.size(), 0);
  for (int d = 0; d < x.rank(); ++d) {
    const size_t od = y.size() - size_t(x.rank()) + size_t(d);
    strides[od] = x.shape()[size_t(d)] == 1 ? 0 : x.strides()[size_t(d)];
  }
  l.set(st, 0, x.view(y, strides, x.offset()));
}

// ---- Constant, ConstantOfShape, Range: host values ----

void constant_value(const NodeCtx& c, HostArray& v) {
  const Attrs& a = c.attrs();
  if (const HostArray* t = a.tensor("value")) {
    v = *t;
  } else if (a.has("value_float")) {
    v = make_array(Elem::Float, {});
    v.f[0] = a.f("value_float", 0);
  } else if (a.has("value_floats")) {
    const auto f = a.floats("value_floats");
    v = make_array(Elem::Float, {int64_t(f.size())});
    v.f = f;
  } else if (a.has("value_int")) {
    v = HostArray::scalar_ints({a.i("value_int", 0)});
    v.shape = {};
  } else if (a.has("value_ints")) {
    v = HostArray::scalar_ints(a.ints("value_ints"));
  } else {
    c.fail("has no value, value_float(s) or value_int(s) (sparse and string values are not implemented)");
  }
  if (!elem_supported(v.type)) c.fail(std::string("holds ") + elem_name(v.type) + ", which vkfuse does not compute with");
}

void constant_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  HostArray v;
  constant_value(c, v);
  out[0] = {v.type, v.shape};
}
void constant_ref(const NodeCtx& c, const std::vector<const HostArray*>&, std::vector<HostArray>& out) {
  constant_value(c, out[0]);
}

void cos_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  const auto dims = c.ints(0, "shape");
  for (int64_t d : dims)
    if (d < 0) c.fail("shape " + shape_string(dims) + " has a negative size");
  const HostArray* v = c.attrs().tensor("value");
  out[0] = {v ? v->type : Elem::Float, dims};
}

void cos_ref(const NodeCtx& c, const std::vector<const HostArray*>&, std::vector<HostArray>& out) {
  std::vector<TypeShape> t(1);
  cos_infer(c, t);
  out[0] = make_array(t[0].type, t[0].shape);
  if (const HostArray* v = c.attrs().tensor("value")) {
    if (v->numel() != 1) c.fail("value should hold one element");
    if (out[0].is_float()) std::fill(out[0].f.begin(), out[0].f.end(), v->f[0]);
    else std::fill(out[0].i.begin(), out[0].i.end(), v->i[0]);
  }
}

// Range's count: max(ceil((limit - start) / delta), 0).
int64_t range_count(const NodeCtx& c, double start, double limit, double delta) {
  if (delta == 0) c.fail("delta is 0");
  const double n = std::ceil((limit - start) / delta);
  if (!(n < 9.0e15)) c.fail("the range is too long");
  return std::max<int64_t>(int64_t(n), 0);
}

void range_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  const Elem t = c.in(0).type;
  const auto s = c.reals(0, "start"), l = c.reals(1, "limit"), d = c.reals(2, "delta");
  if (s.size() != 1 || l.size() != 1 || d.size() != 1) c.fail("start, limit and delta should be scalars");
  out[0] = {t, {range_count(c, s[0], l[0], d[0])}};
}

void range_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  std::vector<TypeShape> t(1);
  range_infer(c, t);
  out[0] = make_array(t[0].type, t[0].shape);
  for (int64_t k = 0; k < t[0].shape[0]; ++k) {
    if (out[0].is_float()) out[0].f[size_t(k)] = float(in[0]->at(0) + double(k) * in[2]->at(0));
    else out[0].i[size_t(k)] = in[0]->i[0] + k * in[2]->i[0];
  }
}

}  // namespace

std::vector<OpDef> shape_ops() {
  OpDef shape{"Shape", 1, 1, 1, 1, 1, {{"start", A::Int, 15}, {"end", A::Int, 15}}, shape_infer, shape_ref, nullptr};
  shape.flags = kShapeOnly;
  OpDef size{"Size", 1, 1, 1, 1, 1, {}, size_infer, size_ref, nullptr};
  size.flags = kShapeOnly;
  std::vector<OpDef> v = {
      shape,
      size,
      OpDef{"Reshape", 1, 1, 2, 1, 1, {{"shape", A::Ints, 1, 4}, {"allowzero", A::Int, 14}, {"consumed_inputs", A::Ints, 1, 4}},
            view_infer, view_ref, view_lower},
      OpDef{"Flatten", 1, 1, 1, 1, 1, {{"axis", A::Int}}, view_infer, view_ref, view_lower},
      OpDef{"Squeeze", 1, 1, 2, 1, 1, {{"axes", A::Ints, 1, 12}}, view_infer, view_ref, view_lower},
      OpDef{"Unsqueeze", 1, 1, 2, 1, 1, {{"axes", A::Ints, 1, 12}}, view_infer, view_ref, view_lower},
      OpDef{"Identity", 1, 1, 1, 1, 1, {}, view_infer, view_ref, view_lower},
      OpDef{"Dropout", 1, 1, 3, 1, 2,
            {{"ratio", A::Float, 1, 11}, {"is_test", A::Int, 1, 6}, {"seed", A::Int, 12}, {"consumed_inputs", A::Ints, 1, 5}},
            view_infer, view_ref, view_lower},
      OpDef{"Transpose", 1, 1, 1, 1, 1, {{"perm", A::Ints}}, transpose_infer, transpose_ref, transpose_lower},
      OpDef{"Expand", 8, 2, 2, 1, 1, {}, expand_infer, expand_ref, expand_lower},
      OpDef{"Constant", 1, 0, 0, 1, 1,
            {{"value", A::Tensor}, {"value_float", A::Float, 12}, {"value_floats", A::Floats, 12}, {"value_int", A::Int, 12},
             {"value_ints", A::Ints, 12}, {"sparse_value", A::SparseTensor, 11}, {"value_string", A::String, 12},
             {"value_strings", A::Strings, 12}},
            constant_infer, constant_ref, nullptr},
      OpDef{"ConstantOfShape", 9, 1, 1, 1, 1, {{"value", A::Tensor}}, cos_infer, cos_ref, nullptr},
      OpDef{"Range", 11, 3, 3, 1, 1, {}, range_infer, range_ref, nullptr},
  };
  const std::map<std::string, std::vector<int>> host = {{"Reshape", {1}},   {"Squeeze", {1}},         {"Unsqueeze", {1}},
                                                        {"Expand", {1}},    {"ConstantOfShape", {0}}, {"Range", {0, 1, 2}},
                                                        {"Dropout", {1, 2}}};
  for (OpDef& d : v)
    if (host.count(d.name)) d.host_inputs = host.at(d.name);
  return v;
}

}  // namespace vkfuse::detail::graph
