// The ops that move data: Concat (copies into slices of the output), Split and Slice (views
// of the input, negative steps included), Gather (ops::gather), Pad and Tile (ops::pad),
// DepthToSpace and SpaceToDepth (a reshape and a permuted copy).
#include "graph/ops/rules.h"

namespace vkfuse::detail::graph {

namespace {

using namespace rules;

HostArray to_host(const ref::Array& a, Elem t) { return wrap_array(t, a); }

// Element k of an array as a double or int, for the references' copies.
void copy_elem(HostArray& dst, int64_t di, const HostArray& src, int64_t si) {
  if (dst.is_float()) dst.f[size_t(di)] = src.f[size_t(si)];
  else dst.i[size_t(di)] = src.i[size_t(si)];
}

Shape strides_of(const Shape& s) {
  Shape st(s.size(), 1);
  for (size_t d = s.size(); d-- > 1;) st[d - 1] = st[d] * s[d];
  return st;
}

// dst[region at `at`, of src's shape] = src, both row-major of their shapes, with src read at
// steps `step` from `start` (Slice), or plainly (Concat).
void copy_region(HostArray& dst, const Shape& ds, const std::vector<int64_t>& at, const HostArray& src,
                 const Shape& ss, const std::vector<int64_t>& start, const std::vector<int64_t>& step, const Shape& region) {
  const Shape dst_st = strides_of(ds), src_st = strides_of(ss);
  const int64_t n = shape_numel(region);
  std::vector<int64_t> idx(region.size(), 0);
  for (int64_t e = 0; e < n; ++e) {
    int64_t di = 0, si = 0;
    for (size_t d = 0; d < region.size(); ++d) {
      di += (idx[d] + at[d]) * dst_st[d];
      si += (start[d] + idx[d] * step[d]) * src_st[d];
    }
    copy_elem(dst, di, src, si);
    for (size_t d = region.size(); d-- > 0;) {
      if (++idx[d] < region[d]) break;
      idx[d] = 0;
    }
  }
}

// ---- Concat ----

int64_t concat_axis(const NodeCtx& c) {
  if (c.opset() < 4 && !c.attrs().has("axis")) return 1;
  return c.axis(c.attrs().i("axis", 0), c.rank(0), "axis");
}

void concat_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  const int64_t a = concat_axis(c);
  Shape y = c.shape(0);
  for (size_t k = 1; k < c.inputs(); ++k) {
    const Shape& s = c.shape(k);
    if (c.in(k).type != c.in(0).type) c.fail("inputs differ in type");
    bool ok = s.size() == y.size();
    for (size_t d = 0; ok && d < s.size(); ++d) ok = int64_t(d) == a || s[d] == y[d];
    if (!ok) c.fail("input " + std::to_string(k) + " " + shape_string(s) + " does not match " + shape_string(c.shape(0)) +
                    " off axis " + std::to_string(a));
    y[size_t(a)] += s[size_t(a)];
  }
  out[0] = {c.in(0).type, y};
}

void concat_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  std::vector<TypeShape> t(1);
  concat_infer(c, t);
  const int64_t a = concat_axis(c);
  out[0] = make_array(t[0].type, t[0].shape);
  std::vector<int64_t> at(t[0].shape.size(), 0), zero(at.size(), 0), one(at.size(), 1);
  for (const HostArray* x : in) {
    copy_region(out[0], t[0].shape, at, *x, x->shape, zero, one, x->shape);
    at[size_t(a)] += x->shape[size_t(a)];
  }
}

void concat_lower(Lowering& l, const Step& st) {
  const NodeCtx c = l.node_ctx(st);
  const int64_t a = concat_axis(c);
  Tensor y = l.out(st, 0);
  int64_t at = 0;
  for (size_t k = 0; k < st.inputs.size(); ++k) {
    Tensor x = l.in(st, k);
    if (x.numel() > 0) ops::copy(l.seq(), x, y.view(x.shape(), y.strides(), y.offset() + at * y.strides()[size_t(a)]));
    at += x.shape()[size_t(a)];
  }
}

