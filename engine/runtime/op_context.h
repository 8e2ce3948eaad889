#pragma once
// What an op may use of the device it records for: its capabilities, its tuning, the
// pipelines of the embedded shader variants and the workgroup grid's limits. Ops see nothing
// else of a Context; ContextImpl stays inside runtime/.
#include <cstdint>
#include <vector>

#include "shader_variants.h"
#include "vkfuse/context.hpp"
#include "vkfuse/sequence.hpp"

namespace vkfuse::detail {

struct ContextImpl;
struct Pipeline;

class OpContext {
 public:
  explicit OpContext(ContextImpl& c) : c_(&c) {}
  const Capabilities& caps() const;
  const Tuning& tuning() const;
  // The variant's pipeline with these specialization constants (its table's order), built
  // once per device and kept.
  const Pipeline& pipeline(shader::Variant variant, const std::vector<uint32_t>& spec) const;
  // A 1-D count of workgroups laid out as x*y within the device's per-axis limit; shaders
  // recover the index with linear_group() (shaders/include/common.glsl).
  void split_groups(uint64_t groups, uint32_t out[3]) const;

 private:
  ContextImpl* c_;
};

OpContext op_context(Sequence& s);
OpContext op_context(Context& ctx);

}  // namespace vkfuse::detail
