// pointwise: broadcast strides, merged dimensions and dispatch (shaders/pointwise.comp). CPU
// reference: ref/pointwise.cpp.
#include "op_util.h"
#include "pointwise_contract.h"

namespace vkfuse {
namespace ops {

namespace {
using Params = shader::PointwiseParams;
constexpr int kMaxRank = PW_MAX_RANK;
static_assert(uint32_t(Pointwise::Copy) == shader::PW_COPY && uint32_t(Pointwise::Cast) == shader::PW_CAST &&
                  uint32_t(Pointwise::Activate) == shader::PW_ACTIVATE && uint32_t(Pointwise::Add) == shader::PW_ADD &&
                  uint32_t(Pointwise::PRelu) == shader::PW_PRELU && uint32_t(Pointwise::Where) == shader::PW_WHERE &&
                  uint32_t(Pointwise::MulAdd) + 1 == shader::PW_COUNT && uint32_t(Pointwise::IsInf) == shader::PW_ISINF &&
                  uint32_t(Pointwise::Mod) == shader::PW_MOD && uint32_t(Pointwise::Xor) == shader::PW_XOR,
              "ops::Pointwise is the shader's PW_* code");
static_assert(uint32_t(CastTo::Bool) == shader::PW_CAST_BOOL && uint32_t(CastTo::U16) == shader::PW_CAST_U16 &&
                  uint32_t(CastTo::F16) == shader::PW_CAST_F16 && uint32_t(CastTo::BF16) == shader::PW_CAST_BF16,
              "ops::CastTo is the shader's PW_CAST_* code");

const char* const kNames[] = {"copy", "neg", "abs", "exp", "log", "sqrt", "reciprocal", "erf", "floor", "ceil",
                              "round", "sign", "sin", "cos", "not", "isnan", "isinf", "softsign", "activate", "cast",
                              "add", "sub", "mul", "div", "pow", "max", "min", "mod", "fmod", "equal", "less",
                              "greater", "less_equal", "greater_equal", "and", "or", "xor", "prelu", "where",
                              "muladd"};
static_assert(sizeof(kNames) / sizeof(kNames[0]) == shader::PW_COUNT, "a name per op");
}  // namespace

int pointwise_arity(Pointwise op) {
  const uint32_t c = uint32_t(op);
  return c < shader::PW_ADD ? 1 : c < shader::PW_WHERE ? 2 : 3;
}

const char* pointwise_name(Pointwise op) { return kNames[uint32_t(op)]; }

void pointwise(Sequence& s, Pointwise op, const std::vector<const Tensor*>& in, const Tensor& y,
               const PointwiseOptions& o) {
  using detail::require;
  const std::string name = std::string("pointwise ") + pointwise_name(op);
  require(uint32_t(op) < shader::PW_COUNT, name, "unknown op");
  const int arity = pointwise_arity(op);
  require(int(in.size()) == arity, name, "takes " + std::to_string(arity) + " inputs, got " + std::to_string(in.size()));
  auto is_int = [](const Tensor& t) { return t.dtype() == DType::I32; };
  require(y.defined() && (y.dtype() == DType::F32 || is_int(y)), name, "y must be F32 or I32");
  require(y.contiguous(), name, "y " + y.describe() + " must be contiguous");
  const int rank = y.rank();
  // Each input's strides over y's dimensions: 0 where it broadcasts or has no such dimension.
  std::vector<Shape> strides;
  for (size_t k = 0; k < in.size(); ++k) {
    const Tensor& t = *in[k];
    const std::string which = "input " + std::to_string(k);
    require(t.defined() && (t.dtype() == DType::F32 || is_int(t)), name, which + " must be F32 or I32");
    require(t.rank() <= rank, name, which + " " + t.describe() + " has more dimensions than y " + y.describe());
    require(t.storage() != y.storage() || (t.offset() == y.offset() && t.shape() == y.shape() && t.strides() == y.strides()),
            name, which + " overlaps y without being y");
    Shape st(size_t(rank), 0);
    for (int d = 0; d < t.rank(); ++d) {
      const int yd = rank - t.rank() + d;
      const int64_t ts = t.shape()[size_t(d)], ys = y.shape()[size_t(yd)];
      require(ts == ys || ts == 1, name,
              which + " " + t.describe() + " does not broadcast to y " + y.describe());
      st[size_t(yd)] = ts == 1 ? 0 : t.strides()[size_t(d)];
    }
    strides.push_back(std::move(st));
  }
  // Merge a dimension into the next inner one where every input steps over both as one run,
  // and drop dimensions of size 1.
  Shape size;
  std::vector<Shape> merged(in.size());
  for (int d = 0; d < rank; ++d) {
    const int64_t n = y.shape()[size_t(d)];
    if (n == 1) continue;
    bool joins = !size.empty();
    for (size_t k = 0; k < in.size() && joins; ++k) joins = merged[k].back() == strides[k][size_t(d)] * n;
    if (joins) {
      size.back() *= n;
      for (size_t k = 0; k < in.size(); ++k) merged[k].back() = strides[k][size_t(d)];
    } else {
      size.push_back(n);
      for (size_t k = 0; k < in.size(); ++k) merged[k].push_back(strides[k][size_t(d)]);
    }
  }
  require(int(size.size()) <= kMaxRank, name,
          "y " + y.describe() + " with its inputs' strides needs " + std::to_string(size.size()) +
              " dimensions, more than the kernel's " + std::to_string(kMaxRank));
  Params p{};
  p.n = detail::u32(y.numel());
  p.off_y = detail::u32(y.offset());
  uint32_t* offs[3] = {&p.off_a, &p.off_b, &p.off_c};
  uint32_t* sts[3] = {p.sa, p.sb, p.sc};
  const int pad = kMaxRank - int(size.size());
  for (int d = 0; d < kMaxRank; ++d) p.size[d] = d < pad ? 1u : detail::u32(size[size_t(d - pad)]);
  for (int k = 0; k < 3; ++k) {
    // Unused slots read input 0 as it is read.
    const size_t src = size_t(std::min(k, arity - 1));
    *offs[k] = detail::u32(in[src]->offset());
    for (int d = 0; d < kMaxRank; ++d)
      sts[k][d] = d < pad ? 0u : static_cast<uint32_t>(int32_t(merged[src][size_t(d - pad)]));
  }
  for (size_t k = 0; k < in.size(); ++k)
    for (int64_t st : merged[k])
      require(st >= INT32_MIN && st <= INT32_MAX, name, "a stride does not fit 32 bits");
  p.alpha = o.alpha;
  p.beta = o.beta;
  if (op == Pointwise::Activate) {
    p.aux = static_cast<uint32_t>(o.act);
  } else if (op == Pointwise::Cast) {
    p.aux = static_cast<uint32_t>(o.cast);
    const bool wraps = o.cast == CastTo::Bool || o.cast == CastTo::I8 || o.cast == CastTo::U8 || o.cast == CastTo::I16 ||
                       o.cast == CastTo::U16;
    require(o.cast == CastTo::Same || (wraps == is_int(y)), name,
            "the conversion does not match y's dtype " + std::string(dtype_name(y.dtype())));
  } else if (op == Pointwise::IsInf) {
    p.aux = (o.inf_positive ? 1u : 0u) | (o.inf_negative ? 2u : 0u);
  }
  // Where's values and the output share a kind; its condition may be either.
  if (op == Pointwise::Where)
    require(is_int(*in[1]) == is_int(y) && is_int(*in[2]) == is_int(y), name,
            "the values " + in[1]->describe() + ", " + in[2]->describe() + " and y " + y.describe() + " differ in dtype");
  bool int_math = true;
  for (size_t k = op == Pointwise::Where ? 1 : 0; k < in.size(); ++k) int_math = int_math && is_int(*in[k]);
  const detail::OpContext ctx = detail::op_context(s);
  const uint32_t wg = ctx.tuning().elementwise_wg;
  auto flag = [&](size_t k) { return uint32_t(is_int(*in[std::min(k, in.size() - 1)])); };
  detail::Dispatch d;
  d.pipeline = &ctx.pipeline(shader::Variant::pointwise, {wg, uint32_t(op), uint32_t(int_math), flag(0), flag(1),
                                                           flag(2), uint32_t(is_int(y))});
  d.bindings = {detail::reads(*in[0]), detail::reads(*in[std::min<size_t>(1, in.size() - 1)]),
                detail::reads(*in[std::min<size_t>(2, in.size() - 1)]), detail::writes(y)};
  d.push = detail::push_bytes(p);
  ctx.split_groups(detail::ceil_div(p.n, wg), d.groups);
  if (p.n == 0) d.groups[0] = 0;
  d.label = std::string(pointwise_name(op)) + " " + shape_string(y.shape());
  detail::add_dispatch(s, std::move(d));
}

}  // namespace ops
}  // namespace vkfuse
