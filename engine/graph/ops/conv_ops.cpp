// Conv and the pools: their padding rules (explicit, auto_pad, ceil_mode), output sizes, the
// references and the kernels (ops::conv with its epilogue, ops::pool, ops::reduce for the
// global pools).
#include <cmath>

#include "graph/ops/rules.h"

namespace vkfuse::detail::graph {

namespace {

using namespace rules;

// The spatial geometry of a Conv or pool node for its input shape.
struct Window {
  std::vector<int64_t> kernel, strides, dilations, pads;  // pads: begins then ends
  std::vector<int64_t> out;                               // spatial output sizes
};

Window window_of(const NodeCtx& c, const Shape& x, const std::vector<int64_t>& kernel, bool ceil_mode) {
  const size_t sp = x.size() - 2;
  Window w;
  w.kernel = kernel;
  if (w.kernel.size() != sp) c.fail("kernel has " + std::to_string(w.kernel.size()) + " axes for " + std::to_string(sp) + " spatial axes");
  w.strides = c.attrs().ints("strides", std::vector<int64_t>(sp, 1));
  w.dilations = c.attrs().ints("dilations", std::vector<int64_t>(sp, 1));
  w.pads = c.attrs().ints("pads", std::vector<int64_t>(2 * sp, 0));
  if (w.strides.size() != sp || w.dilations.size() != sp || w.pads.size() != 2 * sp)
    c.fail("strides, dilations or pads do not match " + std::to_string(sp) + " spatial axes");
  for (size_t d = 0; d < sp; ++d)
    if (w.strides[d] < 1 || w.dilations[d] < 1 || w.kernel[d] < 1 || w.pads[d] < 0 || w.pads[d + sp] < 0)
      c.fail("kernel, strides and dilations must be at least 1 and pads not negative");
  const std::string ap = c.attrs().s("auto_pad", "NOTSET");
  for (size_t d = 0; d < sp; ++d) {
    const int64_t in = x[2 + d], span = (w.kernel[d] - 1) * w.dilations[d] + 1;
    if (ap == "SAME_UPPER" || ap == "SAME_LOWER") {
      const int64_t out = (in + w.strides[d] - 1) / w.strides[d];
      const int64_t total = std::max<int64_t>(0, (out - 1) * w.strides[d] + span - in);
      w.pads[d] = ap == "SAME_UPPER" ? total / 2 : total - total / 2;
      w.pads[d + sp] = total - w.pads[d];
    } else if (ap == "VALID") {
      w.pads[d] = w.pads[d + sp] = 0;
    } else if (ap != "NOTSET") {
      c.fail("auto_pad " + q(ap) + " is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
    }
    const int64_t room = in + w.pads[d] + w.pads[d + sp] - span;
    if (room < 0) c.fail("the window (" + std::to_string(span) + ") is larger than the padded input (" +
                         std::to_string(in + w.pads[d] + w.pads[d + sp]) + ")");
    int64_t out = room / w.strides[d] + 1;
    if (ceil_mode) {
      out = (room + w.strides[d] - 1) / w.strides[d] + 1;
      // PyTorch's rule (and ONNX Runtime's): the last window must start inside the input or its
      // begin padding.
      if ((out - 1) * w.strides[d] >= in + w.pads[d]) --out;
    }
    w.out.push_back(out);
  }
  return w;
}

std::vector<int64_t> conv_kernel(const NodeCtx& c) {
  const Shape& ws = c.shape(1);
  std::vector<int64_t> k(ws.begin() + 2, ws.end());
  if (c.attrs().has("kernel_shape") && c.attrs().ints("kernel_shape") != k)
    c.fail("kernel_shape does not match W " + shape_string(ws));
  return k;
}

void conv_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  const Shape& x = c.shape(0);
  const Shape& w = c.shape(1);
  if (x.size() < 3 || x.size() > 5) c.fail("X " + shape_string(x) + " should be [N, C, *spatial] with 1 to 3 spatial axes");
  if (w.size() != x.size()) c.fail("W " + shape_string(w) + " should have X's rank");
  if (!elem_is_float(c.in(0).type)) c.fail("takes floats");
  const int64_t g = c.attrs().i("group", 1);
  if (g < 1 || x[1] % g || w[0] % g || w[1] * g != x[1])
    c.fail("W " + shape_string(w) + " does not match " + std::to_string(x[1]) + " input channels in " +
           std::to_string(g) + " groups");
  if (c.has(2) && c.shape(2) != Shape{w[0]}) c.fail("B " + shape_string(c.shape(2)) + " should be [" + std::to_string(w[0]) + "]");
  const Window win = window_of(c, x, conv_kernel(c), false);
  Shape y = {x[0], w[0]};
  y.insert(y.end(), win.out.begin(), win.out.end());
  out[0] = {c.in(0).type, y};
}

ops::ConvOptions conv_options(const NodeCtx& c, Window& win) {
  win = window_of(c, c.shape(0), conv_kernel(c), false);
  ops::ConvOptions o;
  o.strides = win.strides;
  o.dilations = win.dilations;
  o.pads = win.pads;
  o.groups = c.attrs().i("group", 1);
  return o;
}

void conv_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  Window win;
  const ops::ConvOptions o = conv_options(c, win);
  Shape y = {c.shape(0)[0], c.shape(1)[0]};
  y.insert(y.end(), win.out.begin(), win.out.end());
  out[0] = make_array(c.in(0).type, y);
  ref::conv(in[0]->f.data(), in[0]->shape, in[1]->f.data(), in[1]->shape, c.has(2) ? in[2]->f.data() : nullptr, nullptr,
            out[0].f.data(), y, o);
}

void conv_lower(Lowering& l, const Step& st) {
  const NodeCtx c = l.node_ctx(st);
  Window win;
  ops::ConvOptions o = conv_options(c, win);
  Tensor x = l.contiguous(l.in(st, 0)), w, bias, res;
  const int64_t oc = c.shape(1)[0];
  // The constants this lowering folds are kept under a key of what they are made from: node
  // names need not be unique in a file, node indices and value names are.
  const Graph& g = l.graph();
  auto name_of = [&](ValueId v) { return v == kNone ? std::string("-") : g.name(v); };
  const std::string key = l.graph().key + "#" + std::to_string(st.node->index) + ":" + name_of(st.inputs[1]) + ":" +
                          name_of(l.has(st, 2) ? st.inputs[2] : kNone) + ":" +
                          (st.epi.batch_norm ? name_of(st.epi.batch_norm->inputs[1]) : "-") + ":" + name_of(st.epi.bias);
  // A BatchNormalization after the Conv, y = conv(x)·mul + add per output channel, folds into
  // W'[o] = W[o]·mul[o] and b' = b·mul + add; a bias Add after it ([C] or [1, C, 1, ...]) into
  // b' too. Without either, W and B are used as they are.
  const Node* bn = st.epi.batch_norm;
  std::vector<float> mul(size_t(oc), 1.f), add(size_t(oc), 0.f);
  if (bn) {
    rules::batch_norm_affine(bn->attrs.f("epsilon", 1e-5f), *l.known(bn->inputs[1]), *l.known(bn->inputs[2]),
                             *l.known(bn->inputs[3]), *l.known(bn->inputs[4]), mul, add);
    const HostArray& w0 = *l.known(st.inputs[1]);
    HostArray wf = make_array(Elem::Float, w0.shape);
    const size_t per = size_t(w0.numel() / std::max<int64_t>(oc, 1));
    for (size_t k = 0; k < wf.f.size(); ++k) wf.f[k] = w0.f[k] * mul[k / per];
    w = l.constant("conv_weight_bn:" + key, wf);
  } else {
    w = l.contiguous(l.in(st, 1));
  }
  if (bn || st.epi.bias != kNone) {
    const HostArray* b0 = l.has(st, 2) ? l.known(st.inputs[2]) : nullptr;
    const HostArray* more = st.epi.bias != kNone ? l.known(st.epi.bias) : nullptr;
    HostArray b = make_array(Elem::Float, {oc});
    for (int64_t k = 0; k < oc; ++k)
      b.f[size_t(k)] = (b0 ? float(b0->at(k)) * mul[size_t(k)] : 0.f) + add[size_t(k)] +
                       (more ? float(more->at(more->numel() == 1 ? 0 : k)) : 0.f);
    bias = l.constant("conv_bias:" + key, b);
  } else if (l.has(st, 2)) {
    bias = l.in(st, 2);
  }
  if (bias.defined()) o.bias = &bias;
  o.act = st.epi.act;
  o.act_alpha = st.epi.alpha;
  o.act_beta = st.epi.beta;
  if (st.epi.residual != kNone) {
    for (size_t k = 0; k < st.inputs.size(); ++k)
      if (st.inputs[k] == st.epi.residual) res = l.contiguous(l.in(st, k));
    o.residual = &res;
  }
  Tensor y = l.out(st, 0);
  // Non-overlapping patches (strides = kernel, no padding or dilation, one group: a vision
  // transformer's patch embedding) are one matmul: y[n, o, i, j] = Σ W[o, c, a, b] ·
  // x[n, c, i·kh + a, j·kw + b] over (c, a, b). One copy of a strided view of x gathers the
  // patches as rows [N·oh·ow, C·kh·kw]; the tiled matmul takes W as [OC, C·kh·kw] (transposed)
  // with the bias and activation; a copy puts [N, oh·ow, OC] back as [N, OC, oh, ow].
  bool patches = x.rank() == 4 && o.groups == 1 && !res.defined();
  for (size_t d = 0; d < 2 && patches; ++d)
    patches = win.strides[d] == win.kernel[d] && win.dilations[d] == 1 && win.pads[d] == 0 && win.pads[d + 2] == 0;
  if (patches) {
    const int64_t n = x.dim(0), ch = x.dim(1), h = x.dim(2), wd = x.dim(3), kh = win.kernel[0], kw = win.kernel[1];
    const int64_t oh = win.out[0], ow = win.out[1], k = ch * kh * kw, rows = n * oh * ow;
    const Tensor view = x.view({n, oh, ow, ch, kh, kw}, {ch * h * wd, kh * wd, kw, h * wd, wd, 1}, x.offset());
    Tensor cols = l.scratch({n, oh, ow, ch, kh, kw}, DType::F32), prod = l.scratch({rows, oc}, DType::F32);
    ops::pointwise(l.seq(), ops::Pointwise::Copy, {&view}, cols);
    ops::MatmulOptions mo;
    mo.trans_b = true;
    mo.bias = bias.defined() ? &bias : nullptr;
    mo.act = o.act;
    mo.act_alpha = o.act_alpha;
    mo.act_beta = o.act_beta;
    ops::matmul(l.seq(), cols.reshape({rows, k}), w.reshape({oc, k}), prod, mo);
    const Tensor back = prod.view({n, oc, oh * ow}, {oh * ow * oc, 1, oc}, prod.offset());
    ops::pointwise(l.seq(), ops::Pointwise::Copy, {&back}, y.reshape({n, oc, oh * ow}));
    return;
  }
  ops::conv(l.seq(), x, w, y, o);
}

// ---- pools ----

std::vector<int64_t> pool_kernel(const NodeCtx& c) {
  if (!c.attrs().has("kernel_shape")) c.fail("kernel_shape is required");
  return c.attrs().ints("kernel_shape");
}

bool is_max(const NodeCtx& c) { return c.node.op_type == "MaxPool"; }

void pool_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  const Shape& x = c.shape(0);
  if (x.size() < 3 || x.size() > 5) c.fail("X " + shape_string(x) + " should be [N, C, *spatial] with 1 to 3 spatial axes");
  if (!elem_is_float(c.in(0).type)) c.fail("takes floats");
  if (c.attrs().i("storage_order", 0)) c.fail("storage_order 1 (column-major indices) is not implemented");
  const Window win = window_of(c, x, pool_kernel(c), c.attrs().i("ceil_mode", 0) != 0);
  Shape y = {x[0], x[1]};
  y.insert(y.end(), win.out.begin(), win.out.end());
  out[0] = {c.in(0).type, y};
  if (out.size() > 1) out[1] = {Elem::Int64, y};
}