// ---- Split ----

std::vector<int64_t> split_sizes(const NodeCtx& c, size_t outputs) {
  const int64_t a = c.axis(c.attrs().i("axis", 0), c.rank(0), "axis");
  const int64_t n = c.shape(0)[size_t(a)];
  std::vector<int64_t> sizes;
  if (c.opset() >= 13 && c.has(1)) sizes = c.ints(1, "split");
  else if (c.opset() < 13) sizes = c.attrs().ints("split");
  if (c.opset() < 2 && c.has(1)) sizes = c.ints(1, "split");
  if (sizes.empty()) {
    if (n % int64_t(outputs)) c.fail("axis of " + std::to_string(n) + " does not split evenly in " + std::to_string(outputs));
    sizes.assign(outputs, n / int64_t(outputs));
  }
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 0) c.fail("a negative split size");
    total += s;
  }
  if (sizes.size() != outputs || total != n)
    c.fail("split " + shape_string(sizes) + " does not cut an axis of " + std::to_string(n) + " into " +
           std::to_string(outputs) + " outputs");
  return sizes;
}

void split_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  const int64_t a = c.axis(c.attrs().i("axis", 0), c.rank(0), "axis");
  const auto sizes = split_sizes(c, out.size());
  for (size_t k = 0; k < out.size(); ++k) {
    out[k] = c.in(0);
    out[k].shape[size_t(a)] = sizes[k];
  }
}

void split_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  const int64_t a = c.axis(c.attrs().i("axis", 0), c.rank(0), "axis");
  const auto sizes = split_sizes(c, out.size());
  std::vector<int64_t> start(size_t(c.rank(0)), 0), one(start.size(), 1), zero(start.size(), 0);
  for (size_t k = 0; k < out.size(); ++k) {
    Shape s = c.shape(0);
    s[size_t(a)] = sizes[k];
    out[k] = make_array(c.in(0).type, s);
    copy_region(out[k], s, zero, *in[0], c.shape(0), start, one, s);
    start[size_t(a)] += sizes[k];
  }
}

void split_lower(Lowering& l, const Step& st) {
  const NodeCtx c = l.node_ctx(st);
  const int64_t a = c.axis(c.attrs().i("axis", 0), c.rank(0), "axis");
  const auto sizes = split_sizes(c, st.outputs.size());
  Tensor x = l.in(st, 0);
  int64_t at = 0;
  for (size_t k = 0; k < st.outputs.size(); ++k) {
    Shape s = x.shape();
    s[size_t(a)] = sizes[k];
    if (st.outputs[k] != kNone) l.set(st, k, x.view(s, x.strides(), x.offset() + at * x.strides()[size_t(a)]));
    at += sizes[k];
  }
}

// ---- Slice ----

struct SliceSpec {
  std::vector<int64_t> start, step;  // per axis of the input
  Shape out;
};

SliceSpec slice_spec(const NodeCtx& c) {
  const Shape& x = c.shape(0);
  const int64_t r = int64_t(x.size());
  std::vector<int64_t> starts, ends, axes, steps;
  if (c.opset() < 10) {
    starts = c.attrs().ints("starts");
    ends = c.attrs().ints("ends");
    axes = c.attrs().ints("axes");
  } else {
    starts = c.ints(1, "starts");
    ends = c.ints(2, "ends");
    if (c.has(3)) axes = c.ints(3, "axes");
    if (c.has(4)) steps = c.ints(4, "steps");
  }
  if (axes.empty())
    for (size_t k = 0; k < starts.size(); ++k) axes.push_back(int64_t(k));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    c.fail("starts, ends, axes and steps differ in length");
  axes = axes_of(c, axes, r, "axes");
  SliceSpec s;
  s.start.assign(size_t(r), 0);
  s.step.assign(size_t(r), 1);
  s.out = x;
  for (size_t k = 0; k < axes.size(); ++k) {
    const size_t a = size_t(axes[k]);
    const int64_t n = x[a], step = steps[k];
    if (step == 0) c.fail("a step of 0");
    // ONNX's clamping: negative counts from the end; starts clamp to [0, n] (or [0, n-1] for
    // a negative step), ends likewise to [-1, n].
    int64_t b = starts[k] < 0 ? starts[k] + n : starts[k];
    int64_t e = ends[k] < 0 ? ends[k] + n : ends[k];
    if (step > 0) {
      b = std::clamp<int64_t>(b, 0, n);
      e = std::clamp<int64_t>(e, 0, n);
      s.out[a] = e > b ? (e - b + step - 1) / step : 0;
    } else {
      b = std::clamp<int64_t>(b, 0, n - 1);
      e = std::clamp<int64_t>(e, -1, n - 1);
      s.out[a] = b > e ? (b - e + (-step) - 1) / (-step) : 0;
    }
    s.start[a] = s.out[a] > 0 ? b : 0;
    s.step[a] = step;
  }
  return s;
}

