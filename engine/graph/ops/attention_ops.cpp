// vkfuse.Attention: softmax(score(q, k)·scale + masks) · v per batch entry and head, lowered
// onto ops::attention so the [L, S] score matrix is never stored. graph/fuse.cpp makes it of
// the attention pattern exporters write (MatMul(Q, Kᵀ), scalar scales, additive masks,
// Softmax over the keys, MatMul with V); the archs' graphs write it (models/graph_layers.cpp).
// Not an op of any file.
//   inputs  q [*, L, D], kᵀ [*, D, S], v [*, S, D], then the masks (each broadcasting to
//           [*, L, S]); * is [B, H] or [N] (one head per entry), equal for all three
//   attrs   scale (float): the product of the scalars the pattern multiplied by (0: 1/√D);
//           masks (ints): per mask, 0 for a key padding mask (one row per batch entry,
//           [B|1, 1, 1, S]), 1 for an attention mask shared by the batch and heads ([L, S]);
//           heads_merged (int): 1 when a Transpose merging the heads reads the output, which is
//           then written in its layout ([L, N, D] or [B, L, H, D]);
//           causal (int): 1 masks key j > query l, computed in the kernel;
//           score (int): ops::Score (0 dot product, 1 -‖q-k‖², 2 -‖q-k‖₁)
//   outputs [*, L, D], and optionally the probabilities averaged over the heads [B, L, S]
#include "attention_contract.h"
#include "graph/ops/rules.h"
#include "ops/loop_budget.h"

#include <algorithm>
#include <limits>

