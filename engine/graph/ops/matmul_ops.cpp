// MatMul (numpy's batched, broadcasting matrix product) and Gemm: shape rules, a double
// reference, and the lowering onto ops::matmul, with a constant B uploaded once as the
// device's weight matrix (Context::matrix) and the epilogue (bias, activation, residual)
// that graph/fuse.cpp folds in.
#include "graph/ops/rules.h"

namespace vkfuse::detail::graph {

namespace {

using namespace rules;

// The batched product of a [*ba, M, K] and b [*bb, K, N] (1-D operands promoted as numpy
// does), in double.
struct Product {
  Shape a, b;        // promoted to rank >= 2
  Shape batch;       // broadcast batch
  Shape out;         // the result's shape, promoted axes dropped
  int64_t m = 0, k = 0, n = 0;
};

Product product_of(const NodeCtx& c, const Shape& as, const Shape& bs) {
  if (as.empty() || bs.empty()) c.fail("MatMul does not take scalars");
  Product p;
  p.a = as.size() == 1 ? Shape{1, as[0]} : as;
  p.b = bs.size() == 1 ? Shape{bs[0], 1} : bs;
  p.m = p.a[p.a.size() - 2], p.k = p.a.back(), p.n = p.b.back();
  if (p.b[p.b.size() - 2] != p.k)
    c.fail("inner sizes differ: A " + shape_string(as) + ", B " + shape_string(bs));
  p.batch = broadcast(c, Shape(p.a.begin(), p.a.end() - 2), Shape(p.b.begin(), p.b.end() - 2));
  p.out = p.batch;
  if (as.size() > 1) p.out.push_back(p.m);
  if (bs.size() > 1) p.out.push_back(p.n);
  return p;
}

void matmul_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  if (!elem_is_float(c.in(0).type) || !elem_is_float(c.in(1).type)) c.fail("takes floats");
  out[0] = {c.in(0).type, product_of(c, c.shape(0), c.shape(1)).out};
}

// The flat offset of batch index `bi` (of `batch`) in an operand whose batch dims are `own`
// (right-aligned, broadcasting).
int64_t batch_offset(const Shape& batch, int64_t bi, const Shape& own, int64_t matrix) {
  int64_t off = 0, stride = matrix;
  for (size_t d = batch.size(); d-- > 0;) {
    const int64_t idx = bi % batch[d];
    bi /= batch[d];
    const size_t od = d + own.size();
    if (od >= batch.size()) {
      const int64_t size = own[od - batch.size()];
      if (size != 1) off += idx * stride;
      stride *= size;
    }
  }
  return off;
}

void matmul_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  const Product p = product_of(c, c.shape(0), c.shape(1));
  out[0] = make_array(c.in(0).type, p.out);
  const Shape ab(p.a.begin(), p.a.end() - 2), bb(p.b.begin(), p.b.end() - 2);
  const int64_t batches = shape_numel(p.batch);
  float* y = out[0].f.data();
  for (int64_t bi = 0; bi < batches; ++bi) {
    const float* a = in[0]->f.data() + batch_offset(p.batch, bi, ab, p.m * p.k);
    const float* b = in[1]->f.data() + batch_offset(p.batch, bi, bb, p.k * p.n);
    for (int64_t i = 0; i < p.m; ++i)
      for (int64_t j = 0; j < p.n; ++j) {
        double s = 0;
        for (int64_t t = 0; t < p.k; ++t) s += double(a[i * p.k + t]) * b[t * p.n + j];
        y[(bi * p.m + i) * p.n + j] = float(s);
      }
  }
}

