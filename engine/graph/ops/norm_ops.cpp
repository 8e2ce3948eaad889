// The normalizations and softmax: BatchNormalization (inference form, folded into one
// per-channel multiply-add), LayerNormalization (ops::layer_norm over the trailing axes),
// InstanceNormalization (ops::layer_norm per channel plane, then the channel's scale and
// bias), Softmax and LogSoftmax (ops::softmax over the last axis; another axis is moved last
// and back, and before opset 13 the input is coerced to 2-D at the axis, as ONNX defined it).
#include <cmath>

#include "graph/ops/rules.h"

namespace vkfuse::detail::graph {

namespace {

using namespace rules;

// Shape [C, 1, ...] of the channel axis of an [N, C, *spatial] input.
Shape channel_shape(const NodeCtx& c, int64_t channels) {
  Shape s(size_t(std::max<int64_t>(c.rank(0) - 1, 1)), 1);
  s[0] = channels;
  return s;
}

// ---- BatchNormalization: y = (x - mean) / sqrt(var + eps) · scale + B ----

void bn_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  const Shape& x = c.shape(0);
  if (x.size() < 2) c.fail("X " + shape_string(x) + " should be [N, C, ...]");
  if (!elem_is_float(c.in(0).type)) c.fail("takes floats");
  if (c.opset() >= 14 && c.attrs().i("training_mode", 0)) c.fail("training_mode 1 is not implemented (inference only)");
  if (c.opset() < 9 && c.attrs().i("spatial", 1) == 0) c.fail("spatial 0 (per-element statistics) is not implemented");
  for (size_t k = 1; k < 5; ++k)
    if (shape_numel(c.shape(k)) != x[1]) c.fail("input " + std::to_string(k) + " " + shape_string(c.shape(k)) +
                                                 " should hold " + std::to_string(x[1]) + " channel values");
  out[0] = c.in(0);
  // The training outputs (running mean and variance, saved statistics) pass the inputs
  // through, as an inference run defines them.
  for (size_t k = 1; k < out.size(); ++k) out[k] = c.in(k < 3 ? k + 2 : 3);
}

// The per-channel multiply and add the node is.
void bn_affine(const NodeCtx& c, const std::vector<const HostArray*>& in, HostArray& mul, HostArray& add) {
  const int64_t ch = c.shape(0)[1];
  mul = make_array(Elem::Float, channel_shape(c, ch));
  add = make_array(Elem::Float, channel_shape(c, ch));
  rules::batch_norm_affine(c.attrs().f("epsilon", 1e-5f), *in[1], *in[2], *in[3], *in[4], mul.f, add.f);
}

void bn_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  const Shape& x = c.shape(0);
  const int64_t ch = x[1], plane = shape_numel(x) / std::max<int64_t>(x[0] * ch, 1);
  const double eps = c.attrs().f("epsilon", 1e-5f);
  out[0] = make_array(c.in(0).type, x);
  for (int64_t n = 0; n < x[0]; ++n)
    for (int64_t k = 0; k < ch; ++k) {
      const double inv = 1.0 / std::sqrt(in[4]->at(k) + eps);
      for (int64_t e = 0; e < plane; ++e) {
        const size_t i = size_t((n * ch + k) * plane + e);
        out[0].f[i] = float((in[0]->f[i] - in[3]->at(k)) * inv * in[1]->at(k) + in[2]->at(k));
      }
    }
  for (size_t k = 1; k < out.size(); ++k) out[k] = *in[k < 3 ? k + 2 : 3];
}

