// y = x / max(||x||_2, eps) over the last axis: argument checks and dispatch. The kernel is
// shaders/layer_norm.comp built with L2_NORMALIZE (the same row reduction). CPU reference:
// ref/l2_normalize.cpp.
#include "layer_norm_contract.h"
#include "op_util.h"

namespace vkfuse {
namespace ops {

void l2_normalize(Sequence& s, const Tensor& x, const Tensor& y, float eps) {
  const std::string op = "l2_normalize";
  const auto [rx, ry] = detail::same_rows(x, y, op);
  detail::require(rx.n > 0, op, "rows are empty");
  detail::require(eps >= 0.f, op, "eps must not be negative");
  shader::LayerNormParams p{rx.rows, rx.n, rx.ld, ry.ld, 0, detail::u32(x.offset()), detail::u32(y.offset()), 0, 0, 0, 0, eps};
  detail::Dispatch d;
  d.bindings = {detail::reads(x), detail::writes(y), detail::reads(x), detail::reads(x), detail::reads(x)};
  detail::ContextImpl& ctx = detail::context_of(s);
  const auto& t = ctx.tuning.layer_norm;
  const uint32_t tpr = detail::row_tpr(rx.n, t.tpr, t.wg, op);
  const bool sg = ctx.tuning.use_subgroups && tpr == t.wg;
  d.pipeline = &ctx.pipelines->get(sg ? "l2_normalize_subgroup" : "l2_normalize", {t.wg, tpr}, 5, sizeof(p));
  d.push = detail::push_bytes(p);
  detail::split_groups(ctx, detail::ceil_div(rx.rows, t.wg / tpr), d.groups);
  d.label = "l2_normalize " + std::to_string(rx.rows) + "x" + std::to_string(rx.n);
  detail::add_dispatch(s, std::move(d));
}

}  // namespace ops
}  // namespace vkfuse