namespace vkfuse::detail::graph {

namespace {

// [N, L, D] as [N, 1, L, D] (one head per entry); 4-D as it is. The kernel reads any strides
// but a contiguous last axis.
Tensor as_heads(Lowering& l, Tensor t) {
  if (t.strides().back() != 1 && t.dim(-1) > 1) t = l.contiguous(t);
  if (t.rank() == 4) return t;
  const Shape& s = t.strides();
  return t.view({t.dim(0), 1, t.dim(1), t.dim(2)}, {s[0], s[0], s[1], s[2]}, t.offset());
}

void attention_lower(Lowering& l, const Step& st) {
  const Node& n = *st.node;
  Tensor q = as_heads(l, l.in(st, 0)), v = as_heads(l, l.in(st, 2)), out;
  if (n.attrs.i("heads_merged", 0)) {
    // Written as the Transpose after it reads it: [L, N, D] or [B, L, H, D], viewed back.
    const Shape& s = l.info(st.outputs[0]).shape;
    const bool three = s.size() == 3;
    Tensor buf = l.scratch(three ? Shape{s[1], s[0], s[2]} : Shape{s[0], s[2], s[1], s[3]}, DType::F32);
    const Tensor view = buf.permute(three ? std::vector<int>{1, 0, 2} : std::vector<int>{0, 2, 1, 3});
    l.set(st, 0, view);
    out = as_heads(l, view);
  } else {
    out = as_heads(l, l.out(st, 0));
  }
  Tensor kt = l.in(st, 1);
  std::vector<int> swap(size_t(kt.rank()));
  for (size_t k = 0; k < swap.size(); ++k) swap[k] = int(k);
  std::swap(swap[swap.size() - 1], swap[swap.size() - 2]);
  Tensor k = as_heads(l, kt.permute(swap));
  const int64_t b = q.dim(0), len = q.dim(2), keys = k.dim(2);
  ops::AttentionOptions o;
  o.scale = n.attrs.f("scale", 0.f);
  o.causal = n.attrs.i("causal", 0) != 0;
  o.score = ops::Score(n.attrs.i("score", 0));
  const std::vector<int64_t> kinds = n.attrs.ints("masks");
  Tensor pad, mask;
  for (size_t m = 0; m < kinds.size(); ++m) {
    Tensor t = l.contiguous(l.in(st, 3 + m));
    if (kinds[m] == 0) {
      // [b, S] with b 1 or B: a shared row is repeated for every batch entry.
      Tensor rows = t.reshape({t.numel() / keys, keys});
      pad = rows.dim(0) == b ? rows : l.contiguous(rows.view({b, keys}, {0, 1}, rows.offset()));
      o.key_padding = &pad;
    } else {
      mask = t.reshape({len, keys});
      o.attn_mask = &mask;
    }
  }
  const bool weights = st.outputs.size() > 1 && st.outputs[1] != kNone;
  Tensor lse = weights ? l.scratch({b, q.dim(1), len}, DType::F32) : Tensor();
  if (weights) o.lse = &lse;
  ops::attention(l.seq(), q, k, v, out, o);
  if (weights) ops::attention_weights(l.seq(), q, k, l.out(st, 1), o);
}

void attention_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  const Shape& q = c.shape(0);
  const Shape& kt = c.shape(1);
  const Shape& v = c.shape(2);
  const size_t r = q.size();
  if ((r != 3 && r != 4) || kt.size() != r || v.size() != r)
    c.fail("q " + shape_string(q) + ", kᵀ " + shape_string(kt) + " and v " + shape_string(v) +
           " should all be [N, L, D] or [B, H, L, D]");
  const int64_t keys = kt[r - 1];
  if (kt[r - 2] != q[r - 1] || v[r - 2] != keys || !std::equal(q.begin(), q.end() - 2, kt.begin()) ||
      !std::equal(q.begin(), q.end() - 2, v.begin()))
    c.fail("q " + shape_string(q) + ", kᵀ " + shape_string(kt) + " and v " + shape_string(v) + " do not agree");
  const std::vector<int64_t> kinds = c.attrs().ints("masks");
  if (c.inputs() != 3 + kinds.size()) c.fail("takes one mask kind per mask input");
  out[0] = {Elem::Float, q};
  out[0].shape.back() = v.back();
  if (out.size() > 1) out[1] = {Elem::Float, {q[0], q[r - 2], keys}};
}

// The same in the references' terms: heads split, kᵀ back to k, masks to [B, S] and [L, S]
// (the causal mask added to the latter), then ref::attention (in double).
void attention_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  const Shape& qs = in[0]->shape;
  const size_t r = qs.size();
  const int64_t b = qs[0], h = r == 4 ? qs[1] : 1, len = qs[r - 2], d = qs[r - 1], keys = in[1]->shape[r - 1],
                dv = in[2]->shape[r - 1];
  if (dv != d) c.fail("the reference takes v of q's head dimension");
  std::vector<float> k(size_t(b * h * keys * d));
  for (int64_t e = 0; e < b * h; ++e)
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = 0; j < keys; ++j) k[size_t((e * keys + j) * d + i)] = in[1]->f[size_t((e * d + i) * keys + j)];
  std::vector<float> pad, mask;
  const std::vector<int64_t> kinds = c.attrs().ints("masks");
  for (size_t m = 0; m < kinds.size(); ++m) {
    const HostArray& a = *in[3 + m];
    if (kinds[m] == 0) {
      const int64_t rows = a.numel() / keys;
      pad.resize(size_t(b * keys));
      for (int64_t e = 0; e < b; ++e)
        for (int64_t j = 0; j < keys; ++j) pad[size_t(e * keys + j)] = a.f[size_t((rows == b ? e : 0) * keys + j)];
    } else {
      mask = a.f;
    }
  }
  if (c.attrs().i("causal", 0)) {
    if (mask.empty()) mask.assign(size_t(len * keys), 0.f);
    for (int64_t i = 0; i < len; ++i)
      for (int64_t j = i + 1; j < keys; ++j) mask[size_t(i * keys + j)] = -std::numeric_limits<float>::infinity();
  }
  out[0] = make_array(Elem::Float, qs);
  if (out.size() > 1) out[1] = make_array(Elem::Float, {b, len, keys});
  ref::attention(in[0]->f.data(), k.data(), in[2]->f.data(), out[0].f.data(), out.size() > 1 ? out[1].f.data() : nullptr,
                 b, h, len, keys, d, ops::Score(c.attrs().i("score", 0)), c.attrs().f("scale", 0.f),
                 pad.empty() ? nullptr : pad.data(), mask.empty() ? nullptr : mask.data());
}

}  // namespace

bool fused_attention_fits(int64_t keys, int64_t head_dim) {
  // As ops::attention bounds an invocation's loop: one step per key, and one per 8 columns of
  // each score beyond the widest fused head.
  const uint64_t per_key = head_dim <= shader::ATTENTION_MAX_FUSED_D ? 1 : uint64_t(head_dim + 7) / 8 + 1;
  return keys >= 1 && head_dim >= 1 && uint64_t(keys) * per_key + 8 <= kLoopBudget;
}

std::vector<OpDef> attention_ops() {
  return {OpDef{"vkfuse.Attention", 1, 3, 5, 1, 2, {}, attention_infer, attention_ref, attention_lower}};
}

const OpDef& fused_attention_op() {
  static const OpDef* def = find_any_op("vkfuse.Attention");
  return *def;
}

}  // namespace vkfuse::detail::graph
