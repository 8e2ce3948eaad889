// OpContext: the device as the ops see it.
#include "op_context.h"

#include <algorithm>
#include <string>

#include "context_impl.h"
#include "vkfuse/error.hpp"

namespace vkfuse::detail {

const Capabilities& OpContext::caps() const { return c_->caps; }
const Tuning& OpContext::tuning() const { return c_->tuning; }

const Pipeline& OpContext::pipeline(shader::Variant variant, const std::vector<uint32_t>& spec) const {
  return c_->pipelines->get(variant, spec);
}

void OpContext::split_groups(uint64_t groups, uint32_t out[3]) const {
  const uint64_t max_x = c_->caps.max_workgroup_count[0], max_y = c_->caps.max_workgroup_count[1];
  const uint64_t x = std::min<uint64_t>(std::max<uint64_t>(groups, 1), max_x);
  const uint64_t y = (groups + x - 1) / x;
  if (y > max_y)
    throw Error("a dispatch of " + std::to_string(groups) + " workgroups exceeds the device's " +
                std::to_string(max_x) + " x " + std::to_string(max_y) + " limit");
  out[0] = static_cast<uint32_t>(x);
  out[1] = static_cast<uint32_t>(std::max<uint64_t>(y, 1));
  out[2] = 1;
}

OpContext op_context(Context& ctx) { return OpContext(*ctx.impl()); }
OpContext op_context(Sequence& s) { return op_context(s.context()); }

}  // namespace vkfuse::detail
