// layer norm over the last axis: argument checks and dispatch (shaders/layer_norm.comp).
// CPU reference: ref/layer_norm.cpp.
#include "row_norm.h"

namespace vkfuse {
namespace ops {

void layer_norm(Sequence& s, const Tensor& x, const Tensor& y, const LayerNormOptions& o) {
  const std::string op = "layer_norm";
  const auto [rx, ry] = detail::same_rows(x, y, op);
  detail::require(rx.n > 0, op, "rows are empty");
  shader::LayerNormParams p{rx.rows, rx.n, rx.ld, ry.ld, 0, detail::u32(x.offset()), detail::u32(y.offset()), 0, 0, 0, 0, o.eps};
  detail::Dispatch d;
  d.bindings = {detail::reads(x), detail::writes(y), detail::reads(x), detail::reads(x), detail::reads(x)};
  const uint32_t n = rx.n;  // C++17 lambdas cannot capture a structured binding (clang refuses)
  auto vec = [&](const Tensor* t, const char* name, uint32_t bit, uint32_t& off, size_t slot) {
    if (!t) return;
    detail::check_f32(*t, op, name);
    detail::require(t->rank() == 1 && t->dim(0) == n && (t->strides()[0] == 1 || n == 1), op,
                    std::string(name) + " " + t->describe() + " should be contiguous [" + std::to_string(n) + "]");
    off = detail::u32(t->offset());
    p.flags |= bit;
    d.bindings[slot] = detail::reads(*t);
  };
  vec(o.weight, "weight", shader::LN_WEIGHT, p.off_w, 3);
  vec(o.bias, "bias", shader::LN_BIAS, p.off_b, 4);
  if (o.residual) {
    detail::Rows rr = detail::as_rows(*o.residual, op, "residual");
    detail::require(rr.rows == rx.rows && rr.n == rx.n, op,
                    "residual " + o.residual->describe() + " differs from x " + x.describe());
    p.ldr = rr.ld;
    p.off_r = detail::u32(o.residual->offset());
    p.flags |= shader::LN_RESIDUAL;
    d.bindings[2] = detail::reads(*o.residual);
  }
  detail_norm::add_row_norm(
      s, std::move(d), p, op,
      {shader::Variant::layer_norm, shader::Variant::layer_norm_texel, shader::Variant::layer_norm_subgroup});
}

}  // namespace ops
}  // namespace vkfuse
