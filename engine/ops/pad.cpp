// pad: argument checks and dispatch (shaders/pad.comp). CPU reference: ref/pad.cpp.
#include <cstring>

#include "op_util.h"
#include "pad_contract.h"

namespace vkfuse {
namespace ops {

static_assert(uint32_t(PadMode::Constant) == shader::PAD_CONSTANT && uint32_t(PadMode::Reflect) == shader::PAD_REFLECT &&
                  uint32_t(PadMode::Edge) == shader::PAD_EDGE && uint32_t(PadMode::Wrap) == shader::PAD_WRAP,
              "ops::PadMode is the shader's PAD_* code");

void pad(Sequence& s, const Tensor& x, const Tensor& y, const std::vector<int64_t>& before, PadMode mode, double value) {
  using detail::require;
  const std::string op = "pad";
  require(x.defined() && y.defined() && x.dtype() == y.dtype() && (x.dtype() == DType::F32 || x.dtype() == DType::I32), op,
          "x and y must both be F32 or both I32");
  require(y.contiguous(), op, "y " + y.describe() + " must be contiguous");
  const int rank = x.rank();
  require(y.rank() == rank && rank <= PAD_MAX_RANK && int(before.size()) == rank, op,
          "x " + x.describe() + ", y " + y.describe() + " and " + std::to_string(before.size()) +
              " offsets should share one rank of at most " + std::to_string(PAD_MAX_RANK));
  shader::PadParams p{};
  p.n = detail::u32(y.numel());
  p.off_x = detail::u32(x.offset());
  p.off_y = detail::u32(y.offset());
  p.mode = uint32_t(mode);
  if (x.dtype() == DType::F32) {
    const float f = float(value);
    std::memcpy(&p.value, &f, 4);
  } else {
    p.value = static_cast<uint32_t>(int32_t(value));
  }
  const int pad = PAD_MAX_RANK - rank;
  for (int d = 0; d < PAD_MAX_RANK; ++d) {
    if (d < pad) {
      p.in_size[d] = p.out_size[d] = 1;
      continue;
    }
    const size_t a = size_t(d - pad);
    require(x.shape()[a] >= 1 || y.shape()[a] == 0 || mode == PadMode::Constant, op,
            "an empty axis can only be padded with a constant");
    p.in_size[d] = detail::u32(std::max<int64_t>(x.shape()[a], 1));
    p.out_size[d] = detail::u32(y.shape()[a]);
    require(before[a] >= INT32_MIN && before[a] <= INT32_MAX && x.strides()[a] >= INT32_MIN && x.strides()[a] <= INT32_MAX,
            op, "an offset or stride does not fit 32 bits");
    p.stride[d] = static_cast<uint32_t>(int32_t(x.strides()[a]));
    p.before[d] = static_cast<uint32_t>(int32_t(before[a]));
  }
  const detail::OpContext ctx = detail::op_context(s);
  const uint32_t wg = ctx.tuning().elementwise_wg;
  detail::Dispatch d;
  d.pipeline = &ctx.pipeline(shader::Variant::pad, {wg});
  d.bindings = {detail::reads(x), detail::writes(y)};
  d.push = detail::push_bytes(p);
  ctx.split_groups(detail::ceil_div(p.n, wg), d.groups);
  if (p.n == 0 || x.numel() == 0) d.groups[0] = 0;
  d.label = "pad " + shape_string(x.shape()) + " -> " + shape_string(y.shape());
  detail::add_dispatch(s, std::move(d));
}

}  // namespace ops
}  // namespace vkfuse
