// softmax over the last axis: argument checks and dispatch (shaders/softmax.comp). CPU
// reference: ref/softmax.cpp.
#include "op_util.h"
#include "softmax_contract.h"

namespace vkfuse {
namespace ops {

void softmax(Sequence& s, const Tensor& x, const Tensor& y, const SoftmaxOptions& o) {
  const std::string op = "softmax";
  const auto [rx, ry] = detail::same_rows(x, y, op);
  shader::SoftmaxParams p{rx.rows, rx.n, rx.ld, ry.ld, detail::u32(x.offset()), detail::u32(y.offset()), 0, 1, 0, o.scale,
                          o.log ? 1u : 0u};
  detail::Dispatch d;
  d.bindings = {detail::reads(x), detail::writes(y), detail::reads(x)};
  if (o.mask) {
    detail::check_f32(*o.mask, op, "mask");
    detail::require(o.mask->contiguous() && o.mask->rank() >= 1 && o.mask->dim(-1) == rx.n, op,
                    "mask " + o.mask->describe() + " should be contiguous [R, " + std::to_string(rx.n) + "]");
    p.mask_rows = detail::u32(o.mask->numel() / std::max<int64_t>(rx.n, 1));
    detail::require(p.mask_rows > 0, op, "mask is empty");
    p.off_mask = detail::u32(o.mask->offset());
    p.has_mask = 1;
    d.bindings[2] = detail::reads(*o.mask);
  }
  const detail::OpContext ctx = detail::op_context(s);
  const auto& t = ctx.tuning().softmax;
  // lavapipe: one invocation per row reading x as texels, where the row fits the loop budget
  // (three passes over n/4 texels) and the texel buffer covers x; otherwise the portable kernel.
  const bool texels = t.texels && t.tpr == 1 && detail::row_edges(rx.n / 4 + 2, 1, 3, 0) <= detail::kLoopBudget &&
                      x.storage()->device.size / 16 <= ctx.caps().max_texel_buffer_elements;
  const uint32_t tpr = texels ? 1u : detail::row_tpr(rx.n, t.tpr, t.wg, op);
  const bool sg = !texels && ctx.tuning().use_subgroups && tpr == t.wg;
  if (texels) d.bindings[0] = detail::reads_texels(x);
  using shader::Variant;
  d.pipeline = &ctx.pipeline(texels ? Variant::softmax_texel : sg ? Variant::softmax_subgroup : Variant::softmax,
                             {t.wg, tpr});
  d.push = detail::push_bytes(p);
  ctx.split_groups(detail::ceil_div(rx.rows, t.wg / tpr), d.groups);
  d.label = std::string(o.log ? "log_softmax " : "softmax ") + std::to_string(rx.rows) + "x" + std::to_string(rx.n);
  detail::add_dispatch(s, std::move(d));
}

}  // namespace ops
}  // namespace vkfuse