void slice_infer(const NodeCtx& c, std::vector<TypeShape>& out) { out[0] = {c.in(0).type, slice_spec(c).out}; }

void slice_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  const SliceSpec s = slice_spec(c);
  out[0] = make_array(c.in(0).type, s.out);
  copy_region(out[0], s.out, std::vector<int64_t>(s.out.size(), 0), *in[0], c.shape(0), s.start, s.step, s.out);
}

void slice_lower(Lowering& l, const Step& st) {
  const NodeCtx c = l.node_ctx(st);
  const SliceSpec s = slice_spec(c);
  Tensor x = l.in(st, 0);
  Shape strides = x.strides();
  int64_t off = x.offset();
  for (size_t d = 0; d < strides.size(); ++d) {
    off += s.start[d] * strides[d];
    strides[d] *= s.step[d];
  }
  l.set(st, 0, x.view(s.out, strides, off));
}

// ---- Gather ----

void gather_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  const int64_t a = c.axis(c.attrs().i("axis", 0), c.rank(0), "axis");
  if (!elem_is_int(c.in(1).type)) c.fail("indices must be integers");
  Shape y(c.shape(0).begin(), c.shape(0).begin() + a);
  y.insert(y.end(), c.shape(1).begin(), c.shape(1).end());
  y.insert(y.end(), c.shape(0).begin() + a + 1, c.shape(0).end());
  out[0] = {c.in(0).type, y};
}

void gather_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  const int64_t a = c.axis(c.attrs().i("axis", 0), c.rank(0), "axis");
  try {
    out[0] = to_host(ref::gather(*in[0], *in[1], int(a)), c.in(0).type);
  } catch (const Error& e) {
    c.fail(e.what());
  }
}

void gather_lower(Lowering& l, const Step& st) {
  const NodeCtx c = l.node_ctx(st);
  const int64_t a = c.axis(c.attrs().i("axis", 0), c.rank(0), "axis");
  const HostArray* idx = l.known(st.inputs[1]);
  if (idx) {
    // Known indices are checked here (the shader clamps, a file must not rely on it).
    const int64_t n = c.shape(0)[size_t(a)];
    for (int64_t v : idx->i)
      if (v < -n || v >= n) l.fail(st, "index " + std::to_string(v) + " is outside an axis of " + std::to_string(n));
  }
  Tensor x = l.contiguous(l.in(st, 0)), i = l.contiguous(l.in(st, 1)), y = l.out(st, 0);
  ops::gather(l.seq(), x, i, y, int(a));
}

// ---- Pad, Tile ----

struct PadSpec {
  std::vector<int64_t> before;
  Shape out;
  ops::PadMode mode;
  double value = 0;
};