void bn_lower(Lowering& l, const Step& st) {
  const NodeCtx c = l.node_ctx(st);
  Tensor x = l.in(st, 0), y = l.out(st, 0), mul, add;
  std::vector<const HostArray*> params(5, nullptr);
  bool constant = true;
  for (size_t k = 1; k < 5; ++k) constant = constant && (params[k] = l.known(st.inputs[k])) != nullptr;
  const Shape cs = channel_shape(c, c.shape(0)[1]);
  if (constant) {
    HostArray m, a;
    bn_affine(c, params, m, a);
    mul = l.constant("bn_mul:" + l.node_key(st), m);
    add = l.constant("bn_add:" + l.node_key(st), a);
  } else {
    // Statistics computed on the device: mul = scale / sqrt(var + eps), add = B - mean·mul.
    auto chan = [&](size_t k) { return l.contiguous(l.in(st, k)).reshape(cs); };
    Tensor scale = chan(1), b = chan(2), mean = chan(3), var = chan(4);
    HostArray e = make_array(Elem::Float, {});
    e.f = {c.attrs().f("epsilon", 1e-5f)};
    Tensor eps = l.constant("bn_eps:" + std::to_string(e.f[0]), e);
    Tensor t = l.scratch(cs, DType::F32), u = l.scratch(cs, DType::F32);
    mul = l.scratch(cs, DType::F32);
    add = l.scratch(cs, DType::F32);
    ops::pointwise(l.seq(), ops::Pointwise::Add, {&var, &eps}, t);
    ops::pointwise(l.seq(), ops::Pointwise::Sqrt, {&t}, u);
    ops::pointwise(l.seq(), ops::Pointwise::Div, {&scale, &u}, mul);
    ops::pointwise(l.seq(), ops::Pointwise::Mul, {&mean, &mul}, t);
    ops::pointwise(l.seq(), ops::Pointwise::Sub, {&b, &t}, add);
  }
  ops::pointwise(l.seq(), ops::Pointwise::MulAdd, {&x, &mul, &add}, y);
  for (size_t k = 1; k < st.outputs.size(); ++k)
    if (st.outputs[k] != kNone) l.set(st, k, l.in(st, k < 3 ? k + 2 : 3));
}

// ---- LayerNormalization (opset 17): over the axes from `axis` on ----

int64_t ln_axis(const NodeCtx& c) { return c.axis(c.attrs().i("axis", -1), c.rank(0), "axis"); }

void ln_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  if (!elem_is_float(c.in(0).type)) c.fail("takes floats");
  const Shape& x = c.shape(0);
  const int64_t a = ln_axis(c);
  const Shape norm(x.begin() + a, x.end());
  for (size_t k = 1; k < 3; ++k)
    if (c.has(k) && ref::broadcast_shape(c.shape(k), norm) != norm)
      c.fail("input " + std::to_string(k) + " " + shape_string(c.shape(k)) + " does not broadcast to " + shape_string(norm));
  out[0] = c.in(0);
  Shape stat(x.begin(), x.begin() + a);
  stat.resize(x.size(), 1);
  for (size_t k = 1; k < out.size(); ++k) out[k] = {Elem::Float, stat};
}

// The scale or bias broadcast to the normalized axes, flattened (a constant).
HostArray flat_param(const HostArray& p, const Shape& norm) {
  HostArray r = make_array(Elem::Float, {shape_numel(norm)});
  const ref::Array zero = ref::Array::floats(norm, std::vector<float>(size_t(shape_numel(norm)), 0.f));
  const ref::Array b = ref::pointwise(ops::Pointwise::Add, {&zero, &p}, false);
  r.f = b.f;
  return r;
}

void ln_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  const Shape& x = c.shape(0);
  const int64_t a = ln_axis(c);
  const Shape norm(x.begin() + a, x.end());
  const int64_t n = shape_numel(norm), rows = shape_numel(x) / std::max<int64_t>(n, 1);
  const double eps = c.attrs().f("epsilon", 1e-5f);
  const HostArray w = flat_param(*in[1], norm);
  const HostArray b = c.has(2) ? flat_param(*in[2], norm) : make_array(Elem::Float, {n});
  std::vector<TypeShape> types(out.size());
  ln_infer(c, types);
  out[0] = make_array(c.in(0).type, x);
  for (size_t k = 1; k < out.size(); ++k) out[k] = make_array(Elem::Float, types[k].shape);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = in[0]->f.data() + r * n;
    double mean = 0, var = 0;
    for (int64_t e = 0; e < n; ++e) mean += xr[e];
    mean /= double(n);
    for (int64_t e = 0; e < n; ++e) var += (xr[e] - mean) * (xr[e] - mean);
    var /= double(n);
    const double inv = 1.0 / std::sqrt(var + eps);
    for (int64_t e = 0; e < n; ++e) out[0].f[size_t(r * n + e)] = float((xr[e] - mean) * inv * w.f[size_t(e)] + b.f[size_t(e)]);
    if (out.size() > 1) out[1].f[size_t(r)] = float(mean);
    if (out.size() > 2) out[2].f[size_t(r)] = float(inv);
  }
}