ops::PoolOptions pool_options(const NodeCtx& c, Window& win) {
  win = window_of(c, c.shape(0), pool_kernel(c), c.attrs().i("ceil_mode", 0) != 0);
  ops::PoolOptions o;
  o.kernel = win.kernel;
  o.strides = win.strides;
  o.dilations = win.dilations;
  o.pads = win.pads;
  o.count_include_pad = c.attrs().i("count_include_pad", 0) != 0;
  return o;
}

// MaxPool's Indices: the flat index (over N, C and the spatial axes) of each window's max.
void max_indices(const HostArray& x, const Window& win, HostArray& idx) {
  const Shape& xs = x.shape;
  const size_t sp = xs.size() - 2;
  int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, dl[3] = {1, 1, 1}, pb[3] = {0, 0, 0}, o[3] = {1, 1, 1};
  for (size_t a = 0; a < sp; ++a) {
    const size_t d = 3 - sp + a;
    in[d] = xs[2 + a], k[d] = win.kernel[a], s[d] = win.strides[a], dl[d] = win.dilations[a], pb[d] = win.pads[a],
    o[d] = win.out[a];
  }
  const int64_t planes = xs[0] * xs[1], vol = in[0] * in[1] * in[2];
  int64_t at = 0;
  for (int64_t pl = 0; pl < planes; ++pl)
    for (int64_t a = 0; a < o[0]; ++a)
      for (int64_t b = 0; b < o[1]; ++b)
        for (int64_t cc = 0; cc < o[2]; ++cc) {
          double best = -INFINITY;
          int64_t bi = 0;
          for (int64_t u = 0; u < k[0]; ++u)
            for (int64_t v = 0; v < k[1]; ++v)
              for (int64_t w = 0; w < k[2]; ++w) {
                const int64_t i0 = a * s[0] + u * dl[0] - pb[0], i1 = b * s[1] + v * dl[1] - pb[1],
                              i2 = cc * s[2] + w * dl[2] - pb[2];
                if (i0 < 0 || i1 < 0 || i2 < 0 || i0 >= in[0] || i1 >= in[1] || i2 >= in[2]) continue;
                const int64_t e = pl * vol + (i0 * in[1] + i1) * in[2] + i2;
                if (x.f[size_t(e)] > best) best = x.f[size_t(e)], bi = e;
              }
          idx.i[size_t(at++)] = bi;
        }
}