// The epilogue's tensors for ops::matmul: a constant bias folded to [N] (the op's own bias,
// scaled by `beta`, plus the Add graph/fuse.cpp folded in), the activation, and the residual
// (of the output's shape) as a contiguous tensor reshaped to the kernel's C.
void epilogue(Lowering& l, const Step& st, ops::MatmulOptions& o, Tensor& bias, Tensor& res, int64_t n,
              const HostArray* own_bias, float own_beta, const Shape& c_shape) {
  const bool folded = st.epi.bias != kNone;
  if (folded || own_bias) {
    HostArray b = make_array(Elem::Float, {n});
    auto add = [&](const HostArray* a, float scale) {
      for (int64_t k = 0; k < n; ++k) b.f[size_t(k)] += scale * float(a->at(a->numel() == 1 ? 0 : k));
    };
    if (own_bias) add(own_bias, own_beta);
    if (folded) add(l.known(st.epi.bias), 1.f);
    bias = l.constant("matmul_bias:" + l.node_key(st), b);
    o.bias = &bias;
  }
  o.act = st.epi.act;
  o.act_alpha = st.epi.alpha;
  o.act_beta = st.epi.beta;
  if (st.epi.residual != kNone) {
    for (size_t k = 0; k < st.inputs.size(); ++k)
      if (st.inputs[k] == st.epi.residual) res = l.in(st, k);
    res = l.contiguous(res).reshape(c_shape);
    o.residual = &res;
  }
}

// y2 [rows, N] = x2 [rows, K] · Bᵀ with B the constant `b` as the device's [N, K] weight
// matrix, in column blocks where [N, K] is larger than one storage buffer holds (AlexNet's
// 4096 x 9216 classifier is 151 MB, over the 128 MiB a phone's buffer may cover); each block
// takes its slice of the epilogue's bias and residual.
void matmul_weight(Lowering& l, const Tensor& x2, ValueId b, bool transpose, int64_t k, int64_t n, const Tensor& y2,
                   const ops::MatmulOptions& o) {
  const int64_t rows = x2.dim(0), per = l.weight_rows_per_buffer(k);
  if (n <= per) {
    ops::matmul(l.seq(), x2, l.weight_matrix(b, transpose), y2, o);
    return;
  }
  for (int64_t n0 = 0; n0 < n; n0 += per) {
    const int64_t cnt = std::min(per, n - n0);
    ops::MatmulOptions q = o;
    q.trans_b = true;
    Tensor bias, res;
    if (o.bias) {
      bias = o.bias->view({cnt}, {1}, o.bias->offset() + n0);
      q.bias = &bias;
    }
    if (o.residual) {
      res = o.residual->view({rows, cnt}, {n, 1}, o.residual->offset() + n0);
      q.residual = &res;
    }
    ops::matmul(l.seq(), x2, l.weight_matrix(b, transpose, n0, cnt), y2.view({rows, cnt}, {n, 1}, y2.offset() + n0), q);
  }
}

// A view of t broadcast to `shape` (stride 0 along the broadcast axes).
Tensor expand(const Tensor& t, const Shape& shape) {
  Shape st(shape.size(), 0);
  for (int d = 0; d < t.rank(); ++d) {
    const size_t od = shape.size() - size_t(t.rank()) + size_t(d);
    st[od] = t.shape()[size_t(d)] == 1 ? 0 : t.strides()[size_t(d)];
  }
  return t.view(shape, st, t.offset());
}

Shape with_matrix(Shape batch, int64_t r, int64_t c) {
  batch.push_back(r);
  batch.push_back(c);
  return batch;
}

// Operand t (of promoted shape `own`) as a contiguous [batches, r, c] of the full batch,
// copied where it broadcasts along the batch.
Tensor batched(Lowering& l, const Tensor& t, const Shape& own, const Product& p, int64_t r, int64_t c) {
  Tensor x = l.contiguous(t).reshape(own);
  const Shape full = with_matrix(p.batch, r, c);
  if (own != full) x = l.contiguous(expand(x, full));
  return x.reshape({shape_numel(p.batch), r, c});
}

