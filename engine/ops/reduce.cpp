// reduce: the view's dimensions and the lanes per output, then the dispatch
// (shaders/reduce.comp). CPU reference: ref/reduce.cpp.
#include "loop_budget.h"
#include "op_util.h"
#include "reduce_contract.h"

namespace vkfuse {
namespace ops {

static_assert(uint32_t(Reduce::Sum) == shader::RED_SUM && uint32_t(Reduce::Mean) == shader::RED_MEAN &&
                  uint32_t(Reduce::Max) == shader::RED_MAX && uint32_t(Reduce::Min) == shader::RED_MIN &&
                  uint32_t(Reduce::Prod) == shader::RED_PROD && uint32_t(Reduce::L1) == shader::RED_L1 &&
                  uint32_t(Reduce::L2) == shader::RED_L2 && uint32_t(Reduce::SumSquare) == shader::RED_SUM_SQUARE &&
                  uint32_t(Reduce::LogSum) == shader::RED_LOG_SUM &&
                  uint32_t(Reduce::LogSumExp) == shader::RED_LOG_SUM_EXP &&
                  uint32_t(Reduce::ArgMax) == shader::RED_ARGMAX && uint32_t(Reduce::ArgMin) == shader::RED_ARGMIN,
              "ops::Reduce is the shader's RED_* code");

void reduce(Sequence& s, const Tensor& x, const Tensor& y, Reduce op, int axes, bool select_last) {
  using detail::require;
  const std::string name = "reduce";
  detail::check_f32(x, name, "x");
  const bool arg = op == Reduce::ArgMax || op == Reduce::ArgMin;
  require(y.defined() && y.dtype() == (arg ? DType::I32 : DType::F32), name,
          std::string("y must be ") + (arg ? "I32 for ArgMax/ArgMin" : "F32"));
  require(y.contiguous(), name, "y " + y.describe() + " must be contiguous");
  require(x.rank() <= RED_MAX_RANK && axes >= 0 && axes <= x.rank(), name,
          "x " + x.describe() + " must have at most " + std::to_string(RED_MAX_RANK) + " dimensions, of which " +
              std::to_string(axes) + " are reduced");
  int64_t count = 1, outputs = 1;
  for (int d = 0; d < x.rank(); ++d) (d >= x.rank() - axes ? count : outputs) *= x.shape()[size_t(d)];
  require(y.numel() == outputs, name, "y " + y.describe() + " should hold " + std::to_string(outputs) + " elements");
  shader::ReduceParams p{};
  p.outputs = detail::u32(outputs);
  p.count = detail::u32(count);
  p.off_x = detail::u32(x.offset());
  p.off_y = detail::u32(y.offset());
  p.axes = detail::u32(axes);
  p.select_last = select_last ? 1u : 0u;
  const int pad = RED_MAX_RANK - x.rank();
  for (int d = 0; d < RED_MAX_RANK; ++d) {
    p.size[d] = d < pad ? 1u : detail::u32(x.shape()[size_t(d - pad)]);
    const int64_t st = d < pad ? 0 : x.strides()[size_t(d - pad)];
    require(st >= INT32_MIN && st <= INT32_MAX, name, "a stride does not fit 32 bits");
    p.stride[d] = static_cast<uint32_t>(int32_t(st));
  }
  const detail::OpContext ctx = detail::op_context(s);
  const uint32_t wg = ctx.tuning().elementwise_wg;
  // More lanes per output while each lane's share is long and the outputs alone leave the
  // device idle; then enough for the loop budget.
  uint32_t lanes = 1;
  while (lanes < wg && count / lanes > 64 && uint64_t(outputs) * lanes < 16384) lanes *= 2;
  while (lanes < wg && uint64_t(count) / lanes + 16 > detail::kLoopBudget) lanes *= 2;
  require(uint64_t(count) / lanes + 16 <= detail::kLoopBudget, name,
          std::to_string(count) + " elements are more than one workgroup may reduce (" +
              std::to_string(detail::kLoopBudget) + " loop steps an invocation)");
  detail::Dispatch d;
  d.pipeline = &ctx.pipeline(shader::Variant::reduce, {wg, uint32_t(op), lanes});
  d.bindings = {detail::reads(x), detail::writes(y)};
  d.push = detail::push_bytes(p);
  ctx.split_groups(detail::ceil_div(uint64_t(outputs), wg / lanes), d.groups);
  if (outputs == 0) d.groups[0] = 0;
  d.label = "reduce " + shape_string(x.shape()) + " over " + std::to_string(axes);
  detail::add_dispatch(s, std::move(d));
}

}  // namespace ops
}  // namespace vkfuse
