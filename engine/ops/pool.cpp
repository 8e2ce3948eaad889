// pool: argument checks and dispatch (shaders/pool.comp). CPU reference: ref/pool.cpp.
#include "loop_budget.h"
#include "op_util.h"
#include "pool_contract.h"

namespace vkfuse {
namespace ops {

void pool(Sequence& s, const Tensor& x, const Tensor& y, PoolKind kind, const PoolOptions& o) {
  using detail::require;
  const std::string op = kind == PoolKind::Max ? "max_pool" : "average_pool";
  for (const Tensor* t : {&x, &y}) {
    detail::check_f32(*t, op, "operand");
    require(t->contiguous(), op, t->describe() + " must be contiguous");
  }
  const int sp = x.rank() - 2;
  require(sp >= 1 && sp <= 3 && y.rank() == x.rank(), op,
          "x " + x.describe() + " and y " + y.describe() + " should be [N, C, *spatial] with 1 to 3 spatial axes");
  require(y.dim(0) == x.dim(0) && y.dim(1) == x.dim(1), op, "y " + y.describe() + " should keep x's N and C");
  auto per_axis = [&](const std::vector<int64_t>& v, const char* name, size_t count) {
    require(v.empty() || v.size() == count, op, std::string(name) + " should hold " + std::to_string(count) + " values");
  };
  per_axis(o.kernel, "kernel", size_t(sp));
  require(!o.kernel.empty(), op, "kernel is missing");
  per_axis(o.strides, "strides", size_t(sp));
  per_axis(o.dilations, "dilations", size_t(sp));
  per_axis(o.pads, "pads", size_t(2 * sp));
  shader::PoolParams p{};
  p.n = detail::u32(y.numel());
  p.planes = detail::u32(x.dim(0) * x.dim(1));
  p.off_x = detail::u32(x.offset());
  p.off_y = detail::u32(y.offset());
  p.kind = kind == PoolKind::Max ? shader::POOL_MAX : o.count_include_pad ? shader::POOL_AVERAGE_INCLUDE_PAD
                                                                           : shader::POOL_AVERAGE;
  uint64_t window = 1;
  for (int d = 0; d < 3; ++d) {
    const int a = d - (3 - sp);  // the spatial axis, or negative for a leading one of size 1
    auto get = [&](const std::vector<int64_t>& v, int64_t missing, size_t at) {
      const int64_t value = a < 0 ? (missing == 0 ? 0 : 1) : v.empty() ? missing : v[at];
      require(value >= 0 && value <= INT32_MAX, op, "a size, stride, dilation or pad is out of range");
      return detail::u32(value);
    };
    p.in_size[d] = a < 0 ? 1u : detail::u32(x.shape()[size_t(2 + a)]);
    p.out_size[d] = a < 0 ? 1u : detail::u32(y.shape()[size_t(2 + a)]);
    p.kernel[d] = get(o.kernel, 1, size_t(a));
    p.stride[d] = get(o.strides, 1, size_t(a));
    p.dilation[d] = get(o.dilations, 1, size_t(a));
    p.pad[d] = get(o.pads, 0, size_t(a));
    p.pad_end[d] = get(o.pads, 0, size_t(a + sp));
    require(p.kernel[d] >= 1 && p.stride[d] >= 1 && p.dilation[d] >= 1, op, "kernel, strides and dilations must be at least 1");
    window *= p.kernel[d];
  }
  require(window + 16 <= detail::kLoopBudget, op,
          "a window of " + std::to_string(window) + " elements is more than one invocation may loop over (" +
              std::to_string(detail::kLoopBudget) + " loop steps)");
  const detail::OpContext ctx = detail::op_context(s);
  const uint32_t wg = ctx.tuning().elementwise_wg;
  detail::Dispatch d;
  d.pipeline = &ctx.pipeline(shader::Variant::pool, {wg});
  d.bindings = {detail::reads(x), detail::writes(y)};
  d.push = detail::push_bytes(p);
  ctx.split_groups(detail::ceil_div(p.n, wg), d.groups);
  if (p.n == 0) d.groups[0] = 0;
  d.label = op + " " + shape_string(x.shape()) + " -> " + shape_string(y.shape());
  detail::add_dispatch(s, std::move(d));
}

}  // namespace ops
}  // namespace vkfuse