void pool_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  Window win;
  const ops::PoolOptions o = pool_options(c, win);
  Shape y = {c.shape(0)[0], c.shape(0)[1]};
  y.insert(y.end(), win.out.begin(), win.out.end());
  out[0] = make_array(c.in(0).type, y);
  ref::pool(in[0]->f.data(), in[0]->shape, out[0].f.data(), y, is_max(c) ? ops::PoolKind::Max : ops::PoolKind::Average,
            o);
  if (out.size() > 1) {
    out[1] = make_array(Elem::Int64, y);
    max_indices(*in[0], win, out[1]);
  }
}

void pool_lower(Lowering& l, const Step& st) {
  const NodeCtx c = l.node_ctx(st);
  Window win;
  const ops::PoolOptions o = pool_options(c, win);
  Tensor x = l.contiguous(l.in(st, 0)), y = l.out(st, 0);
  ops::pool(l.seq(), x, y, is_max(c) ? ops::PoolKind::Max : ops::PoolKind::Average, o);
}

// Indices (MaxPool's second output) come from the reference only.
bool pool_needs_host(const NodeCtx&, const std::vector<bool>& used) { return used.size() > 1 && used[1]; }

// ---- global pools: a reduction over the spatial axes ----

void global_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  Shape y = c.shape(0);
  if (y.size() < 3) c.fail("X " + shape_string(y) + " should be [N, C, *spatial]");
  if (!elem_is_float(c.in(0).type)) c.fail("takes floats");
  std::fill(y.begin() + 2, y.end(), 1);
  out[0] = {c.in(0).type, y};
}

