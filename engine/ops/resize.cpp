// resize: the tap table (ref::resize_taps) uploaded with the dispatch (shaders/resize.comp).
// CPU reference: ref/resize.cpp.
#include "op_util.h"
#include "resize_contract.h"
#include "vkfuse/reference.hpp"

namespace vkfuse {
namespace ops {

void resize(Sequence& s, const Tensor& x, const Tensor& y, const ResizeOptions& o) {
  using detail::require;
  const std::string op = "resize";
  for (const Tensor* t : {&x, &y}) {
    detail::check_f32(*t, op, "operand");
    require(t->contiguous(), op, t->describe() + " must be contiguous");
  }
  const int rank = x.rank();
  require(y.rank() == rank && rank <= RESIZE_MAX_RANK, op,
          "x " + x.describe() + " and y " + y.describe() + " should have one rank of at most " +
              std::to_string(RESIZE_MAX_RANK));
  require(o.scales.empty() || int(o.scales.size()) == rank, op, "scales should hold one value per axis");
  shader::ResizeParams p{};
  p.n = detail::u32(y.numel());
  p.off_x = detail::u32(x.offset());
  p.off_y = detail::u32(y.offset());
  std::vector<float> table;
  const int pad = RESIZE_MAX_RANK - rank;
  uint64_t combos = 1;
  for (int d = 0; d < RESIZE_MAX_RANK; ++d) {
    if (d < pad) {
      p.in_size[d] = p.out_size[d] = p.taps[d] = 1;
      p.tab[d] = detail::u32(table.size());
      table.insert(table.end(), {0.f, 1.f});
      continue;
    }
    const int64_t in = x.shape()[size_t(d - pad)], out = y.shape()[size_t(d - pad)];
    require(in >= 1 || out == 0, op, "x " + x.describe() + " has an empty axis to resize from");
    const double scale = o.scales.empty() ? double(out) / double(std::max<int64_t>(in, 1)) : o.scales[size_t(d - pad)];
    const ref::ResizeTaps taps = in == out && scale == 1.0 ? ref::ResizeTaps{1, {}, {}} : ref::resize_taps(in, out, scale, o);
    p.in_size[d] = detail::u32(in);
    p.out_size[d] = detail::u32(out);
    p.taps[d] = detail::u32(taps.taps);
    p.tab[d] = detail::u32(table.size());
    combos *= uint64_t(taps.taps);
    if (taps.index.empty()) {  // an axis kept as it is: output index j reads input j
      for (int64_t j = 0; j < out; ++j) table.insert(table.end(), {float(j), 1.f});
    } else {
      for (size_t k = 0; k < taps.index.size(); ++k) table.insert(table.end(), {float(taps.index[k]), float(taps.weight[k])});
    }
  }
  require(combos <= 4096, op, "too many taps per output element (" + std::to_string(combos) + ")");
  require(table.size() < (size_t(1) << 24), op, "the tap table is too large for float indices");
  const detail::OpContext ctx = detail::op_context(s);
  Tensor t = s.context().tensor({int64_t(table.size())}, table);
  const uint32_t wg = ctx.tuning().elementwise_wg;
  detail::Dispatch d;
  d.pipeline = &ctx.pipeline(shader::Variant::resize, {wg});
  d.bindings = {detail::reads(x), detail::reads(t), detail::writes(y)};
  d.push = detail::push_bytes(p);
  ctx.split_groups(detail::ceil_div(p.n, wg), d.groups);
  if (p.n == 0) d.groups[0] = 0;
  d.label = "resize " + shape_string(x.shape()) + " -> " + shape_string(y.shape());
  detail::add_dispatch(s, std::move(d));
}

}  // namespace ops
}  // namespace vkfuse
