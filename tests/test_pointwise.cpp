// ops::pointwise on the GPU against ref::pointwise: every op, broadcasting, strided views,
// integer math and casts.
//
// Tolerance: each op is one rounding of an fp32 result, except the transcendental ones, whose
// accuracy Vulkan states per function (exp and pow 3 + 2·|x| ulp, log 3 ulp or 2^-21 absolute
// near 1, sin and cos 2^-11 absolute) and erf, a rational approximation within 1.5e-7
// absolute: 2e-6 relative plus 1e-6 absolute covers all but sin/cos (5e-4 absolute).
#include "array_test.hpp"

using vkfuse::Tensor;
using vkfuse::ops::Pointwise;
using vkfuse::ref::Array;
using vkt::Mode;

namespace {

Array run(vkfuse::Context& ctx, Pointwise op, const std::vector<const Array*>& in, bool integer_out,
          const vkfuse::ops::PointwiseOptions& o = {}) {
  std::vector<Tensor> t;
  vkfuse::Shape shape;
  for (const Array* a : in) {
    t.push_back(vkt::upload(ctx, *a));
    shape = shape.empty() && a == in[0] ? a->shape : vkfuse::ref::broadcast_shape(shape, a->shape);
  }
  Tensor y = ctx.tensor(shape, integer_out ? vkfuse::DType::I32 : vkfuse::DType::F32);
  std::vector<const Tensor*> ptr;
  for (const Tensor& x : t) ptr.push_back(&x);
  vkt::run_once(ctx, [&](vkfuse::Sequence& s) { vkfuse::ops::pointwise(s, op, ptr, y, o); });
  return vkt::download(y);
}

class PointwiseK : public vkt::GpuTestP<Mode> {};

TEST_P(PointwiseK, UnaryFloat) {
  auto& ctx = vkt::context(GetParam());
  const Array x = vkt::random_floats({3, 5, 7}, 1, -3.f, 3.f);
  Array pos = x;
  for (auto& v : pos.f) v = std::fabs(v) + 0.05f;
  for (uint32_t c = 0; c <= uint32_t(Pointwise::Softsign); ++c) {
    const Pointwise op = Pointwise(c);
    const bool logic = op == Pointwise::Not || op == Pointwise::IsNaN || op == Pointwise::IsInf;
    const Array& in = op == Pointwise::Log || op == Pointwise::Sqrt ? pos : x;
    const bool trig = op == Pointwise::Sin || op == Pointwise::Cos;
    EXPECT_TRUE(vkt::near_array(run(ctx, op, {&in}, logic), vkfuse::ref::pointwise(op, {&in}, logic),
                                trig ? 5e-4f : 1e-6f, 2e-6f))
        << vkfuse::ops::pointwise_name(op);
  }
}

TEST_P(PointwiseK, SpecialValues) {
  auto& ctx = vkt::context(GetParam());
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const Array x = Array::floats({6}, {inf, -inf, nan, 0.f, -2.5f, 2.5f});
  for (Pointwise op : {Pointwise::IsNaN, Pointwise::IsInf, Pointwise::Not, Pointwise::Round, Pointwise::Sign})
    EXPECT_TRUE(vkt::near_array(run(ctx, op, {&x}, op < Pointwise::Softsign && op > Pointwise::Cos),
                                vkfuse::ref::pointwise(op, {&x}, op < Pointwise::Softsign && op > Pointwise::Cos), 0, 0))
        << vkfuse::ops::pointwise_name(op);
  vkfuse::ops::PointwiseOptions only_negative;
  only_negative.inf_positive = false;
  EXPECT_TRUE(vkt::near_array(run(ctx, Pointwise::IsInf, {&x}, true, only_negative),
                              Array::ints({6}, {0, 1, 0, 0, 0, 0}), 0, 0));
}

TEST_P(PointwiseK, Activations) {
  auto& ctx = vkt::context(GetParam());
  const Array x = vkt::random_floats({4, 33}, 2, -6.f, 6.f);
  using A = vkfuse::ops::Activation;
  for (A act : {A::Relu, A::Gelu, A::QuickGelu, A::GeluTanh, A::Tanh, A::Sigmoid, A::Clip, A::HardSigmoid, A::HardSwish,
                A::LeakyRelu, A::Silu, A::Elu, A::Softplus, A::Selu}) {
    vkfuse::ops::PointwiseOptions o;
    o.act = act;
    o.alpha = act == A::Clip ? -1.5f : act == A::HardSigmoid ? 0.2f : act == A::Selu ? 1.6732632f : 0.1f;
    o.beta = act == A::Clip ? 2.f : act == A::HardSigmoid ? 0.5f : act == A::Selu ? 1.050701f : 0.f;
    EXPECT_TRUE(vkt::near_array(run(ctx, Pointwise::Activate, {&x}, false, o),
                                vkfuse::ref::pointwise(Pointwise::Activate, {&x}, false, o), 1e-6f, 4e-6f))
        << int(act);
  }
}

TEST_P(PointwiseK, BinaryBroadcast) {
  auto& ctx = vkt::context(GetParam());
  const Array a = vkt::random_floats({2, 3, 4, 5}, 3, -2.f, 2.f), b = vkt::random_floats({3, 1, 5}, 4, 0.5f, 2.f);
  const Array s = vkt::random_floats({}, 5, 0.5f, 1.f);
  for (uint32_t c = uint32_t(Pointwise::Add); c <= uint32_t(Pointwise::PRelu); ++c) {
    const Pointwise op = Pointwise(c);
    if (op == Pointwise::Mod) continue;  // integers only (ONNX: fmod=1 for floats)
    const bool logic = op >= Pointwise::Equal && op <= Pointwise::Xor;
    Array base = a;
    if (op == Pointwise::Pow)
      for (auto& v : base.f) v = std::fabs(v) + 0.1f;
    for (const Array* rhs : {&b, &s})
      EXPECT_TRUE(vkt::near_array(run(ctx, op, {&base, rhs}, logic), vkfuse::ref::pointwise(op, {&base, rhs}, logic),
                                  1e-6f, 4e-6f))
          << vkfuse::ops::pointwise_name(op);
  }
  // Broadcast both ways: [4,1] with [1,5].
  const Array c = vkt::random_floats({4, 1}, 6), d = vkt::random_floats({1, 5}, 7);
  EXPECT_TRUE(vkt::near_array(run(ctx, Pointwise::Sub, {&c, &d}, false),
                              vkfuse::ref::pointwise(Pointwise::Sub, {&c, &d}, false), 0, 0));
}

TEST_P(PointwiseK, IntegerMath) {
  auto& ctx = vkt::context(GetParam());
  const Array a = vkt::random_ints({6, 7}, 8, -50, 50);
  Array b = vkt::random_ints({7}, 9, -9, 9);
  for (auto& v : b.i)
    if (v == 0) v = 3;
  for (Pointwise op : {Pointwise::Add, Pointwise::Sub, Pointwise::Mul, Pointwise::Div, Pointwise::Mod, Pointwise::FMod,
                       Pointwise::Max, Pointwise::Min, Pointwise::Equal, Pointwise::Less, Pointwise::GreaterOrEqual,
                       Pointwise::And, Pointwise::Xor})
    EXPECT_TRUE(vkt::near_array(run(ctx, op, {&a, &b}, true), vkfuse::ref::pointwise(op, {&a, &b}, true), 0, 0))
        << vkfuse::ops::pointwise_name(op);
  for (Pointwise op : {Pointwise::Neg, Pointwise::Abs, Pointwise::Sign, Pointwise::Not})
    EXPECT_TRUE(vkt::near_array(run(ctx, op, {&a}, true), vkfuse::ref::pointwise(op, {&a}, true), 0, 0))
        << vkfuse::ops::pointwise_name(op);
}

TEST_P(PointwiseK, WhereAndMulAdd) {
  auto& ctx = vkt::context(GetParam());
  const Array cond = vkt::random_ints({3, 1}, 10, 0, 1), x = vkt::random_floats({3, 4}, 11), y = vkt::random_floats({4}, 12);
  EXPECT_TRUE(vkt::near_array(run(ctx, Pointwise::Where, {&cond, &x, &y}, false),
                              vkfuse::ref::pointwise(Pointwise::Where, {&cond, &x, &y}, false), 0, 0));
  const Array ix = vkt::random_ints({3, 4}, 13, -5, 5), iy = vkt::random_ints({1}, 14, -5, 5);
  EXPECT_TRUE(vkt::near_array(run(ctx, Pointwise::Where, {&cond, &ix, &iy}, true),
                              vkfuse::ref::pointwise(Pointwise::Where, {&cond, &ix, &iy}, true), 0, 0));
  const Array z = vkt::random_floats({3, 4}, 15);
  EXPECT_TRUE(vkt::near_array(run(ctx, Pointwise::MulAdd, {&x, &y, &z}, false),
                              vkfuse::ref::pointwise(Pointwise::MulAdd, {&x, &y, &z}, false), 1e-7f, 2e-7f));
}

TEST_P(PointwiseK, Casts) {
  auto& ctx = vkt::context(GetParam());
  using vkfuse::ops::CastTo;
  const Array f = vkt::random_floats({40}, 16, -300.f, 300.f);
  const Array i = vkt::random_ints({40}, 17, -70000, 70000);
  struct C { const Array* in; CastTo to; bool integer_out; };
  for (C c : {C{&f, CastTo::Same, true}, C{&f, CastTo::Bool, true}, C{&f, CastTo::I8, true}, C{&f, CastTo::F16, false},
              C{&f, CastTo::BF16, false}, C{&i, CastTo::Same, false}, C{&i, CastTo::U8, true}, C{&i, CastTo::I16, true},
              C{&i, CastTo::U16, true}}) {
    vkfuse::ops::PointwiseOptions o;
    o.cast = c.to;
    EXPECT_TRUE(vkt::near_array(run(ctx, Pointwise::Cast, {c.in}, c.integer_out, o),
                                vkfuse::ref::pointwise(Pointwise::Cast, {c.in}, c.integer_out, o), 0, 0))
        << int(c.to) << (c.in == &f ? " from float" : " from int");
  }
}

// Inputs read in place through views: a transpose and a broadcast of stride 0.
TEST_P(PointwiseK, StridedViews) {
  auto& ctx = vkt::context(GetParam());
  const Array a = vkt::random_floats({4, 6, 5}, 18), b = vkt::random_floats({5, 6}, 19);
  Tensor ta = vkt::upload(ctx, a), tb = vkt::upload(ctx, b);
  Tensor at = ta.permute({2, 1, 0});  // [5, 6, 4]
  Tensor y = ctx.tensor({5, 6, 4});
  Tensor bexp = tb.view({5, 6, 4}, {6, 1, 0}, 0);
  vkt::run_once(ctx, [&](vkfuse::Sequence& s) { vkfuse::ops::pointwise(s, Pointwise::Mul, {&at, &bexp}, y); });
  std::vector<float> want(5 * 6 * 4);
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 6; ++j)
      for (int k = 0; k < 4; ++k) want[size_t((i * 6 + j) * 4 + k)] = a.f[size_t((k * 6 + j) * 5 + i)] * b.f[size_t(i * 6 + j)];
  EXPECT_TRUE(vkt::near_all(y.read(), want, 0, 0));
}

TEST_P(PointwiseK, RefusesWhatItCannotDo) {
  auto& ctx = vkt::context(GetParam());
  Tensor a = ctx.tensor({3, 4}), b = ctx.tensor({5}), y = ctx.tensor({3, 4});
  vkfuse::Sequence s(ctx);
  EXPECT_THROW(vkfuse::ops::pointwise(s, Pointwise::Add, {&a, &b}, y), vkfuse::Error);
  EXPECT_THROW(vkfuse::ops::pointwise(s, Pointwise::Add, {&a}, y), vkfuse::Error);
  EXPECT_THROW(vkfuse::ops::pointwise(s, Pointwise::Neg, {&a}, y.permute({1, 0})), vkfuse::Error);
}

INSTANTIATE_TEST_SUITE_P(Kernel, PointwiseK, ::testing::Values(Mode::Normal, Mode::Portable),
                         [](const auto& pi) { return vkt::mode_name(pi.param); });

}  // namespace