ops::Reduce global_op(const NodeCtx& c) { return c.node.op_type == "GlobalMaxPool" ? ops::Reduce::Max : ops::Reduce::Mean; }

void global_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  std::vector<int64_t> axes;
  for (int64_t d = 2; d < c.rank(0); ++d) axes.push_back(d);
  out[0] = wrap_array(c.in(0).type, ref::reduce(*in[0], axes, global_op(c)));
}

void global_lower(Lowering& l, const Step& st) {
  const NodeCtx c = l.node_ctx(st);
  const Shape& x = c.shape(0);
  int64_t plane = 1;
  for (size_t d = 2; d < x.size(); ++d) plane *= x[d];
  Tensor in = reshaped(l, l.in(st, 0), {x[0] * x[1], plane}), y = l.out(st, 0);
  ops::reduce(l.seq(), in, y.reshape({x[0] * x[1]}), global_op(c), 1);
}

const std::vector<AttrSpec> kWindowAttrs = {{"auto_pad", A::String}, {"kernel_shape", A::Ints}, {"pads", A::Ints},
                                            {"strides", A::Ints}};

std::vector<AttrSpec> with(std::vector<AttrSpec> a, std::vector<AttrSpec> more) {
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

}  // namespace

std::vector<OpDef> conv_ops() {
  OpDef max_pool{"MaxPool", 1, 1, 1, 1, 2,
                 with(kWindowAttrs, {{"ceil_mode", A::Int, 10}, {"dilations", A::Ints, 10}, {"storage_order", A::Int, 8}}),
                 pool_infer, pool_ref, pool_lower};
  max_pool.needs_host = pool_needs_host;
  return {
      OpDef{"Conv", 1, 2, 3, 1, 1, with(kWindowAttrs, {{"dilations", A::Ints}, {"group", A::Int}}), conv_infer, conv_ref,
            conv_lower},
      max_pool,
      OpDef{"AveragePool", 1, 1, 1, 1, 1,
            with(kWindowAttrs, {{"ceil_mode", A::Int, 10}, {"count_include_pad", A::Int, 7}, {"dilations", A::Ints, 19}}),
            pool_infer, pool_ref, pool_lower},
      OpDef{"GlobalAveragePool", 1, 1, 1, 1, 1, {}, global_infer, global_ref, global_lower},
      OpDef{"GlobalMaxPool", 1, 1, 1, 1, 1, {}, global_infer, global_ref, global_lower},
  };
}

}  // namespace vkfuse::detail::graph