void ln_lower(Lowering& l, const Step& st) {
  const NodeCtx c = l.node_ctx(st);
  const Shape& x = c.shape(0);
  const int64_t a = ln_axis(c);
  const Shape norm(x.begin() + a, x.end());
  const int64_t n = shape_numel(norm), rows = shape_numel(x) / std::max<int64_t>(n, 1);
  for (size_t k = 1; k < st.outputs.size(); ++k)
    if (st.outputs[k] != kNone) l.fail(st, "the Mean and InvStdDev outputs are made on the host only (a bug in vkfuse)");
  auto param = [&](size_t k) {
    const HostArray* v = l.known(st.inputs[k]);
    if (v) return l.constant("ln_param" + std::to_string(k) + ":" + l.node_key(st), flat_param(*v, norm));
    Tensor t = l.in(st, k);
    if (t.shape() != norm) {
      Tensor full = l.scratch(norm, DType::F32);
      ops::pointwise(l.seq(), ops::Pointwise::Copy, {&t}, full);
      t = full;
    }
    return l.contiguous(t).reshape({n});
  };
  Tensor w = param(1), b;
  ops::LayerNormOptions o;
  o.eps = c.attrs().f("epsilon", 1e-5f);
  o.weight = &w;
  if (l.has(st, 2)) {
    b = param(2);
    o.bias = &b;
  }
  Tensor in = reshaped(l, l.in(st, 0), {rows, n}), y = l.out(st, 0);
  ops::layer_norm(l.seq(), in, y.reshape({rows, n}), o);
}

bool ln_needs_host(const NodeCtx&, const std::vector<bool>& used) {
  for (size_t k = 1; k < used.size(); ++k)
    if (used[k]) return true;
  return false;
}

// ---- InstanceNormalization: per (n, c) plane, then the channel's scale and bias ----

void in_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  const Shape& x = c.shape(0);
  if (x.size() < 3) c.fail("X " + shape_string(x) + " should be [N, C, *spatial]");
  if (!elem_is_float(c.in(0).type)) c.fail("takes floats");
  if (c.shape(1) != Shape{x[1]} || c.shape(2) != Shape{x[1]}) c.fail("scale and B should be [" + std::to_string(x[1]) + "]");
  out[0] = c.in(0);
}

void in_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  const Shape& x = c.shape(0);
  const int64_t ch = x[1], plane = shape_numel(x) / std::max<int64_t>(x[0] * ch, 1);
  const double eps = c.attrs().f("epsilon", 1e-5f);
  out[0] = make_array(c.in(0).type, x);
  for (int64_t p = 0; p < x[0] * ch; ++p) {
    const float* xr = in[0]->f.data() + p * plane;
    double mean = 0, var = 0;
    for (int64_t e = 0; e < plane; ++e) mean += xr[e];
    mean /= double(plane);
    for (int64_t e = 0; e < plane; ++e) var += (xr[e] - mean) * (xr[e] - mean);
    var /= double(plane);
    const double inv = 1.0 / std::sqrt(var + eps), s = in[1]->at(p % ch), b = in[2]->at(p % ch);
    for (int64_t e = 0; e < plane; ++e) out[0].f[size_t(p * plane + e)] = float((xr[e] - mean) * inv * s + b);
  }
}

