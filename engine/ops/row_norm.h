#pragma once
// The dispatch both row normalizations share (shaders/layer_norm.comp and its L2_NORMALIZE
// build): TPR invocations per row, doubled until a row's walk fits the loop budget, and the
// subgroup variant where one row fills the workgroup.
#include <string>

#include "layer_norm_contract.h"
#include "op_util.h"

namespace vkfuse::ops::detail_norm {

// A row normalization's three builds of layer_norm.comp (layer_norm.variants).
struct RowNormVariants {
  shader::Variant plain, texel, subgroup;
};

inline void add_row_norm(Sequence& s, vkfuse::detail::Dispatch d, const shader::LayerNormParams& p,
                         const std::string& kernel, const RowNormVariants& variants) {
  const vkfuse::detail::OpContext ctx = vkfuse::detail::op_context(s);
  const auto& t = ctx.tuning().layer_norm;
  // lavapipe: one invocation per row, every operand as vec4 texels, where rows start and end
  // on a texel, three walks of n/4 texels fit the loop budget, y has a buffer of its own and
  // the texel views reach every buffer.
  auto quad = [](uint32_t v) { return v % 4 == 0; };
  bool texels = t.texels && t.tpr == 1 && quad(p.n) && quad(p.ldx) && quad(p.ldy) && quad(p.off_x) &&
                quad(p.off_y) && quad(p.ldr) && quad(p.off_r) && quad(p.off_w) && quad(p.off_b) &&
                vkfuse::detail::row_edges(p.n / 4, 1, 3, 0) <= vkfuse::detail::kLoopBudget;
  for (size_t i = 0; i < d.bindings.size() && texels; ++i) {
    texels = d.bindings[i].storage->device.size / 16 <= ctx.caps().max_texel_buffer_elements;
    if (i != 1) texels = texels && d.bindings[i].storage != d.bindings[1].storage;
  }
  const uint32_t tpr = texels ? 1u : vkfuse::detail::row_tpr(p.n, t.tpr, t.wg, kernel);
  const bool sg = !texels && ctx.tuning().use_subgroups && tpr == t.wg;
  if (texels)
    for (auto& b : d.bindings) b.texels = true;
  d.pipeline = &ctx.pipeline(texels ? variants.texel : sg ? variants.subgroup : variants.plain, {t.wg, tpr});
  d.push = vkfuse::detail::push_bytes(p);
  ctx.split_groups(vkfuse::detail::ceil_div(p.rows, t.wg / tpr), d.groups);
  d.label = kernel + " " + std::to_string(p.rows) + "x" + std::to_string(p.n);
  vkfuse::detail::add_dispatch(s, std::move(d));
}

}  // namespace vkfuse::ops::detail_norm
