// Fused attention and its head-averaged weights: argument checks and dispatch
// (shaders/attention.comp per row, shaders/attention_tiled.comp + attention_combine.comp
// tiled, shaders/attention_weights.comp). CPU reference: ref/attention.cpp.
#include <cmath>

#include "attention_contract.h"
#include "loop_budget.h"
#include "op_util.h"
#include "runtime/workspace.h"

namespace vkfuse {
namespace ops {

namespace {

using Params = shader::AttentionParams;
using shader::FLAG_ATTN_MASK;
using shader::FLAG_KEY_PAD;
using shader::FLAG_LSE;
constexpr int64_t kMaxFusedHeadDim = shader::ATTENTION_MAX_FUSED_D, kWideChunk = shader::ATTENTION_WIDE_CHUNK;
static_assert(shader::SCORE_DOT == uint32_t(Score::Dot) && shader::SCORE_NEG_EUCLIDEAN == uint32_t(Score::NegEuclidean) &&
                  shader::SCORE_NEG_MANHATTAN == uint32_t(Score::NegManhattan),
              "ops::Score is the shaders' SCORE code");

// A [B, H, rows, D] view: its offset and its strides for b, h and the row.
void view4(const Tensor& t, const std::string& op, const char* name, uint32_t& off, uint32_t& sb,
           uint32_t& sh, uint32_t& sr) {
  detail::check_f32(t, op, name);
  detail::require(t.rank() == 4, op, std::string(name) + " " + t.describe() + " should be [B, H, rows, D]");
  detail::require(t.dim(3) <= 1 || t.strides()[3] == 1, op,
                  std::string(name) + " " + t.describe() + " must be contiguous in D");
  off = detail::u32(t.offset());
  sb = detail::u32(t.strides()[0]);
  sh = detail::u32(t.strides()[1]);
  sr = detail::u32(t.strides()[2]);
}

// Checks shapes and fills everything but the output view.
Params common(Sequence& s, const Tensor& q, const Tensor& k, const AttentionOptions& o, const std::string& op,
              detail::Dispatch& d) {
  Params p{};
  view4(q, op, "q", p.off_q, p.sq_b, p.sq_h, p.sq_l);
  view4(k, op, "k", p.off_k, p.sk_b, p.sk_h, p.sk_s);
  const int64_t b = q.dim(0), h = q.dim(1), l = q.dim(2), dd = q.dim(3), sk = k.dim(2);
  detail::require(k.dim(0) == b && k.dim(1) == h && k.dim(3) == dd, op,
                  "k " + k.describe() + " does not match q " + q.describe());
  detail::require(dd >= 1, op, "head dimension must be at least 1");
  // Back-edges per invocation: one per key, plus one per 8 columns of each score when wide.
  const uint64_t per_key = dd <= kMaxFusedHeadDim ? 1 : (static_cast<uint64_t>(dd) + 7) / 8 + 1;
  detail::require(static_cast<uint64_t>(sk) * per_key + 8 <= detail::kLoopBudget, op,
                  std::to_string(sk) + " keys of head dimension " + std::to_string(dd) +
                      " are more than one invocation may loop over (" + std::to_string(detail::kLoopBudget) +
                      " loop steps)");
  p.B = detail::u32(b);
  p.H = detail::u32(h);
  p.L = detail::u32(l);
  p.S = detail::u32(sk);
  p.scale = o.scale != 0.f ? o.scale : 1.f / std::sqrt(static_cast<float>(dd));
  p.d_total = detail::u32(dd);
  d.bindings = {detail::reads(q), detail::reads(k), detail::reads(q), detail::reads(q),
                detail::reads(q), detail::reads(q), detail::reads(q)};
  auto mask = [&](const Tensor* m, int64_t rows, const char* name, uint32_t flag, uint32_t& off, size_t slot) {
    if (!m) return;
    detail::check_f32(*m, op, name);
    detail::require(m->contiguous() && m->shape() == Shape{rows, sk}, op,
                    std::string(name) + " " + m->describe() + " should be contiguous " + shape_string({rows, sk}));
    off = detail::u32(m->offset());
    p.flags |= flag;
    d.bindings[slot] = detail::reads(*m);
  };
  mask(o.key_padding, b, "key padding mask", FLAG_KEY_PAD, p.off_kp, 4);
  mask(o.attn_mask, l, "attention mask", FLAG_ATTN_MASK, p.off_am, 5);
  if (o.causal) {
    detail::require(l == sk, op, "a causal mask needs as many queries as keys, got " + std::to_string(l) + " and " +
                                     std::to_string(sk));
    p.flags |= shader::FLAG_CAUSAL;
  }
  (void)s;
  return p;
}

// The texel variant reads whole texels: D and every offset and stride of q, k and v must be
// multiples of 4, and the texel buffers must reach their storages. Marks bindings 0-2.
bool use_texels(const detail::OpContext& ctx, const Params& p, int64_t d, std::initializer_list<const Tensor*> ts,
                detail::Dispatch& disp) {
  if (!ctx.tuning().attention.texels || d % 4) return false;
  for (uint32_t v : {p.off_q, p.sq_b, p.sq_h, p.sq_l, p.off_k, p.sk_b, p.sk_h, p.sk_s, p.off_v, p.sv_b, p.sv_h, p.sv_s})
    if (v % 4) return false;
  for (const Tensor* t : ts)
    if (t->storage()->device.size / 16 > ctx.caps().max_texel_buffer_elements) return false;
  for (int i = 0; i < 3; ++i) disp.bindings[i].texels = true;
  return true;
}

// The tiled kernel's shape on this device for head dimension d: lanes per row, keys per
// tile (halved until the K/V tiles and the reduction scratch fit shared memory), and whether
// rows reduce by subgroup shuffles.
struct Tiled {
  uint32_t wg = 0, lanes = 0, bc = 0;
  bool subgroup = false;
};

Tiled tiled_shape(const detail::OpContext& ctx, int64_t d) {
  const auto& t = ctx.tuning().attention;
  Tiled r;
  r.wg = t.tiled_wg;
  r.lanes = t.lanes;
  if (r.lanes == 0) {
    r.lanes = 1;
    while (r.lanes < 16 && r.lanes * 16 < d) r.lanes *= 2;
  }
  r.lanes = std::min(r.lanes, r.wg);
  // A row's lanes must share a subgroup, and the workgroup must be whole subgroups of the
  // size the device reports: only where the tuning says the size is fixed (vendor table).
  r.subgroup = ctx.tuning().use_subgroups && t.subgroup_rows && ctx.caps().subgroup_shuffle &&
               ctx.caps().subgroup_size >= r.lanes &&
               r.wg % ctx.caps().subgroup_size == 0;
  r.bc = std::max<uint32_t>(t.bc, 1);
  const uint64_t element = t.fp16_math ? 2 : 4;  // of the K/V tiles
  auto bytes = [&](uint64_t bc) { return 2 * bc * uint64_t(d) * element + (r.subgroup ? 0 : uint64_t(r.wg) * bc * 4); };
  while (r.bc > 1 && bytes(r.bc) > ctx.caps().max_shared_memory) r.bc /= 2;
  return r;
}

void attention_tiled(Sequence& s, const detail::OpContext& ctx, Params p, detail::Dispatch d, int64_t dd,
                     const AttentionOptions& o, const std::string& label) {
  const std::string op = "attention";
  if (uint64_t(p.B) * p.H * p.L == 0) return;  // no query rows: nothing to write
  const Tiled t = tiled_shape(ctx, dd);
  const uint64_t rows_per_group = t.wg / t.lanes;
  const uint64_t blocks = detail::ceil_div(uint64_t(p.L), rows_per_group);
  const uint64_t groups = uint64_t(p.B) * p.H * blocks;
  const uint64_t tiles = detail::ceil_div(uint64_t(p.S), t.bc);
  // Back-edges per invocation: per tile the staging loop's, the tile loop's own and the
  // butterfly's steps (the loops over a tile's keys and columns unroll).
  uint64_t per_tile = detail::ceil_div(uint64_t(t.bc) * dd, t.wg) + 1;
  for (uint32_t l = t.lanes; l > 1; l /= 2) ++per_tile;
  const uint64_t budget = detail::kLoopBudget - 8;
  uint64_t splits = 1;
  const uint32_t below = ctx.tuning().attention.split_below;
  if (groups < below && tiles > 1) splits = std::min<uint64_t>(detail::ceil_div(below, groups), tiles);
  // Long keys: more splits until each workgroup's share stays within the loop budget.
  splits = std::max(splits, std::min(tiles, detail::ceil_div(tiles * per_tile, budget)));
  if (splits > 1) splits = detail::ceil_div(tiles, detail::ceil_div(tiles, splits));  // no split left without keys
  detail::require(detail::ceil_div(tiles, splits) * per_tile <= budget, op,
                  std::to_string(p.S) + " keys of head dimension " + std::to_string(dd) +
                      " are more than one workgroup may loop over (" + std::to_string(detail::kLoopBudget) +
                      " loop steps)");
  detail::require(splits <= detail::kLoopBudget / 4, op, "too many key splits");
  p.splits = detail::u32(splits);
  // The shares live from the split dispatch to the combine one: an intermediate of the
  // sequence's memory plan, given back when this returns.
  detail::Scratch scratch(s);
  Tensor part;
  d.bindings.resize(8, d.bindings[0]);
  if (splits > 1) {
    part = scratch({int64_t(splits) * p.B * p.H * p.L * (dd + 2)});
    d.bindings[7] = detail::writes(part);
  }
  using shader::Variant;
  const bool fp16 = ctx.tuning().attention.fp16_math;
  const Variant kernel = t.subgroup ? (fp16 ? Variant::attention_tiled_subgroup_fp16math : Variant::attention_tiled_subgroup)
                                    : (fp16 ? Variant::attention_tiled_fp16math : Variant::attention_tiled);
  d.pipeline = &ctx.pipeline(kernel, {t.wg, detail::u32(dd), static_cast<uint32_t>(o.score), t.bc, t.lanes});
  d.push = detail::push_bytes(p);
  ctx.split_groups(groups * splits, d.groups);
  d.label = label + " tiled" + (splits > 1 ? " split " + std::to_string(splits) : "");
  const detail::Binding out = d.bindings[3], lse = d.bindings[6];
  detail::add_dispatch(s, std::move(d));
  if (splits == 1) return;
  detail::Dispatch c;
  c.bindings = {detail::reads(part), out, lse};
  const uint32_t wg = ctx.tuning().elementwise_wg;
  c.pipeline = &ctx.pipeline(shader::Variant::attention_combine, {wg, detail::u32(dd)});
  c.push = detail::push_bytes(p);
  ctx.split_groups(detail::ceil_div(uint64_t(p.B) * p.H * p.L * dd, wg), c.groups);
  c.label = label + " combine " + std::to_string(splits);
  detail::add_dispatch(s, std::move(c));
}

}  // namespace

void attention(Sequence& s, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
               const AttentionOptions& o) {
  const std::string op = "attention";
  detail::Dispatch d;
  Params p = common(s, q, k, o, op, d);
  view4(v, op, "v", p.off_v, p.sv_b, p.sv_h, p.sv_s);
  view4(out, op, "out", p.off_o, p.so_b, p.so_h, p.so_l);
  detail::require(v.shape() == k.shape(), op, "v " + v.describe() + " does not match k " + k.describe());
  detail::require(out.shape() == q.shape(), op, "out " + out.describe() + " does not match q " + q.describe());
  for (const Tensor* t : {&q, &k, &v})
    detail::require(t->storage() != out.storage(), op, "out must not share memory with q, k or v");
  d.bindings[2] = detail::reads(v);
  d.bindings[3] = detail::writes(out);
  if (o.lse) {
    detail::check_f32(*o.lse, op, "lse");
    detail::require(o.lse->contiguous() && o.lse->shape() == Shape{q.dim(0), q.dim(1), q.dim(2)}, op,
                    "lse " + o.lse->describe() + " should be contiguous [B, H, L]");
    p.off_lse = detail::u32(o.lse->offset());
    p.flags |= FLAG_LSE;
    d.bindings[6] = detail::writes(*o.lse);
  }
  const detail::OpContext ctx = detail::op_context(s);
  const uint32_t wg = ctx.tuning().attention.wg;
  const int64_t dd = q.dim(3);
  const std::string label = "attention " + std::to_string(p.B * p.H) + "x" + std::to_string(p.L) + "x" +
                            std::to_string(p.S) + " d" + std::to_string(dd);
  p.splits = 1;
  if (dd <= kMaxFusedHeadDim && ctx.tuning().attention.tiled) return attention_tiled(s, ctx, p, std::move(d), dd, o, label);
  if (dd <= kMaxFusedHeadDim) {
    const bool texels = use_texels(ctx, p, dd, {&q, &k, &v}, d);
    d.pipeline = &ctx.pipeline(texels ? shader::Variant::attention_texel : shader::Variant::attention,
                               {wg, detail::u32(dd), static_cast<uint32_t>(o.score)});
    d.push = detail::push_bytes(p);
    ctx.split_groups(detail::ceil_div(uint64_t(p.B) * p.H * p.L, wg), d.groups);
    d.label = label;
    detail::add_dispatch(s, std::move(d));
    return;
  }
  for (int64_t d0 = 0; d0 < dd; d0 += kWideChunk) {
    Params c = p;
    c.d0 = detail::u32(d0);
    if (d0 > 0) c.flags &= ~FLAG_LSE;  // every chunk finds the same row statistics
    detail::Dispatch part = d;
    part.pipeline = &ctx.pipeline(shader::Variant::attention_wide,
                                  {wg, detail::u32(std::min(kWideChunk, dd - d0)), static_cast<uint32_t>(o.score)});
    part.push = detail::push_bytes(c);
    ctx.split_groups(detail::ceil_div(uint64_t(p.B) * p.H * p.L, wg), part.groups);
    part.label = label + " cols " + std::to_string(d0);
    detail::add_dispatch(s, std::move(part));
  }
}

void attention_weights(Sequence& s, const Tensor& q, const Tensor& k, const Tensor& weights,
                       const AttentionOptions& o) {
  const std::string op = "attention_weights";
  detail::Dispatch d;
  Params p = common(s, q, k, o, op, d);
  detail::require(o.lse != nullptr, op, "needs the lse that attention() wrote");
  {  // one invocation loops over the heads, and over each wide score's columns
    const int64_t dd = q.dim(3);
    const uint64_t per_head = dd <= kMaxFusedHeadDim ? 1 : (static_cast<uint64_t>(dd) + 7) / 8 + 1;
    detail::require(static_cast<uint64_t>(q.dim(1)) * per_head + 8 <= detail::kLoopBudget, op,
                    std::to_string(q.dim(1)) + " heads of dimension " + std::to_string(dd) +
                        " are more than one invocation may loop over");
  }
  detail::check_f32(weights, op, "weights");
  detail::require(weights.rank() == 3 && weights.shape() == Shape{q.dim(0), q.dim(2), k.dim(2)} &&
                      weights.strides()[2] == 1,
                  op, "weights " + weights.describe() + " should be [B, L, S] with contiguous S");
  detail::check_f32(*o.lse, op, "lse");
  detail::require(o.lse->contiguous() && o.lse->shape() == Shape{q.dim(0), q.dim(1), q.dim(2)}, op,
                  "lse " + o.lse->describe() + " should be contiguous [B, H, L]");
  p.off_o = detail::u32(weights.offset());
  p.so_b = detail::u32(weights.strides()[0]);
  p.so_l = detail::u32(weights.strides()[1]);
  p.off_lse = detail::u32(o.lse->offset());
  d.bindings[3] = detail::writes(weights);
  d.bindings[6] = detail::reads(*o.lse);
  const detail::OpContext ctx = detail::op_context(s);
  const uint32_t wg = ctx.tuning().attention.wg;
  p.off_v = p.off_q;  // binding 2 is unused here and bound to q
  p.sv_b = p.sq_b;
  p.sv_h = p.sq_h;
  p.sv_s = p.sq_l;
  const bool wide = q.dim(3) > kMaxFusedHeadDim;
  const bool texels = !wide && use_texels(ctx, p, q.dim(3), {&q, &k}, d);
  // The wide kernel reads scores from memory; its D constant only sizes unused arrays.
  using shader::Variant;
  d.pipeline = &ctx.pipeline(wide ? Variant::attention_weights_wide
                             : texels ? Variant::attention_weights_texel : Variant::attention_weights,
                             {wg, wide ? 4u : detail::u32(q.dim(3)), static_cast<uint32_t>(o.score)});
  d.push = detail::push_bytes(p);
  ctx.split_groups(detail::ceil_div(uint64_t(p.B) * p.L * p.S, wg), d.groups);
  d.label = "attention_weights " + std::to_string(p.B) + "x" + std::to_string(p.L) + "x" + std::to_string(p.S);
  detail::add_dispatch(s, std::move(d));
}

}  // namespace ops
}  // namespace vkfuse
