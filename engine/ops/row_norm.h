#pragma once
// The dispatch both row normalizations share (shaders/layer_norm.comp and its L2_NORMALIZE
// build): TPR invocations per row, doubled until a row's walk fits the loop budget, and the
// subgroup variant where one row fills the workgroup.
#include <string>

#include "layer_norm_contract.h"
#include "op_util.h"

namespace vkfuse::ops::detail_norm {

inline void add_row_norm(Sequence& s, vkfuse::detail::Dispatch d, const shader::LayerNormParams& p,
                         const std::string& kernel) {
  vkfuse::detail::ContextImpl& ctx = vkfuse::detail::context_of(s);
  const auto& t = ctx.tuning.layer_norm;
  const uint32_t tpr = vkfuse::detail::row_tpr(p.n, t.tpr, t.wg, kernel);
  const bool sg = ctx.tuning.use_subgroups && tpr == t.wg;
  const std::string shader = sg ? kernel + "_subgroup" : kernel;
  d.pipeline = &ctx.pipelines->get(shader.c_str(), {t.wg, tpr}, 5, sizeof(p));
  d.push = vkfuse::detail::push_bytes(p);
  vkfuse::detail::split_groups(ctx, vkfuse::detail::ceil_div(p.rows, t.wg / tpr), d.groups);
  d.label = kernel + " " + std::to_string(p.rows) + "x" + std::to_string(p.n);
  vkfuse::detail::add_dispatch(s, std::move(d));
}

}  // namespace vkfuse::ops::detail_norm
