// fma_peak: the arithmetic ceiling the benches compare against (shaders/fma_peak.comp).
// CPU reference: ref/fma_peak.cpp.
#include "fma_peak_contract.h"
#include "op_util.h"

namespace vkfuse {
namespace ops {

double fma_peak_flops(int64_t n, uint32_t steps) {
  return 2.0 * 4 * shader::FMA_PEAK_CHAINS * shader::FMA_PEAK_UNROLL * double(steps) * double(n);
}

void fma_peak(Sequence& s, const Tensor& out, uint32_t steps) {
  const std::string op = "fma_peak";
  detail::check_f32(out, op, "out");
  detail::require(out.contiguous(), op, "out " + out.describe() + " must be contiguous");
  detail::require(steps >= 1 && steps <= detail::kLoopBudget - 16, op,
                  "steps must be 1.." + std::to_string(detail::kLoopBudget - 16) + " (the loop budget of one invocation)");
  const detail::OpContext ctx = detail::op_context(s);
  const uint32_t wg = ctx.tuning().elementwise_wg;
  shader::FmaPeakParams p{detail::u32(out.numel()), steps, 1.f, 1.f};
  detail::Dispatch d;
  d.pipeline = &ctx.pipeline(shader::Variant::fma_peak, {wg});
  d.bindings = {detail::writes(out)};
  d.push = detail::push_bytes(p);
  ctx.split_groups(detail::ceil_div(p.n, wg), d.groups);
  d.label = "fma_peak " + std::to_string(p.n) + "x" + std::to_string(steps);
  detail::add_dispatch(s, std::move(d));
}

}  // namespace ops
}  // namespace vkfuse
