// add, relu, gelu, sigmoid, strided copy (heads), gather_rows: argument checks and dispatch
// (shaders/elementwise.comp). CPU references: ref/elementwise.cpp.
#include "elementwise_contract.h"
#include "op_util.h"

namespace vkfuse {
namespace ops {

namespace {
using Params = shader::ElementwiseParams;
using Op = uint32_t;  // shader::EW_*
constexpr int kMaxCopyRank = EW_MAX_COPY_RANK;

void record(Sequence& s, Op op, const Tensor& a, const Tensor& b, const Tensor& c, Params p,
            const std::string& label) {
  const detail::OpContext ctx = detail::op_context(s);
  uint32_t wg = ctx.tuning().elementwise_wg;
  detail::Dispatch d;
  d.pipeline = &ctx.pipeline(shader::Variant::elementwise, {wg, op});
  d.bindings = {detail::reads(a), detail::reads(b), detail::writes(c)};
  d.push = detail::push_bytes(p);
  ctx.split_groups(detail::ceil_div(p.n, wg), d.groups);
  if (p.n == 0) d.groups[0] = 0;
  if (op == shader::EW_GATHER) d.bindings[1] = detail::reads(b);  // ids: I32 bits read through the float binding
  d.label = label;
  detail::add_dispatch(s, std::move(d));
}

void check_same(const Tensor& x, const Tensor& y, const std::string& op) {
  detail::check_f32(x, op, "input");
  detail::check_f32(y, op, "output");
  detail::require(x.contiguous() && y.contiguous(), op,
                  "needs contiguous tensors, got " + x.describe() + " and " + y.describe());
  detail::require(x.numel() == y.numel(), op,
                  "input " + x.describe() + " and output " + y.describe() + " differ in size");
}

void unary(Sequence& s, Op op, const char* name, const Tensor& x, const Tensor& y) {
  check_same(x, y, name);
  Params p{};
  p.n = detail::u32(x.numel());
  p.bn = 1;
  p.off_a = detail::u32(x.offset());
  p.off_c = detail::u32(y.offset());
  record(s, op, x, x, y, p, std::string(name) + " " + std::to_string(p.n));
}
}  // namespace

void add(Sequence& s, const Tensor& a, const Tensor& b, const Tensor& c) {
  check_same(a, c, "add");
  detail::check_f32(b, "add", "b");
  detail::require(b.contiguous(), "add", "b " + b.describe() + " must be contiguous");
  // b broadcasts over a's leading dimensions: its shape is a's trailing one (size-1 leading
  // dimensions of b aside).
  Shape bs = b.shape();
  while (!bs.empty() && bs.front() == 1 && bs.size() > 1) bs.erase(bs.begin());
  bool trailing = bs.size() <= a.shape().size() && std::equal(bs.rbegin(), bs.rend(), a.shape().rbegin());
  detail::require(b.numel() == a.numel() || trailing, "add",
                  "b " + b.describe() + " is neither a's shape " + a.describe() + " nor its trailing dimensions");
  Params p{};
  p.n = detail::u32(a.numel());
  p.bn = detail::u32(std::max<int64_t>(b.numel(), 1));
  p.off_a = detail::u32(a.offset());
  p.off_b = detail::u32(b.offset());
  p.off_c = detail::u32(c.offset());
  record(s, shader::EW_ADD, a, b, c, p, "add " + std::to_string(p.n));
}

void relu(Sequence& s, const Tensor& x, const Tensor& y) { unary(s, shader::EW_RELU, "relu", x, y); }
void sigmoid(Sequence& s, const Tensor& x, const Tensor& y) { unary(s, shader::EW_SIGMOID, "sigmoid", x, y); }

void gather_rows(Sequence& s, const Tensor& table, const Tensor& ids, const Tensor& out) {
  const std::string op = "gather_rows";
  detail::check_f32(table, op, "table");
  detail::check_f32(out, op, "out");
  detail::require(table.rank() == 2 && table.contiguous(), op, "table " + table.describe() + " should be contiguous [V, E]");
  detail::require(ids.defined() && ids.dtype() == DType::I32 && ids.contiguous(), op,
                  "ids " + ids.describe() + " should be contiguous I32");
  detail::require(out.contiguous() && out.numel() == ids.numel() * table.dim(1), op,
                  "out " + out.describe() + " should hold " + std::to_string(ids.numel()) + " rows of " +
                      std::to_string(table.dim(1)));
  Params p{};
  p.n = detail::u32(out.numel());
  p.bn = detail::u32(table.dim(1));
  p.off_a = detail::u32(table.offset());
  p.off_b = detail::u32(ids.offset());
  p.off_c = detail::u32(out.offset());
  record(s, shader::EW_GATHER, table, ids, out, p, "gather_rows " + std::to_string(ids.numel()) + "x" + std::to_string(p.bn));
}
void gelu(Sequence& s, const Tensor& x, const Tensor& y) { unary(s, shader::EW_GELU, "gelu", x, y); }

void activation(Sequence& s, const Tensor& x, const Tensor& y, Activation f) {
  check_same(x, y, "activation");
  Params p{};
  p.n = detail::u32(x.numel());
  p.bn = static_cast<uint32_t>(f);  // the ACT_* code (static_assert in matmul.cpp)
  p.off_a = detail::u32(x.offset());
  p.off_c = detail::u32(y.offset());
  record(s, shader::EW_ACTIVATE, x, x, y, p, "activation " + std::to_string(p.bn) + " " + std::to_string(p.n));
}

void copy(Sequence& s, const Tensor& src, const Tensor& dst) {
  // 32-bit words moved as they are: F32, or I32 (a graph's integers).
  detail::require(src.defined() && dst.defined() && src.dtype() == dst.dtype() &&
                      (src.dtype() == DType::F32 || src.dtype() == DType::I32),
                  "copy", "src " + src.describe() + " and dst " + dst.describe() + " must both be F32 or both I32");
  detail::require(src.shape() == dst.shape(), "copy",
                  "src " + src.describe() + " and dst " + dst.describe() + " differ in shape");
  detail::require(src.rank() <= kMaxCopyRank, "copy", "rank above 6: " + src.describe());
  detail::require(src.storage() != dst.storage(), "copy", "src and dst share memory");
  Params p{};
  p.n = detail::u32(src.numel());
  p.off_a = detail::u32(src.offset());
  p.off_c = detail::u32(dst.offset());
  int pad = kMaxCopyRank - src.rank();
  for (int i = 0; i < kMaxCopyRank; ++i) {
    bool real = i >= pad;
    p.size[i] = real ? detail::u32(src.shape()[i - pad]) : 1;
    p.sa[i] = real ? detail::u32(src.strides()[i - pad]) : 0;
    p.sc[i] = real ? detail::u32(dst.strides()[i - pad]) : 0;
    detail::require(!real || (src.strides()[i - pad] >= 0 && dst.strides()[i - pad] >= 0), "copy",
                    "negative strides are not supported");
  }
  record(s, shader::EW_COPY, src, src, dst, p, "copy " + shape_string(src.shape()));
}

void split_heads(Sequence& s, const Tensor& x, const Tensor& heads, int64_t h) {
  detail::require(x.rank() == 3 && h > 0 && x.dim(2) % h == 0, "split_heads",
                  "x " + x.describe() + " should be [B, L, H*D] with H = " + std::to_string(h));
  int64_t b = x.dim(0), l = x.dim(1), d = x.dim(2) / h;
  detail::require(heads.shape() == Shape{b, h, l, d}, "split_heads",
                  "heads " + heads.describe() + " should be " + shape_string({b, h, l, d}));
  copy(s, x.reshape({b, l, h, d}).permute({0, 2, 1, 3}), heads);
}

void merge_heads(Sequence& s, const Tensor& heads, const Tensor& x) {
  detail::require(heads.rank() == 4, "merge_heads", "heads " + heads.describe() + " should be [B, H, L, D]");
  int64_t b = heads.dim(0), h = heads.dim(1), l = heads.dim(2), d = heads.dim(3);
  detail::require(x.shape() == Shape{b, l, h * d} && x.contiguous(), "merge_heads",
                  "x " + x.describe() + " should be contiguous " + shape_string({b, l, h * d}));
  copy(s, heads, x.reshape({b, l, h, d}).permute({0, 2, 1, 3}));
}

}  // namespace ops
}  // namespace vkfuse
