// The k best of each row: argument checks and dispatch (shaders/top_k.comp). CPU reference:
// ref/top_k.cpp.
#include "top_k_contract.h"
#include "op_util.h"

namespace vkfuse {
namespace ops {

namespace {
// A power of two for the tree reduction, at most the tuned row-kernel workgroup.
uint32_t top_k_wg(const detail::OpContext& ctx) {
  uint32_t wg = 1;
  while (wg * 2 <= ctx.tuning().layer_norm.wg) wg *= 2;
  return wg;
}
// Each of the k rounds walks the row once and reduces once.
uint64_t top_k_edges(int64_t k, uint64_t n, uint32_t wg) {
  return static_cast<uint64_t>(k) * detail::row_edges(n, wg, 1, 1) + 4;
}
}  // namespace

int64_t top_k_max_columns(Context& ctx, int64_t k) {
  const uint32_t wg = top_k_wg(detail::op_context(ctx));
  if (k < 1 || top_k_edges(k, wg, wg) > detail::kLoopBudget) return 0;
  uint64_t lo = wg, hi = uint64_t(1) << 31;  // the longest n whose walk fits the budget
  while (lo < hi) {
    const uint64_t mid = (lo + hi + 1) / 2;
    if (top_k_edges(k, mid, wg) <= detail::kLoopBudget) lo = mid; else hi = mid - 1;
  }
  return static_cast<int64_t>(lo);
}

void top_k(Sequence& s, const Tensor& x, const Tensor& values, const Tensor& indices) {
  const std::string op = "top_k";
  const detail::Rows rx = detail::as_rows(x, op, "x");
  detail::check_f32(values, op, "values");
  detail::require(values.rank() == 2 && values.contiguous() && values.dim(0) == rx.rows, op,
                  "values " + values.describe() + " should be contiguous [" + std::to_string(rx.rows) + ", k]");
  const int64_t k = values.dim(1);
  detail::require(k >= 1 && k <= rx.n, op,
                  "k = " + std::to_string(k) + " must be between 1 and the row length " + std::to_string(rx.n));
  detail::require(indices.defined() && indices.dtype() == DType::I32 && indices.contiguous() &&
                      indices.shape() == values.shape(),
                  op, "indices " + indices.describe() + " should be contiguous I32 of values' shape " +
                          shape_string(values.shape()));
  const detail::OpContext ctx = detail::op_context(s);
  const uint32_t wg = top_k_wg(ctx);
  detail::require(top_k_edges(k, rx.n, wg) <= detail::kLoopBudget, op,
                  "the best " + std::to_string(k) + " of " + std::to_string(rx.n) +
                      " entries are more than one workgroup may loop over (" + std::to_string(detail::kLoopBudget) +
                      " loop steps; top_k_max_columns() gives the longest row): split the row");
  shader::TopKParams p{rx.rows, rx.n, detail::u32(k), rx.ld, detail::u32(x.offset()), detail::u32(values.offset()),
                       detail::u32(indices.offset())};
  detail::Dispatch d;
  d.bindings = {detail::reads(x), detail::writes(values), detail::writes(indices)};
  d.pipeline = &ctx.pipeline(shader::Variant::top_k, {wg});
  d.push = detail::push_bytes(p);
  ctx.split_groups(rx.rows, d.groups);
  d.label = "top_k " + std::to_string(rx.rows) + "x" + std::to_string(rx.n) + " k" + std::to_string(k);
  detail::add_dispatch(s, std::move(d));
}

}  // namespace ops
}  // namespace vkfuse