void matmul_lower(Lowering& l, const Step& st) {
  const NodeCtx c = l.node_ctx(st);
  const Product p = product_of(c, c.shape(0), c.shape(1));
  Tensor y = l.out(st, 0);
  const int64_t batches = shape_numel(p.batch);
  ops::MatmulOptions o;
  Tensor bias, res;
  const HostArray* kb = l.known(st.inputs[1]);
  const Shape bb(p.b.begin(), p.b.end() - 2);
  if (kb && kb->is_float() && shape_numel(bb) == 1) {
    // A constant B without batch (a layer's weight): every row of every batch of A against
    // it, B uploaded once as the device's [N, K] weight matrix.
    Tensor w;
    const bool weight = l.graph().constant(st.inputs[1]) == kb && kb->shape.size() == 2;
    if (!weight) {
      HostArray t = make_array(Elem::Float, {p.n, p.k});  // folded for this shape: transposed here
      for (int64_t i = 0; i < p.k; ++i)
        for (int64_t j = 0; j < p.n; ++j) t.f[size_t(j * p.k + i)] = kb->f[size_t(i * p.n + j)];
      w = l.constant("matmul_b^T:" + l.node_key(st), t);
    }
    o.trans_b = true;
    const Shape y2 = {batches * p.m, p.n};
    Tensor x = batched(l, l.in(st, 0), p.a, p, p.m, p.k).reshape({batches * p.m, p.k});
    epilogue(l, st, o, bias, res, p.n, nullptr, 0.f, y2);
    if (weight) matmul_weight(l, x, st.inputs[1], true, p.k, p.n, y.reshape(y2), o);
    else ops::matmul(l.seq(), x, w, y.reshape(y2), o);
    return;
  }
  const Shape y3 = {batches, p.m, p.n};
  Tensor a = batched(l, l.in(st, 0), p.a, p, p.m, p.k);
  Tensor b = shape_numel(bb) == 1 ? l.contiguous(l.in(st, 1)).reshape({p.k, p.n}) : batched(l, l.in(st, 1), p.b, p, p.k, p.n);
  epilogue(l, st, o, bias, res, p.n, nullptr, 0.f, y3);
  ops::matmul(l.seq(), a, b, y.reshape(y3), o);
}

// ---- Gemm: Y = alpha·A'·B' + beta·C, A' and B' transposed by transA, transB ----

struct GemmDims {
  int64_t m, k, n;
};

GemmDims gemm_dims(const NodeCtx& c) {
  const Shape& a = c.shape(0);
  const Shape& b = c.shape(1);
  if (a.size() != 2 || b.size() != 2) c.fail("A " + shape_string(a) + " and B " + shape_string(b) + " should be matrices");
  const bool ta = c.attrs().i("transA", 0) != 0, tb = c.attrs().i("transB", 0) != 0;
  GemmDims d{ta ? a[1] : a[0], ta ? a[0] : a[1], tb ? b[0] : b[1]};
  if ((tb ? b[1] : b[0]) != d.k) c.fail("inner sizes differ: A " + shape_string(a) + ", B " + shape_string(b));
  return d;
}

// Whether C (when present) broadcasts as a row [N] (or a scalar): then it is the kernel's bias.
bool c_is_row(const NodeCtx& c, const GemmDims& d) {
  if (!c.has(2)) return true;
  const Shape& s = c.shape(2);
  return shape_numel(s) == 1 || (s.size() == 1 && s[0] == d.n) || (s.size() == 2 && s[0] == 1 && s[1] == d.n);
}

void gemm_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  if (!elem_is_float(c.in(0).type)) c.fail("takes floats");
  const GemmDims d = gemm_dims(c);
  if (c.has(2)) broadcast(c, c.shape(2), {d.m, d.n});
  if (c.has(2) && ref::broadcast_shape(c.shape(2), {d.m, d.n}) != Shape{d.m, d.n})
    c.fail("C " + shape_string(c.shape(2)) + " does not broadcast to [" + std::to_string(d.m) + "," + std::to_string(d.n) + "]");
  out[0] = {c.in(0).type, {d.m, d.n}};
}

void gemm_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  const GemmDims d = gemm_dims(c);
  const bool ta = c.attrs().i("transA", 0) != 0, tb = c.attrs().i("transB", 0) != 0;
  const double alpha = c.attrs().f("alpha", 1.f), beta = c.attrs().f("beta", 1.f);
  out[0] = make_array(c.in(0).type, {d.m, d.n});
  const HostArray* cc = c.has(2) ? in[2] : nullptr;
  Shape cs = cc ? cc->shape : Shape{};
  while (cs.size() < 2) cs.insert(cs.begin(), 1);
  for (int64_t i = 0; i < d.m; ++i)
    for (int64_t j = 0; j < d.n; ++j) {
      double s = 0;
      for (int64_t t = 0; t < d.k; ++t)
        s += double(in[0]->f[size_t(ta ? t * d.m + i : i * d.k + t)]) * in[1]->f[size_t(tb ? j * d.k + t : t * d.n + j)];
      s *= alpha;
      if (cc) s += beta * cc->at((cs[0] == 1 ? 0 : i) * cs[1] + (cs[1] == 1 ? 0 : j));
      out[0].f[size_t(i * d.n + j)] = float(s);
    }
}

