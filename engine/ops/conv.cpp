// conv: argument checks, K slicing and dispatch (shaders/conv.comp). CPU reference:
// ref/conv.cpp.
#include "conv_contract.h"
#include "loop_budget.h"
#include "op_util.h"

namespace vkfuse {
namespace ops {

int64_t conv_out_size(int64_t in, int64_t kernel, int64_t stride, int64_t dilation, int64_t pad_begin,
                      int64_t pad_end) {
  return (in + pad_begin + pad_end - dilation * (kernel - 1) - 1) / stride + 1;
}

namespace {
using Params = shader::ConvParams;

// A per-axis option for `axes` spatial axes right-aligned into the shader's three: leading
// axes get `leading`, and the real ones `missing` where the option is empty.
void axes3(const std::vector<int64_t>& v, size_t axes, int64_t missing, int64_t leading, uint32_t out[3],
           const char* name) {
  detail::require(v.empty() || v.size() >= axes, "conv", std::string(name) + " has too few values");
  for (size_t d = 0; d < 3; ++d) {
    int64_t value = leading;
    if (d + axes >= 3) value = v.empty() ? missing : v[d + axes - 3];
    detail::require(value >= 0 && value <= INT32_MAX, "conv",
                    std::string(name) + " value " + std::to_string(value) + " is out of range");
    out[d] = detail::u32(value);
  }
}
}  // namespace

void conv(Sequence& s, const Tensor& x, const Tensor& w, const Tensor& y, const ConvOptions& o) {
  using detail::require;
  const std::string op = "conv";
  for (const Tensor* t : {&x, &w, &y}) {
    detail::check_f32(*t, op, "operand");
    require(t->contiguous(), op, t->describe() + " must be contiguous");
  }
  const int sp = x.rank() - 2;
  require(sp >= 1 && sp <= 3, op, "x " + x.describe() + " should be [N, C, *spatial] with 1 to 3 spatial axes");
  require(w.rank() == x.rank() && y.rank() == x.rank(), op,
          "w " + w.describe() + " and y " + y.describe() + " should have x's rank " + std::to_string(x.rank()));
  const int64_t n = x.dim(0), c = x.dim(1), oc = w.dim(0), g = o.groups;
  require(g >= 1 && c % g == 0 && oc % g == 0 && w.dim(1) == c / g, op,
          "w " + w.describe() + " does not match " + std::to_string(c) + " input channels in " + std::to_string(g) +
              " groups");
  require(y.dim(0) == n && y.dim(1) == oc, op, "y " + y.describe() + " should be [" + std::to_string(n) + ", " +
                                                   std::to_string(oc) + ", ...]");
  Params p{};
  p.ocg = detail::u32(oc / g);
  p.cg = detail::u32(c / g);
  p.groups = detail::u32(g);
  std::vector<int64_t> in(x.shape().begin() + 2, x.shape().end()), kernel(w.shape().begin() + 2, w.shape().end()),
      out(y.shape().begin() + 2, y.shape().end());
  axes3(in, size_t(sp), 1, 1, p.in_size, "input");
  axes3(kernel, size_t(sp), 1, 1, p.kernel, "kernel");
  axes3(out, size_t(sp), 1, 1, p.out_size, "output");
  axes3(o.strides, size_t(sp), 1, 1, p.stride, "strides");
  axes3(o.dilations, size_t(sp), 1, 1, p.dilation, "dilations");
  axes3(o.pads, size_t(sp), 0, 0, p.pad, "pads");  // the begins: the first sp values
  require(o.pads.empty() || o.pads.size() == size_t(2 * sp), op, "pads should hold 2 values per spatial axis");
  for (int d = 0; d < sp; ++d) {
    const size_t a = size_t(d);
    const int64_t stride = o.strides.empty() ? 1 : o.strides[a], dil = o.dilations.empty() ? 1 : o.dilations[a];
    const int64_t pb = o.pads.empty() ? 0 : o.pads[a], pe = o.pads.empty() ? 0 : o.pads[a + size_t(sp)];
    require(stride >= 1 && dil >= 1, op, "strides and dilations must be at least 1");
    const int64_t want = conv_out_size(in[a], kernel[a], stride, dil, pb, pe);
    require(out[a] == want, op, "y " + y.describe() + " axis " + std::to_string(d + 2) + " should be " +
                                    std::to_string(want));
  }
  p.off_x = detail::u32(x.offset());
  p.off_w = detail::u32(w.offset());
  p.off_y = detail::u32(y.offset());
  p.act_a = o.act_alpha;
  p.act_b = o.act_beta;
  detail::Binding bias = detail::reads(x), res = detail::reads(x);
  uint32_t epilogue = static_cast<uint32_t>(o.act) << shader::CONV_ACT_SHIFT;
  if (o.bias) {
    detail::check_f32(*o.bias, op, "bias");
    require(o.bias->numel() == oc && o.bias->contiguous(), op, "bias " + o.bias->describe() + " should be [" +
                                                                   std::to_string(oc) + "]");
    p.off_bias = detail::u32(o.bias->offset());
    bias = detail::reads(*o.bias);
    epilogue |= shader::CONV_BIAS;
  }
  if (o.residual) {
    detail::check_f32(*o.residual, op, "residual");
    require(o.residual->shape() == y.shape() && o.residual->contiguous(), op,
            "residual " + o.residual->describe() + " should be contiguous " + shape_string(y.shape()));
    require(o.residual->storage() != y.storage(), op, "the residual must not share memory with y");
    p.off_res = detail::u32(o.residual->offset());
    res = detail::reads(*o.residual);
    epilogue |= shader::CONV_RESIDUAL;
  }
  require(y.storage() != x.storage() && y.storage() != w.storage(), op, "y must not share memory with x or w");
  const uint64_t taps = uint64_t(p.kernel[0]) * p.kernel[1] * p.kernel[2];
  const uint64_t k_total = uint64_t(p.cg) * taps, positions = uint64_t(y.numel()) / uint64_t(std::max<int64_t>(n * oc, 1));
  const detail::OpContext ctx = detail::op_context(s);
  const std::string shape = shape_string(x.shape()) + " * " + shape_string(w.shape()) + (g > 1 ? " g" + std::to_string(g) : "");
  // Depthwise (one input channel a group): the direct loop, whose budget is the window.
  if (p.cg == 1 && taps + 16 <= detail::kLoopBudget) {
    const uint32_t wg = ctx.tuning().elementwise_wg;
    p.k_count = detail::u32(y.numel());
    p.flags = epilogue;
    detail::Dispatch d;
    d.pipeline = &ctx.pipeline(shader::Variant::conv_direct, {wg, 1});
    d.bindings = {detail::reads(x), detail::reads(w), detail::writes(y), bias, res};
    d.push = detail::push_bytes(p);
    ctx.split_groups(detail::ceil_div(uint64_t(y.numel()), wg), d.groups);
    if (y.numel() == 0) d.groups[0] = 0;
    d.label = "conv depthwise " + shape;
    detail::add_dispatch(s, std::move(d));
    return;
  }
  const auto& t = ctx.tuning().conv;
  const uint32_t bm = t.wg_y * t.tm, bn = t.wg_x * t.tn;
  // A deep K is split into slices that each stay within an invocation's loop budget; later
  // slices add to y, and the epilogue comes with the last.
  const uint64_t edges = detail::matmul_edges_per_tile(t.wg_x, t.wg_y, t.tm, t.tn, t.bk);
  const uint64_t slice = std::max<uint64_t>(detail::kLoopBudget / edges, 1) * t.bk;
  const detail::Pipeline& pipe = ctx.pipeline(shader::Variant::conv, {t.wg_x, t.wg_y, t.tm, t.tn, t.bk});
  for (uint64_t k0 = 0; k0 < std::max<uint64_t>(k_total, 1); k0 += slice) {
    const bool last = k0 + slice >= k_total;
    Params q = p;
    q.k0 = detail::u32(k0);
    q.k_count = detail::u32(std::min(slice, k_total - k0));
    q.flags = (k0 > 0 ? shader::CONV_ACCUMULATE : 0u) | (last ? epilogue : 0u);
    detail::Dispatch d;
    d.pipeline = &pipe;
    d.bindings = {detail::reads(x), detail::reads(w), detail::writes(y), bias, res};
    d.push = detail::push_bytes(q);
    d.groups[0] = detail::u32(detail::ceil_div(positions, bn));
    d.groups[1] = detail::u32(detail::ceil_div(p.ocg, bm));
    d.groups[2] = detail::u32(n * g);
    d.label = "conv " + shape + (k_total > slice ? " k" + std::to_string(q.k0) : "");
    detail::add_dispatch(s, std::move(d));
  }
}

}  // namespace ops
}  // namespace vkfuse
