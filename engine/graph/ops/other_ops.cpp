// Ops with a CPU reference and no kernel: they run on the host in a segment of their own (or
// fold, where their inputs are known ahead of the run, as the shape arithmetic of Swin's
// attention masks does): GatherElements, ScatterND, ScatterElements, CumSum, Trilu, OneHot,
// TopK, NonZero.
#include <algorithm>
#include <numeric>

#include "graph/ops/rules.h"

namespace vkfuse::detail::graph {

namespace {

using namespace rules;

Shape strides_of(const Shape& s) {
  Shape st(s.size(), 1);
  for (size_t d = s.size(); d-- > 1;) st[d - 1] = st[d] * s[d];
  return st;
}

void set_elem(HostArray& dst, int64_t di, const HostArray& src, int64_t si) {
  if (dst.is_float()) dst.f[size_t(di)] = src.f[size_t(si)];
  else dst.i[size_t(di)] = src.i[size_t(si)];
}

// An index along an axis of n, negative counting from the end; an Error naming it outside.
int64_t index_in(const NodeCtx& c, int64_t v, int64_t n) {
  if (v < -n || v >= n) c.fail("index " + std::to_string(v) + " is outside an axis of " + std::to_string(n));
  return v < 0 ? v + n : v;
}

// ---- GatherElements, ScatterElements ----

void ge_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  c.axis(c.attrs().i("axis", 0), c.rank(0), "axis");
  if (c.rank(1) != c.rank(0)) c.fail("indices should have the data's rank");
  out[0] = {c.in(0).type, c.shape(1)};
}

void ge_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  const int64_t a = c.axis(c.attrs().i("axis", 0), c.rank(0), "axis");
  const Shape& xs = c.shape(0);
  const Shape& is = c.shape(1);
  const Shape xst = strides_of(xs);
  out[0] = make_array(c.in(0).type, is);
  std::vector<int64_t> idx(is.size(), 0);
  for (int64_t e = 0; e < shape_numel(is); ++e) {
    int64_t src = 0;
    for (size_t d = 0; d < is.size(); ++d) {
      int64_t v = idx[d];
      if (int64_t(d) == a) v = index_in(c, in[1]->i[size_t(e)], xs[d]);
      else if (v >= xs[d]) c.fail("indices " + shape_string(is) + " are larger than the data " + shape_string(xs));
      src += v * xst[d];
    }
    set_elem(out[0], e, *in[0], src);
    for (size_t d = is.size(); d-- > 0;) {
      if (++idx[d] < is[d]) break;
      idx[d] = 0;
    }
  }
}

void se_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  c.axis(c.attrs().i("axis", 0), c.rank(0), "axis");
  if (c.shape(1) != c.shape(2)) c.fail("indices and updates differ in shape");
  if (c.attrs().s("reduction", "none") != "none") c.fail("reduction " + q(c.attrs().s("reduction", "")) + " is not implemented");
  out[0] = c.in(0);
}

void se_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  const int64_t a = c.axis(c.attrs().i("axis", 0), c.rank(0), "axis");
  const Shape& xs = c.shape(0);
  const Shape& is = c.shape(1);
  const Shape xst = strides_of(xs);
  out[0] = *in[0];
  std::vector<int64_t> idx(is.size(), 0);
  for (int64_t e = 0; e < shape_numel(is); ++e) {
    int64_t dst = 0;
    for (size_t d = 0; d < is.size(); ++d) {
      int64_t v = idx[d];
      if (int64_t(d) == a) v = index_in(c, in[1]->i[size_t(e)], xs[d]);
      else if (v >= xs[d]) c.fail("indices are larger than the data");
      dst += v * xst[d];
    }
    set_elem(out[0], dst, *in[2], e);
    for (size_t d = is.size(); d-- > 0;) {
      if (++idx[d] < is[d]) break;
      idx[d] = 0;
    }
  }
}

// ---- ScatterND: data[indices[i]] = updates[i] ----

void snd_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  const Shape& xs = c.shape(0);
  const Shape& is = c.shape(1);
  if (is.empty() || is.back() > int64_t(xs.size())) c.fail("indices' last axis is longer than the data's rank");
  Shape us(is.begin(), is.end() - 1);
  us.insert(us.end(), xs.begin() + is.back(), xs.end());
  if (c.shape(2) != us) c.fail("updates " + shape_string(c.shape(2)) + " should be " + shape_string(us));
  if (c.attrs().s("reduction", "none") != "none") c.fail("reduction " + q(c.attrs().s("reduction", "")) + " is not implemented");
  out[0] = c.in(0);
}