PadSpec pad_spec(const NodeCtx& c) {
  const Shape& x = c.shape(0);
  const size_t r = x.size();
  std::vector<int64_t> pads = c.opset() < 11 ? c.attrs().ints(c.opset() < 2 ? "paddings" : "pads") : c.ints(1, "pads");
  if (pads.size() != 2 * r) c.fail("pads has " + std::to_string(pads.size()) + " values for rank " + std::to_string(r));
  PadSpec s;
  const std::string m = c.attrs().s("mode", "constant");
  s.mode = m == "constant" ? ops::PadMode::Constant : m == "reflect" ? ops::PadMode::Reflect
         : m == "edge" ? ops::PadMode::Edge : m == "wrap" ? ops::PadMode::Wrap : ops::PadMode(-1);
  if (int(s.mode) < 0) c.fail("mode " + q(m) + " is not constant, reflect, edge or wrap");
  if (c.opset() < 11) s.value = c.attrs().f("value", 0.f);
  else if (c.has(2)) {
    const auto v = c.reals(2, "constant_value");
    if (v.size() != 1) c.fail("constant_value should be one value");
    s.value = v[0];
  }
  s.out = x;
  for (size_t d = 0; d < r; ++d) {
    s.before.push_back(pads[d]);
    s.out[d] = x[d] + pads[d] + pads[d + r];
    if (s.out[d] < 0) c.fail("pads remove more than axis " + std::to_string(d) + " holds");
    if (s.mode == ops::PadMode::Reflect && (pads[d] >= x[d] || pads[d + r] >= x[d]) && (pads[d] > 0 || pads[d + r] > 0))
      c.fail("reflect pads of axis " + std::to_string(d) + " must be smaller than its size " + std::to_string(x[d]));
    if (s.mode != ops::PadMode::Constant && x[d] == 0 && s.out[d] > 0) c.fail("pads an empty axis by " + m);
  }
  return s;
}

void pad_infer(const NodeCtx& c, std::vector<TypeShape>& out) { out[0] = {c.in(0).type, pad_spec(c).out}; }

void pad_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  const PadSpec s = pad_spec(c);
  out[0] = to_host(ref::pad(*in[0], s.before, s.out, s.mode, s.value), c.in(0).type);
}

void pad_lower(Lowering& l, const Step& st) {
  const PadSpec s = pad_spec(l.node_ctx(st));
  Tensor x = l.in(st, 0), y = l.out(st, 0);
  ops::pad(l.seq(), x, y, s.before, s.mode, s.value);
}

Shape tile_shape(const NodeCtx& c) {
  const auto reps = c.ints(1, "repeats");
  Shape y = c.shape(0);
  if (reps.size() != y.size()) c.fail("repeats has " + std::to_string(reps.size()) + " values for rank " + std::to_string(y.size()));
  for (size_t d = 0; d < y.size(); ++d) {
    if (reps[d] < 0) c.fail("a negative repeat");
    y[d] *= reps[d];
  }
  return y;
}

void tile_infer(const NodeCtx& c, std::vector<TypeShape>& out) { out[0] = {c.in(0).type, tile_shape(c)}; }

void tile_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  const Shape y = tile_shape(c);
  out[0] = to_host(ref::pad(*in[0], std::vector<int64_t>(y.size(), 0), y, ops::PadMode::Wrap, 0), c.in(0).type);
}

void tile_lower(Lowering& l, const Step& st) {
  const Shape y = tile_shape(l.node_ctx(st));
  Tensor x = l.in(st, 0), out = l.out(st, 0);
  ops::pad(l.seq(), x, out, std::vector<int64_t>(y.size(), 0), ops::PadMode::Wrap, 0);
}

// ---- DepthToSpace, SpaceToDepth: a reshape to 6-D, a permutation, a reshape back ----

struct Shuffle {
  Shape six;             // the input viewed 6-D
  std::vector<int> perm;
  Shape out;
};