void gemm_lower(Lowering& l, const Step& st) {
  const NodeCtx c = l.node_ctx(st);
  const GemmDims d = gemm_dims(c);
  const bool ta = c.attrs().i("transA", 0) != 0, tb = c.attrs().i("transB", 0) != 0;
  const float alpha = c.attrs().f("alpha", 1.f), beta = c.attrs().f("beta", 1.f);
  Tensor a = l.in(st, 0);
  a = ta ? l.contiguous(a.permute({1, 0})) : l.contiguous(a);
  ops::MatmulOptions o;
  o.alpha = alpha;
  Tensor b;
  const HostArray* kb = l.known(st.inputs[1]);
  const bool weight = kb && kb->is_float() && l.graph().constant(st.inputs[1]) == kb;
  if (weight) {
    o.trans_b = true;
  } else {
    b = l.contiguous(l.in(st, 1));
    o.trans_b = tb;
  }
  Tensor y = l.out(st, 0), bias, res;
  const HostArray* kc = l.has(st, 2) ? l.known(st.inputs[2]) : nullptr;
  if (c_is_row(c, d) && (!l.has(st, 2) || kc)) {
    epilogue(l, st, o, bias, res, d.n, kc, beta, {d.m, d.n});
    if (weight) matmul_weight(l, a, st.inputs[1], !tb, d.k, d.n, y, o);
    else ops::matmul(l.seq(), a, b, y, o);
    return;
  }
  // C of the output's shape (or a column, or computed on the device): the product first,
  // then + beta·C, then the epilogue's activation and residual as pointwise steps.
  Tensor t = l.scratch({d.m, d.n}, DType::F32);
  if (weight) matmul_weight(l, a, st.inputs[1], !tb, d.k, d.n, t, o);
  else ops::matmul(l.seq(), a, b, t, o);
  Tensor cv = expand(l.in(st, 2), {d.m, d.n});
  HostArray bs = make_array(Elem::Float, {});
  bs.f = {beta};
  Tensor bt = l.constant("gemm_beta:" + std::to_string(beta), bs);
  const bool more = st.epi.any();
  Tensor u = more ? l.scratch({d.m, d.n}, DType::F32) : y;
  ops::pointwise(l.seq(), ops::Pointwise::MulAdd, {&cv, &bt, &t}, u);
  if (!more) return;
  if (st.epi.bias != kNone) l.fail(st, "a bias folded into a Gemm whose C is not a row (a bug in graph/fuse.cpp)");
  Tensor v = u;
  if (st.epi.act != ops::Activation::None) {
    v = st.epi.residual != kNone ? l.scratch({d.m, d.n}, DType::F32) : y;
    ops::PointwiseOptions po;
    po.act = st.epi.act;
    po.alpha = st.epi.alpha;
    po.beta = st.epi.beta;
    ops::pointwise(l.seq(), ops::Pointwise::Activate, {&u}, v, po);
  }
  if (st.epi.residual != kNone) {
    for (size_t k = 0; k < st.inputs.size(); ++k)
      if (st.inputs[k] == st.epi.residual) res = l.in(st, k);
    ops::pointwise(l.seq(), ops::Pointwise::Add, {&v, &res}, y);
  }
}

}  // namespace

std::vector<OpDef> matmul_ops() {
  return {
      OpDef{"MatMul", 1, 2, 2, 1, 1, {}, matmul_infer, matmul_ref, matmul_lower},
      OpDef{"Gemm", 1, 2, 3, 1, 1,
            {{"alpha", A::Float}, {"beta", A::Float}, {"transA", A::Int}, {"transB", A::Int}, {"broadcast", A::Int, 1, 6}},
            gemm_infer, gemm_ref, gemm_lower},
  };
}

}  // namespace vkfuse::detail::graph