void snd_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  const Shape& xs = c.shape(0);
  const Shape& is = c.shape(1);
  const int64_t k = is.back(), slices = shape_numel(is) / std::max<int64_t>(k, 1);
  int64_t slice = 1;
  for (size_t d = size_t(k); d < xs.size(); ++d) slice *= xs[d];
  const Shape xst = strides_of(xs);
  out[0] = *in[0];
  for (int64_t s = 0; s < (k == 0 ? shape_numel(is) == 0 ? 0 : 1 : slices); ++s) {
    int64_t base = 0;
    for (int64_t d = 0; d < k; ++d) base += index_in(c, in[1]->i[size_t(s * k + d)], xs[size_t(d)]) * xst[size_t(d)];
    for (int64_t e = 0; e < slice; ++e) set_elem(out[0], base + e, *in[2], s * slice + e);
  }
}

// ---- CumSum ----

void cumsum_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  const auto a = c.ints(1, "axis");
  if (a.size() != 1) c.fail("axis should be one value");
  c.axis(a[0], c.rank(0), "axis");
  out[0] = c.in(0);
}

void cumsum_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  const int64_t a = c.axis(c.ints(1, "axis")[0], c.rank(0), "axis");
  const bool excl = c.attrs().i("exclusive", 0) != 0, rev = c.attrs().i("reverse", 0) != 0;
  const Shape& xs = c.shape(0);
  const int64_t n = xs[size_t(a)], inner = strides_of(xs)[size_t(a)], outer = shape_numel(xs) / std::max<int64_t>(n * inner, 1);
  out[0] = *in[0];
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double s = 0;
      int64_t si = 0;
      for (int64_t t = 0; t < n; ++t) {
        const int64_t k = rev ? n - 1 - t : t, at = (o * n + k) * inner + i;
        const double v = in[0]->at(at);
        const int64_t vi = in[0]->is_float() ? 0 : in[0]->i[size_t(at)];
        if (excl) {
          if (out[0].is_float()) out[0].f[size_t(at)] = float(s);
          else out[0].i[size_t(at)] = si;
        }
        s += v;
        si += vi;
        if (!excl) {
          if (out[0].is_float()) out[0].f[size_t(at)] = float(s);
          else out[0].i[size_t(at)] = si;
        }
      }
    }
}

// ---- Trilu ----

void trilu_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  if (c.rank(0) < 2) c.fail("takes a matrix (rank >= 2)");
  out[0] = c.in(0);
}

void trilu_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  const int64_t k = c.has(1) ? c.ints(1, "k").at(0) : 0;
  const bool upper = c.attrs().i("upper", 1) != 0;
  const Shape& xs = c.shape(0);
  const int64_t rows = xs[xs.size() - 2], cols = xs.back();
  out[0] = *in[0];
  for (int64_t e = 0; e < shape_numel(xs); ++e) {
    const int64_t j = e % cols, i = (e / cols) % rows;
    const bool keep = upper ? j - i >= k : j - i <= k;
    if (keep) continue;
    if (out[0].is_float()) out[0].f[size_t(e)] = 0;
    else out[0].i[size_t(e)] = 0;
  }
}

// ---- OneHot ----

void onehot_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  const auto depth = c.reals(1, "depth");
  if (depth.size() != 1 || !(depth[0] >= 1) || depth[0] > 1e7) c.fail("depth should be one positive value");
  if (shape_numel(c.shape(2)) != 2) c.fail("values should hold [off, on]");
  const int64_t r = c.rank(0) + 1;
  const int64_t a = c.axis(c.attrs().i("axis", -1), r, "axis");
  Shape y = c.shape(0);
  y.insert(y.begin() + a, int64_t(depth[0]));
  out[0] = {c.in(2).type, y};
}

void onehot_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  std::vector<TypeShape> t(1);
  onehot_infer(c, t);
  const int64_t depth = int64_t(c.reals(1, "depth")[0]);
  const int64_t a = c.axis(c.attrs().i("axis", -1), c.rank(0) + 1, "axis");
  const Shape& ys = t[0].shape;
  out[0] = make_array(t[0].type, ys);
  const int64_t inner = strides_of(ys)[size_t(a)];
  for (int64_t e = 0; e < shape_numel(ys); ++e) {
    const int64_t d = (e / inner) % depth, src = (e / (inner * depth)) * inner + e % inner;
    int64_t v = int64_t(in[0]->at(src));
    if (v < 0) v += depth;
    set_elem(out[0], e, *in[2], v == d ? 1 : 0);
  }
}

// ---- TopK ----