Shuffle shuffle_of(const NodeCtx& c) {
  const Shape& x = c.shape(0);
  if (x.size() != 4) c.fail("X " + shape_string(x) + " should be [N, C, H, W]");
  const int64_t b = c.attrs().i("blocksize", 0);
  if (b < 1) c.fail("blocksize must be at least 1");
  const int64_t n = x[0], ch = x[1], h = x[2], w = x[3];
  Shuffle s;
  if (c.node.op_type == "DepthToSpace") {
    if (ch % (b * b)) c.fail("C " + std::to_string(ch) + " is not a multiple of blocksize²");
    const bool crd = c.attrs().s("mode", "DCR") == "CRD";
    s.six = crd ? Shape{n, ch / (b * b), b, b, h, w} : Shape{n, b, b, ch / (b * b), h, w};
    s.perm = crd ? std::vector<int>{0, 1, 4, 2, 5, 3} : std::vector<int>{0, 3, 4, 1, 5, 2};
    s.out = {n, ch / (b * b), h * b, w * b};
  } else {
    if (h % b || w % b) c.fail("H and W must be multiples of blocksize");
    s.six = {n, ch, h / b, b, w / b, b};
    s.perm = {0, 3, 5, 1, 2, 4};
    s.out = {n, ch * b * b, h / b, w / b};
  }
  return s;
}

void shuffle_infer(const NodeCtx& c, std::vector<TypeShape>& out) { out[0] = {c.in(0).type, shuffle_of(c).out}; }

void shuffle_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  const Shuffle s = shuffle_of(c);
  const Shape st = strides_of(s.six);
  Shape ps;
  for (int p : s.perm) ps.push_back(s.six[size_t(p)]);
  out[0] = make_array(c.in(0).type, s.out);
  std::vector<int64_t> idx(6, 0);
  for (int64_t e = 0; e < shape_numel(ps); ++e) {
    int64_t src = 0;
    for (size_t d = 0; d < 6; ++d) src += idx[d] * st[size_t(s.perm[d])];
    copy_elem(out[0], e, *in[0], src);
    for (size_t d = 6; d-- > 0;) {
      if (++idx[d] < ps[d]) break;
      idx[d] = 0;
    }
  }
}

void shuffle_lower(Lowering& l, const Step& st) {
  const Shuffle s = shuffle_of(l.node_ctx(st));
  Tensor x = reshaped(l, l.in(st, 0), s.six).permute(s.perm), y = l.out(st, 0);
  Shape ps;
  for (int p : s.perm) ps.push_back(s.six[size_t(p)]);
  ops::copy(l.seq(), x, y.reshape(ps));
}

}  // namespace

std::vector<OpDef> movement_ops() {
  OpDef concat{"Concat", 1, 1, 1 << 16, 1, 1, {{"axis", A::Int}}, concat_infer, concat_ref, concat_lower};
  OpDef split{"Split", 1, 1, 2, 1, 1 << 16, {{"axis", A::Int}, {"split", A::Ints, 1, 12}}, split_infer, split_ref, split_lower};
  split.host_inputs = {1};
  std::vector<OpDef> v = {
      concat,
      split,
      OpDef{"Slice", 1, 1, 5, 1, 1, {{"starts", A::Ints, 1, 9}, {"ends", A::Ints, 1, 9}, {"axes", A::Ints, 1, 9}},
            slice_infer, slice_ref, slice_lower},
      OpDef{"Gather", 1, 2, 2, 1, 1, {{"axis", A::Int}}, gather_infer, gather_ref, gather_lower},
      OpDef{"Pad", 1, 1, 4, 1, 1,
            {{"mode", A::String}, {"pads", A::Ints, 2, 10}, {"paddings", A::Ints, 1, 1}, {"value", A::Float, 1, 10}},
            pad_infer, pad_ref, pad_lower},
      OpDef{"Tile", 6, 2, 2, 1, 1, {}, tile_infer, tile_ref, tile_lower},
      OpDef{"DepthToSpace", 1, 1, 1, 1, 1, {{"blocksize", A::Int}, {"mode", A::String, 11}}, shuffle_infer, shuffle_ref,
            shuffle_lower},
      OpDef{"SpaceToDepth", 1, 1, 1, 1, 1, {{"blocksize", A::Int}}, shuffle_infer, shuffle_ref, shuffle_lower},
  };
  for (OpDef& d : v) {
    const std::string n = d.name;
    if (n == "Slice") d.host_inputs = {1, 2, 3, 4};
    if (n == "Pad") d.host_inputs = {1, 2};
    if (n == "Tile") d.host_inputs = {1};
  }
  return v;
}

}  // namespace vkfuse::detail::graph
