// matmul: argument checks, K slicing and dispatch (shaders/matmul.comp). CPU reference:
// ref/matmul.cpp.
#include "loop_budget.h"
#include "matmul_contract.h"
#include "op_util.h"

namespace vkfuse {
namespace ops {

namespace {
using Params = shader::MatmulParams;
static_assert(shader::ACT_NONE == uint32_t(Activation::None) && shader::ACT_RELU == uint32_t(Activation::Relu) &&
                  shader::ACT_GELU == uint32_t(Activation::Gelu) &&
                  shader::ACT_QUICK_GELU == uint32_t(Activation::QuickGelu) &&
                  shader::ACT_GELU_TANH == uint32_t(Activation::GeluTanh) && shader::ACT_TANH == uint32_t(Activation::Tanh) &&
                  shader::ACT_SIGMOID == uint32_t(Activation::Sigmoid) && shader::ACT_CLIP == uint32_t(Activation::Clip) &&
                  shader::ACT_HARD_SIGMOID == uint32_t(Activation::HardSigmoid) &&
                  shader::ACT_HARD_SWISH == uint32_t(Activation::HardSwish) &&
                  shader::ACT_LEAKY_RELU == uint32_t(Activation::LeakyRelu) && shader::ACT_SILU == uint32_t(Activation::Silu) &&
                  shader::ACT_ELU == uint32_t(Activation::Elu) && shader::ACT_SOFTPLUS == uint32_t(Activation::Softplus) &&
                  shader::ACT_SELU == uint32_t(Activation::Selu) && shader::ACT_COUNT == uint32_t(Activation::Selu) + 1 &&
                  shader::ACT_COUNT <= shader::MATMUL_ACT_MASK + 1,
              "ops::Activation is the shaders' activation code");

// The build of shaders/matmul.comp (matmul.variants) for a kernel family and B's dtype.
enum class Family { Tiled, TiledPacked, Coopmat, Texel, TexelShared };
shader::Variant matmul_variant(Family f, DType b, bool fp16_math) {
  using V = shader::Variant;
  struct Row { V tiled, tiled_fp16, packed, packed_fp16, coopmat, texel, texel_shared; };
  static constexpr Row kRows[] = {
      // F32 B has no packed build: it is 32-bit words already.
      {V::matmul, V::matmul_fp16math, V::matmul, V::matmul_fp16math, V::matmul_coopmat, V::matmul_texel,
       V::matmul_texel_shared},
      {V::matmul_f16, V::matmul_f16_fp16math, V::matmul_f16_packed, V::matmul_f16_packed_fp16math,
       V::matmul_coopmat_f16, V::matmul_texel_f16, V::matmul_texel_shared_f16},
      {V::matmul_bf16, V::matmul_bf16_fp16math, V::matmul_bf16_packed, V::matmul_bf16_packed_fp16math,
       V::matmul_coopmat_bf16, V::matmul_texel_bf16, V::matmul_texel_shared_bf16},
  };
  const Row& r = kRows[b == DType::F16 ? 1 : b == DType::BF16 ? 2 : 0];
  switch (f) {
    case Family::Tiled: return fp16_math ? r.tiled_fp16 : r.tiled;
    case Family::TiledPacked: return fp16_math ? r.packed_fp16 : r.packed;
    case Family::Coopmat: return r.coopmat;
    case Family::Texel: return r.texel;
    case Family::TexelShared: return r.texel_shared;
  }
  return r.tiled;
}

struct Batch {
  int64_t outer = 1, inner = 1;
};

// Batch strides (outer, inner) of t against the batch shape of c; size-1 or missing
// dimensions broadcast with stride 0.
void batch_strides(const Tensor& t, const Batch& b, const std::string& name, uint32_t& so,
                   uint32_t& si) {
  const int nb = t.rank() - 2;
  detail::require(nb <= 2, "matmul", name + " " + t.describe() + " has more than two batch dimensions");
  int64_t sz[2] = {1, 1}, st[2] = {0, 0};
  for (int i = 0; i < nb; ++i) {
    sz[2 - nb + i] = t.shape()[i];
    st[2 - nb + i] = t.strides()[i];
  }
  const int64_t want[2] = {b.outer, b.inner};
  uint32_t out[2];
  for (int i = 0; i < 2; ++i) {
    detail::require(sz[i] == want[i] || sz[i] == 1, "matmul",
                    name + " " + t.describe() + " does not match the batch shape of the output");
    out[i] = sz[i] == 1 ? 0 : detail::u32(st[i]);
  }
  so = out[0];
  si = out[1];
}
}  // namespace

void matmul(Sequence& s, const Tensor& a, const Tensor& b, const Tensor& c, const MatmulOptions& o) {
  using detail::require;
  const std::string op = "matmul";
  detail::check_f32(a, op, "A");
  // B may be 16-bit (a weight from Context::matrix), widened to fp32 as the kernel reads it.
  require(b.defined(), op, "B is an empty tensor");
  const bool b16 = b.dtype() == DType::F16 || b.dtype() == DType::BF16;
  require(b.dtype() == DType::F32 || b16, op, "B is " + b.describe() + ", not F32, F16 or BF16");
  detail::check_f32(c, op, "C");
  for (const Tensor* t : {&a, &b, &c}) {
    require(t->rank() >= 2, op, t->describe() + " needs at least two dimensions");
    require(t->shape().back() <= 1 || t->strides().back() == 1, op,
            t->describe() + " must be contiguous in its last dimension");
  }
  int64_t m = a.dim(-2), k = a.dim(-1);
  int64_t n = o.trans_b ? b.dim(-2) : b.dim(-1);
  int64_t kb = o.trans_b ? b.dim(-1) : b.dim(-2);
  require(kb == k, op, "inner sizes differ: A " + a.describe() + ", B " + b.describe() +
                           (o.trans_b ? " (transposed)" : ""));
  require(c.dim(-2) == m && c.dim(-1) == n, op,
          "C " + c.describe() + " should be [.., " + std::to_string(m) + ", " + std::to_string(n) + "]");
  require(c.storage() != a.storage() && c.storage() != b.storage(), op,
          "C must not share memory with A or B");
  Batch batch;
  const int cb = c.rank() - 2;
  require(cb <= 2, op, "C " + c.describe() + " has more than two batch dimensions");
  if (cb >= 1) batch.inner = c.shape()[cb - 1];
  if (cb == 2) batch.outer = c.shape()[0];

  const detail::OpContext ctx = detail::op_context(s);
  const auto& t = ctx.tuning().matmul;
  Params p{};
  p.M = detail::u32(m);
  p.N = detail::u32(n);
  p.K = detail::u32(k);
  p.lda = detail::u32(a.strides()[a.rank() - 2]);
  p.ldb = detail::u32(b.strides()[b.rank() - 2]);
  p.ldc = detail::u32(c.strides()[c.rank() - 2]);
  p.off_a = detail::u32(a.offset());
  p.off_b = detail::u32(b.offset());
  p.off_c = detail::u32(c.offset());
  p.batch_inner = detail::u32(std::max<int64_t>(batch.inner, 1));
  batch_strides(a, batch, "A", p.sa_outer, p.sa_inner);
  batch_strides(b, batch, "B", p.sb_outer, p.sb_inner);
  batch_strides(c, batch, "C", p.sc_outer, p.sc_inner);
  p.alpha = o.alpha;
  p.act_a = o.act_alpha;
  p.act_b = o.act_beta;
  uint32_t bias_flag = 0;
  detail::Binding bias_binding = detail::reads(a);
  if (o.bias) {
    detail::check_f32(*o.bias, op, "bias");
    require(o.bias->rank() == 1 && o.bias->dim(0) == n, op,
            "bias " + o.bias->describe() + " should be [" + std::to_string(n) + "]");
    require(o.bias->strides()[0] == 1 || n == 1, op, "bias must be contiguous");
    bias_flag = shader::MATMUL_BIAS;
    p.off_bias = detail::u32(o.bias->offset());
    bias_binding = detail::reads(*o.bias);
  }
  // CPU devices read A and B as vec4 texels (see shaders/matmul.comp) where every row starts
  // on a texel and the texel buffers reach the whole of A and B; else the tiled kernel.
  auto quad = [](uint32_t v) { return v % 4 == 0; };
  auto texels_fit = [&](const Tensor& x) {
    return x.storage()->device.size / detail::texel_bytes(detail::texel_format(x.dtype())) <=
           ctx.caps().max_texel_buffer_elements;
  };
  const bool texels = t.texels && (!b16 || ctx.caps().rgba16_storage_texels) && quad(p.off_a) && quad(p.lda) &&
                      quad(p.sa_outer) && quad(p.sa_inner) &&
                      quad(p.off_b) && quad(p.ldb) && quad(p.sb_outer) && quad(p.sb_inner) && texels_fit(a) &&
                      texels_fit(b);
  uint32_t res_flag = 0;
  detail::Binding res_binding = detail::reads(a);
  if (o.residual) {
    detail::check_f32(*o.residual, op, "residual");
    require(o.residual->shape() == c.shape() && o.residual->strides() == c.strides(), op,
            "residual " + o.residual->describe() + " must have C's shape and strides " + c.describe());
    require(o.residual->storage() != c.storage(), op, "the residual must not share memory with C");
    res_flag = shader::MATMUL_RESIDUAL;
    p.off_res = detail::u32(o.residual->offset());
    res_binding = detail::reads(*o.residual);
  }
  // 16-bit B: the texel kernels read RGBA16 texels; the tiled one 16-bit words where the
  // device has 16-bit storage, else pairs of them in 32-bit words (_packed).
  // Cooperative matrices where the tuning asks for them (check_tuning: the device has them),
  // with F32 B or 16-bit B in 16-bit storage; a workgroup is one subgroup of tm x tn blocks
  // of 16x16 (its K step is 16).
  const bool coop = t.coopmat && !texels && (!b16 || ctx.caps().storage_16bit);
  const Family family = coop ? Family::Coopmat
                        : texels ? (t.shared_a ? Family::TexelShared : Family::Texel)
                        : b16 && !ctx.caps().storage_16bit ? Family::TiledPacked : Family::Tiled;
  const shader::Variant kernel = matmul_variant(family, b.dtype(), t.fp16_math);
  const uint32_t wg_x = coop ? ctx.caps().subgroup_size : t.wg_x, wg_y = coop ? 1u : t.wg_y;
  const uint32_t tile_m = coop ? 16 * t.tm : t.wg_y * t.tm, tile_n = coop ? 16 * t.tn : t.wg_x * t.tn;
  const uint32_t bk = coop ? 16u : t.bk;
  const detail::Pipeline& pipe = ctx.pipeline(kernel, {wg_x, wg_y, t.tm, t.tn, bk});
  // A deep K is split into slices that each stay within an invocation's loop budget; later
  // slices add to C, and bias and activation apply once, after the last. Slices are whole
  // texels (multiples of 4), so texel alignment holds for each.
  const uint64_t edges = coop ? detail::matmul_coopmat_edges_per_step(wg_x, t.tm, t.tn)
                              : detail::matmul_edges_per_tile(t.wg_x, t.wg_y, t.tm, t.tn, t.bk);
  const int64_t slice = texels ? static_cast<int64_t>((detail::kLoopBudget - 16) * 4)
                               : static_cast<int64_t>(std::max<uint64_t>(detail::kLoopBudget / edges, 1) * bk);
  const uint32_t b_step = o.trans_b ? 1u : p.ldb;  // elements of B per unit of K
  const int64_t k_total = std::max<int64_t>(k, 1);
  for (int64_t k0 = 0; k0 < k_total; k0 += slice) {
    const bool last = k0 + slice >= k_total;
    Params q = p;
    q.K = detail::u32(std::min<int64_t>(slice, k - k0));
    q.off_a = p.off_a + detail::u32(k0);
    q.off_b = p.off_b + detail::u32(k0) * b_step;
    q.flags = (o.trans_b ? shader::MATMUL_TRANS_B : 0u) | (k0 > 0 ? shader::MATMUL_ACCUMULATE : 0u) |
              (last ? bias_flag | res_flag | (static_cast<uint32_t>(o.act) << shader::MATMUL_ACT_SHIFT) : 0u);
    detail::Dispatch d;
    d.bindings = {texels ? detail::reads_texels(a) : detail::reads(a),
                  texels ? detail::reads_texels(b) : detail::reads(b), detail::writes(c), bias_binding,
                  res_binding};
    d.pipeline = &pipe;
    d.push = detail::push_bytes(q);
    d.groups[0] = detail::u32(detail::ceil_div(n, tile_n));
    d.groups[1] = detail::u32(detail::ceil_div(m, tile_m));
    d.groups[2] = detail::u32(batch.outer * batch.inner);
    d.label = "matmul " + std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(q.K) +
              (d.groups[2] > 1 ? " x" + std::to_string(d.groups[2]) : "");
    detail::add_dispatch(s, std::move(d));
  }
}

}  // namespace ops
}  // namespace vkfuse