void topk_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  const int64_t a = c.axis(c.attrs().i("axis", -1), c.rank(0), "axis");
  const int64_t k = c.opset() < 10 ? c.attrs().i("k", 0) : c.ints(1, "K").at(0);
  if (k < 0 || k > c.shape(0)[size_t(a)]) c.fail("K " + std::to_string(k) + " is outside the axis");
  Shape y = c.shape(0);
  y[size_t(a)] = k;
  out[0] = {c.in(0).type, y};
  out[1] = {Elem::Int64, y};
}

void topk_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  std::vector<TypeShape> t(2);
  topk_infer(c, t);
  const int64_t a = c.axis(c.attrs().i("axis", -1), c.rank(0), "axis");
  const bool largest = c.attrs().i("largest", 1) != 0;
  const Shape& xs = c.shape(0);
  const int64_t n = xs[size_t(a)], k = t[0].shape[size_t(a)], inner = strides_of(xs)[size_t(a)];
  const int64_t outer = shape_numel(xs) / std::max<int64_t>(n * inner, 1);
  out[0] = make_array(t[0].type, t[0].shape);
  out[1] = make_array(Elem::Int64, t[1].shape);
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      std::iota(order.begin(), order.end(), 0);
      auto val = [&](int64_t j) { return in[0]->at((o * n + j) * inner + i); };
      // Ties keep the lower index first, as ONNX asks.
      std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) {
        return largest ? val(x) > val(y) : val(x) < val(y);
      });
      for (int64_t j = 0; j < k; ++j) {
        const int64_t dst = (o * k + j) * inner + i;
        set_elem(out[0], dst, *in[0], (o * n + order[size_t(j)]) * inner + i);
        out[1].i[size_t(dst)] = order[size_t(j)];
      }
    }
}

// ---- NonZero: its output's shape is the data's; known inputs only (folded) ----

void nonzero_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  const HostArray& x = c.need(0, "the data, whose nonzeros set the output's shape");
  int64_t count = 0;
  for (int64_t e = 0; e < x.numel(); ++e) count += x.at(e) != 0;
  out[0] = {Elem::Int64, {c.rank(0), count}};
}

void nonzero_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  std::vector<TypeShape> t(1);
  nonzero_infer(c, t);
  const Shape& xs = c.shape(0);
  const int64_t count = t[0].shape[1];
  out[0] = make_array(Elem::Int64, t[0].shape);
  int64_t j = 0;
  for (int64_t e = 0; e < in[0]->numel(); ++e) {
    if (in[0]->at(e) == 0) continue;
    int64_t rest = e;
    for (size_t d = xs.size(); d-- > 0;) {
      out[0].i[size_t(int64_t(d) * count + j)] = rest % xs[d];
      rest /= xs[d];
    }
    ++j;
  }
}

}  // namespace

std::vector<OpDef> other_ops() {
  std::vector<OpDef> v = {
      OpDef{"GatherElements", 11, 2, 2, 1, 1, {{"axis", A::Int}}, ge_infer, ge_ref, nullptr},
      OpDef{"ScatterElements", 11, 3, 3, 1, 1, {{"axis", A::Int}, {"reduction", A::String, 16}}, se_infer, se_ref, nullptr},
      OpDef{"ScatterND", 11, 3, 3, 1, 1, {{"reduction", A::String, 16}}, snd_infer, snd_ref, nullptr},
      OpDef{"CumSum", 11, 2, 2, 1, 1, {{"exclusive", A::Int}, {"reverse", A::Int}}, cumsum_infer, cumsum_ref, nullptr},
      OpDef{"Trilu", 14, 1, 2, 1, 1, {{"upper", A::Int}}, trilu_infer, trilu_ref, nullptr},
      OpDef{"OneHot", 9, 3, 3, 1, 1, {{"axis", A::Int}}, onehot_infer, onehot_ref, nullptr},
      OpDef{"TopK", 1, 1, 2, 2, 2, {{"axis", A::Int}, {"k", A::Int, 1, 9}, {"largest", A::Int, 11}, {"sorted", A::Int, 11}},
            topk_infer, topk_ref, nullptr},
      OpDef{"NonZero", 9, 1, 1, 1, 1, {}, nonzero_infer, nonzero_ref, nullptr},
  };
  for (OpDef& d : v) {
    const std::string n = d.name;
    if (n == "CumSum" || n == "Trilu" || n == "OneHot" || n == "TopK") d.host_inputs = {1};
    if (n == "NonZero") d.host_inputs = {0};
  }
  return v;
}

}  // namespace vkfuse::detail::graph