void in_lower(Lowering& l, const Step& st) {
  const NodeCtx c = l.node_ctx(st);
  const Shape& x = c.shape(0);
  const int64_t planes = x[0] * x[1], plane = shape_numel(x) / std::max<int64_t>(planes, 1);
  ops::LayerNormOptions o;
  o.eps = c.attrs().f("epsilon", 1e-5f);
  Tensor in = reshaped(l, l.in(st, 0), {planes, plane}), t = l.scratch(x, DType::F32), y = l.out(st, 0);
  ops::layer_norm(l.seq(), in, t.reshape({planes, plane}), o);
  const Shape cs = channel_shape(c, x[1]);
  Tensor s = l.contiguous(l.in(st, 1)).reshape(cs), b = l.contiguous(l.in(st, 2)).reshape(cs);
  ops::pointwise(l.seq(), ops::Pointwise::MulAdd, {&t, &s, &b}, y);
}

// ---- Softmax, LogSoftmax ----

bool is_log(const NodeCtx& c) { return c.node.op_type == "LogSoftmax"; }

void softmax_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  if (!elem_is_float(c.in(0).type)) c.fail("takes floats");
  c.axis(c.attrs().i("axis", c.opset() < 13 ? 1 : -1), c.rank(0), "axis");
  out[0] = c.in(0);
}

// The softmax's rows: before opset 13 the input is [prod(:axis), prod(axis:)] and each row
// is normalized whole; from 13 the axis alone (moved last).
struct SoftmaxLayout {
  bool coerced;
  int64_t axis;
};

SoftmaxLayout layout_of(const NodeCtx& c) {
  const int64_t a = c.axis(c.attrs().i("axis", c.opset() < 13 ? 1 : -1), c.rank(0), "axis");
  return {c.opset() < 13, a};
}

void softmax_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  const Shape& x = c.shape(0);
  const SoftmaxLayout lay = layout_of(c);
  out[0] = make_array(c.in(0).type, x);
  if (x.empty() || shape_numel(x) == 0) {
    if (x.empty()) out[0].f = {is_log(c) ? 0.f : 1.f};
    return;
  }
  int64_t outer = 1, n = 1, inner = 1;
  for (size_t d = 0; d < x.size(); ++d) {
    if (int64_t(d) < lay.axis) outer *= x[d];
    else if (int64_t(d) == lay.axis || lay.coerced) n *= x[d];
    else inner *= x[d];
  }
  if (lay.coerced) inner = 1;
  std::vector<float> row(static_cast<size_t>(n)), res(static_cast<size_t>(n));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      for (int64_t e = 0; e < n; ++e) row[size_t(e)] = in[0]->f[size_t((o * n + e) * inner + i)];
      ref::softmax(row.data(), res.data(), 1, n, 1.f, nullptr, 0, is_log(c));
      for (int64_t e = 0; e < n; ++e) out[0].f[size_t((o * n + e) * inner + i)] = res[size_t(e)];
    }
}

void softmax_lower(Lowering& l, const Step& st) {
  const NodeCtx c = l.node_ctx(st);
  const Shape& x = c.shape(0);
  const SoftmaxLayout lay = layout_of(c);
  ops::SoftmaxOptions o;
  o.log = is_log(c);
  Tensor y = l.out(st, 0);
  if (x.empty()) l.fail(st, "a softmax of a scalar runs on the host (a bug in vkfuse)");
  const int64_t r = int64_t(x.size());
  if (lay.coerced || lay.axis == r - 1) {
    int64_t n = 1;
    for (int64_t d = lay.axis; d < r; ++d) n *= x[size_t(d)];
    if (!lay.coerced) n = x.back();
    const int64_t rows = shape_numel(x) / std::max<int64_t>(n, 1);
    ops::softmax(l.seq(), reshaped(l, l.in(st, 0), {rows, n}), y.reshape({rows, n}), o);
    return;
  }
  // The axis moved last, normalized, and moved back.
  std::vector<int> perm;
  for (int d = 0; d < int(r); ++d)
    if (d != int(lay.axis)) perm.push_back(d);
  perm.push_back(int(lay.axis));
  Tensor moved = l.contiguous(l.in(st, 0).permute(perm));
  Tensor t = l.scratch(moved.shape(), DType::F32);
  const int64_t n = x[size_t(lay.axis)], rows = shape_numel(x) / std::max<int64_t>(n, 1);
  ops::softmax(l.seq(), moved.reshape({rows, n}), t.reshape({rows, n}), o);
  std::vector<int> back(perm.size());
  for (size_t k = 0; k < perm.size(); ++k) back[size_t(perm[k])] = int(k);
  Tensor restored = t.permute(back);
  ops::pointwise(l.seq(), ops::Pointwise::Copy, {&restored}, y);
}

