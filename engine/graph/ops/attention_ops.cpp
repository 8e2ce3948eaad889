// The fused attention step that graph/fuse.cpp makes of the attention pattern exporters write
// (MatMul(Q, Kᵀ), scalar scales, additive masks, Softmax over the keys, MatMul with V):
// lowered onto ops::attention, so the [L, S] score matrix is never stored. Not an op of any
// file: only the passes make it.
//   inputs  q [*, L, D], kᵀ [*, D, S], v [*, S, D], then the masks (each broadcasting to
//           [*, L, S]); * is [B, H] or [N] (one head per entry), equal for all three
//   attrs   scale (float): the product of the scalars the pattern multiplied by;
//           masks (ints): per mask, 0 for a key padding mask (one row per batch entry,
//           [B|1, 1, 1, S]), 1 for an attention mask shared by the batch and heads ([L, S]);
//           heads_merged (int): 1 when a Transpose merging the heads reads the output, which is
//           then written in its layout ([L, N, D] or [B, L, H, D])
//   output  [*, L, D]
#include "attention_contract.h"
#include "graph/ops/rules.h"
#include "ops/loop_budget.h"

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
  ops::attention(l.seq(), q, k, v, out, o);
}

}  // namespace

bool fused_attention_fits(int64_t keys, int64_t head_dim) {
  // As ops::attention bounds an invocation's loop: one step per key, and one per 8 columns of
  // each score beyond the widest fused head.
  const uint64_t per_key = head_dim <= shader::ATTENTION_MAX_FUSED_D ? 1 : uint64_t(head_dim + 7) / 8 + 1;
  return keys >= 1 && head_dim >= 1 && uint64_t(keys) * per_key + 8 <= kLoopBudget;
}

const OpDef& fused_attention_op() {
  static const OpDef def{"Attention (fused)", 1, 3, 5, 1, 1, {}, nullptr, nullptr, attention_lower};
  return def;
}

}  // namespace vkfuse::detail::graph
