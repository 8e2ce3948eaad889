// y = x / max(||x||_2, eps) over the last axis: argument checks and dispatch. The kernel is
// shaders/layer_norm.comp built with L2_NORMALIZE (the same row reduction). CPU reference:
// ref/l2_normalize.cpp.
#include "row_norm.h"

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
  detail_norm::add_row_norm(
      s, std::move(d), p, op,
      {shader::Variant::l2_normalize, shader::Variant::l2_normalize_texel, shader::Variant::l2_normalize_subgroup});
}

}  // namespace ops
}  // namespace vkfuse
