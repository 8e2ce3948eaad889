// The k best of each row: argument checks and dispatch (shaders/top_k.comp). CPU reference:
// ref/top_k.cpp.
#include "top_k_contract.h"
#include "op_util.h"

namespace vkfuse {
namespace ops {

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
  detail::ContextImpl& ctx = detail::context_of(s);
  // A power of two for the tree reduction, at most the tuned row-kernel workgroup.
  uint32_t wg = 1;
  while (wg * 2 <= ctx.tuning.layer_norm.wg) wg *= 2;
  // Each of the k rounds walks the row once and reduces once.
  const uint64_t edges = static_cast<uint64_t>(k) * detail::row_edges(rx.n, wg, 1, 1) + 4;
  detail::require(edges <= detail::kLoopBudget, op,
                  "the best " + std::to_string(k) + " of " + std::to_string(rx.n) +
                      " entries are more than one workgroup may loop over (" + std::to_string(detail::kLoopBudget) +
                      " loop steps): ask for fewer");
  shader::TopKParams p{rx.rows, rx.n, detail::u32(k), rx.ld, detail::u32(x.offset()), detail::u32(values.offset()),
                       detail::u32(indices.offset())};
  detail::Dispatch d;
  d.bindings = {detail::reads(x), detail::writes(values), detail::writes(indices)};
  d.pipeline = &ctx.pipelines->get("top_k", {wg}, 3, sizeof(p));
  d.push = detail::push_bytes(p);
  detail::split_groups(ctx, rx.rows, d.groups);
  d.label = "top_k " + std::to_string(rx.rows) + "x" + std::to_string(rx.n) + " k" + std::to_string(k);
  detail::add_dispatch(s, std::move(d));
}

}  // namespace ops
}  // namespace vkfuse
