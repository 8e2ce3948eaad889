// gather: argument checks and dispatch (shaders/gather.comp). CPU reference: ref/gather.cpp.
#include "gather_contract.h"
#include "op_util.h"

namespace vkfuse {
namespace ops {

void gather(Sequence& s, const Tensor& x, const Tensor& indices, const Tensor& y, int axis) {
  using detail::require;
  const std::string op = "gather";
  require(x.defined() && y.defined() && x.dtype() == y.dtype() && (x.dtype() == DType::F32 || x.dtype() == DType::I32), op,
          "x and y must both be F32 or both I32");
  require(indices.defined() && indices.dtype() == DType::I32 && indices.contiguous(), op,
          "indices " + indices.describe() + " must be contiguous I32");
  require(x.contiguous() && y.contiguous(), op, "x " + x.describe() + " and y " + y.describe() + " must be contiguous");
  require(axis >= 0 && axis < x.rank(), op, "axis " + std::to_string(axis) + " is outside x " + x.describe());
  Shape want(x.shape().begin(), x.shape().begin() + axis);
  want.insert(want.end(), indices.shape().begin(), indices.shape().end());
  want.insert(want.end(), x.shape().begin() + axis + 1, x.shape().end());
  require(y.shape() == want, op, "y " + y.describe() + " should be " + shape_string(want));
  require(x.dim(axis) >= 1 || y.numel() == 0, op, "gathers from an empty axis");
  int64_t inner = 1;
  for (int d = axis + 1; d < x.rank(); ++d) inner *= x.shape()[size_t(d)];
  shader::GatherParams p{};
  p.n = detail::u32(y.numel());
  p.axis = detail::u32(x.dim(axis));
  p.inner = detail::u32(std::max<int64_t>(inner, 1));
  p.indices = detail::u32(std::max<int64_t>(indices.numel(), 1));
  p.off_x = detail::u32(x.offset());
  p.off_idx = detail::u32(indices.offset());
  p.off_y = detail::u32(y.offset());
  const detail::OpContext ctx = detail::op_context(s);
  const uint32_t wg = ctx.tuning().elementwise_wg;
  detail::Dispatch d;
  d.pipeline = &ctx.pipeline(shader::Variant::gather, {wg});
  d.bindings = {detail::reads(x), detail::reads(indices), detail::writes(y)};
  d.push = detail::push_bytes(p);
  ctx.split_groups(detail::ceil_div(p.n, wg), d.groups);
  if (p.n == 0) d.groups[0] = 0;
  d.label = "gather " + shape_string(x.shape()) + " axis " + std::to_string(axis) + " by " + shape_string(indices.shape());
  detail::add_dispatch(s, std::move(d));
}

}  // namespace ops
}  // namespace vkfuse