// vkfuse.L2Normalize: y = x / max(‖x‖₂, epsilon) over the last axis (epsilon 0: x / ‖x‖, as
// CLIP divides by x.norm()); ONNX's LpNormalization has no epsilon, hence an op of vkfuse's.
void l2_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  if (c.rank(0) < 1 || !elem_is_float(c.in(0).type)) c.fail("takes floats of rank 1 or more");
  out[0] = c.in(0);
}

void l2_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  const Shape& s = in[0]->shape;
  const int64_t n = s.back(), rows = n ? in[0]->numel() / n : 0;
  out[0] = make_array(Elem::Float, s);
  ref::l2_normalize(in[0]->f.data(), out[0].f.data(), rows, n, c.attrs().f("epsilon", 0.f));
}

void l2_lower(Lowering& l, const Step& st) {
  ops::l2_normalize(l.seq(), l.contiguous(l.in(st, 0)), l.out(st, 0), st.node->attrs.f("epsilon", 0.f));
}

// A scalar softmax (1, or 0 for the log) runs on the host.
bool softmax_needs_host(const NodeCtx& c, const std::vector<bool>&) { return c.rank(0) == 0; }

}  // namespace

void rules::batch_norm_affine(double eps, const HostArray& scale, const HostArray& b, const HostArray& mean,
                              const HostArray& var, std::vector<float>& mul, std::vector<float>& add) {
  const size_t ch = size_t(scale.numel());
  mul.resize(ch);
  add.resize(ch);
  for (size_t k = 0; k < ch; ++k) {
    const double m = scale.at(int64_t(k)) / std::sqrt(var.at(int64_t(k)) + eps);
    mul[k] = float(m);
    add[k] = float(b.at(int64_t(k)) - mean.at(int64_t(k)) * m);
  }
}

std::vector<OpDef> norm_ops() {
  OpDef bn{"BatchNormalization", 1, 5, 5, 1, 5,
           {{"epsilon", A::Float}, {"momentum", A::Float}, {"spatial", A::Int, 1, 8}, {"is_test", A::Int, 1, 6},
            {"consumed_inputs", A::Ints, 1, 5}, {"training_mode", A::Int, 14}},
           bn_infer, bn_ref, bn_lower};
  OpDef ln{"LayerNormalization", 17, 2, 3, 1, 3, {{"axis", A::Int}, {"epsilon", A::Float}, {"stash_type", A::Int}},
           ln_infer, ln_ref, ln_lower};
  ln.needs_host = ln_needs_host;
  OpDef in{"InstanceNormalization", 1, 3, 3, 1, 1, {{"epsilon", A::Float}, {"consumed_inputs", A::Ints, 1, 5}}, in_infer,
           in_ref, in_lower};
  OpDef sm{"Softmax", 1, 1, 1, 1, 1, {{"axis", A::Int}}, softmax_infer, softmax_ref, softmax_lower};
  sm.needs_host = softmax_needs_host;
  OpDef lsm = sm;
  lsm.name = "LogSoftmax";
  OpDef l2{"vkfuse.L2Normalize", 1, 1, 1, 1, 1, {{"epsilon", A::Float}}, l2_infer, l2_ref, l2_lower};
  return {bn, ln, in, sm, lsm, l2};
}

}  // namespace vkfuse::detail::graph
