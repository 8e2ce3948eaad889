// Recording and replay: barriers only where a hazard is, replay with new data, split
// submits, timestamps.
#include "gpu_test.hpp"
#include "runtime/dispatch.h"
#include "runtime/pipeline.h"
#include "runtime/shader_table.h"
#include "elementwise_contract.h"

using vkfuse::Tensor;
using vkt::Mode;

namespace {

class SequenceTest : public vkt::GpuTestP<Mode> {};

// Records y = relu(x·W + b) once and replays it for several inputs, uploading each through
// the host side; every run gives that input's own answer.
TEST_P(SequenceTest, ReplaysWithNewInputs) {
  auto& ctx = vkt::context(GetParam());
  const int64_t m = 5, k = 9, n = 6;
  auto w = vkt::random_vec(k * n, 61), b = vkt::random_vec(n, 62);
  Tensor tx = ctx.tensor({m, k}), tw = ctx.tensor({k, n}, w), tb = ctx.tensor({n}, b), ty = ctx.tensor({m, n});
  vkfuse::ops::MatmulOptions o;
  o.bias = &tb;
  o.act = vkfuse::ops::Activation::Relu;
  vkfuse::Sequence s(ctx);
  s.upload(tx);
  vkfuse::ops::matmul(s, tx, tw, ty, o);
  s.download(ty);
  for (uint32_t seed = 0; seed < 4; ++seed) {
    auto x = vkt::random_vec(m * k, 100 + seed);
    tx.write_host(x.data(), x.size() * 4);
    s.run();
    std::vector<float> got(m * n), want(m * n);
    ty.read_host(got.data(), got.size() * 4);
    vkfuse::ref::matmul(x.data(), w.data(), want.data(), 1, m, n, k, o, b.data(), false);
    EXPECT_TRUE(vkt::near_all(got, want, 1e-6f, 1e-5f)) << "run " << seed;
  }
  EXPECT_EQ(s.dispatch_count(), 1u);
  EXPECT_THROW(vkfuse::ops::relu(s, ty, ty), vkfuse::Error);  // recorded already
}

// Independent dispatches share no barrier; a dependent one gets exactly one.
TEST_P(SequenceTest, BarriersOnlyAtHazards) {
  auto& ctx = vkt::context(GetParam());
  auto x = vkt::random_vec(64, 63);
  Tensor a = ctx.tensor({64}, x), b = ctx.tensor({64}), c = ctx.tensor({64}), d = ctx.tensor({64});
  vkfuse::Sequence s(ctx);
  vkfuse::ops::relu(s, a, b);  // reads a, writes b
  vkfuse::ops::gelu(s, a, c);  // reads a, writes c: no hazard
  vkfuse::ops::add(s, b, c, d);  // reads b and c: one barrier (RAW)
  vkfuse::ops::relu(s, a, b);  // overwrites b, which add read: one barrier (WAR)
  s.run();
  EXPECT_EQ(s.barrier_count(), 2u);
  std::vector<float> want(64);
  for (int i = 0; i < 64; ++i) want[i] = vkfuse::ref::relu(x[i]) + vkfuse::ref::gelu(x[i]);
  EXPECT_TRUE(vkt::near_all(d.read(), want, 2e-7f, 1e-6f));
}

// A long chain split over several submits keeps its order and its result.
TEST_P(SequenceTest, SplitsLongSequencesIntoSubmits) {
  auto& ctx = vkt::context(GetParam());
  std::vector<float> one(16, 1.f), zero(16, 0.f);
  Tensor ones = ctx.tensor({16}, one), acc0 = ctx.tensor({16}, zero), acc1 = ctx.tensor({16});
  vkfuse::SequenceOptions so;
  so.max_dispatches_per_submit = 3;
  vkfuse::Sequence s(ctx, so);
  for (int i = 0; i < 10; ++i) vkfuse::ops::add(s, i % 2 ? acc1 : acc0, ones, i % 2 ? acc0 : acc1);
  s.run();
  EXPECT_EQ(s.submit_count(), 4u);
  for (float v : acc0.read()) EXPECT_EQ(v, 10.f);
  s.run();  // replay continues from the state the first run left
  for (float v : acc0.read()) EXPECT_EQ(v, 20.f);
}

TEST_P(SequenceTest, TimestampsPerDispatch) {
  auto& ctx = vkt::context(GetParam());
  if (!ctx.caps().timestamps) GTEST_SKIP() << "device has no timestamps";
  Tensor a = ctx.tensor({128, 128}, vkt::random_vec(128 * 128, 64)), c = ctx.tensor({128, 128});
  vkfuse::SequenceOptions so;
  so.timestamps = true;
  vkfuse::Sequence s(ctx, so);
  vkfuse::ops::matmul(s, a, a, c);
  vkfuse::ops::softmax(s, c, a);  // overwrites what the matmul read: a WAR barrier
  s.run();
  auto t = s.timings();
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].label, "matmul 128x128x128");
  for (const auto& x : t) EXPECT_GT(x.ms, 0.0) << x.label;
  EXPECT_NEAR(s.total_device_ms(), t[0].ms + t[1].ms, 1e-9);
}

// A download of an intermediate result, then a dispatch that overwrites it: a staged device
// copies the intermediate out in between; with host-visible memory there is nothing to copy
// at that point, so the sequence refuses rather than return the final value instead.
TEST_P(SequenceTest, MidSequenceDownloadNeedsStagedMemory) {
  auto& ctx = vkt::context(GetParam());
  std::vector<float> x = {-1.f, 2.f, -3.f, 4.f};
  Tensor a = ctx.tensor({4}, x), b = ctx.tensor({4});
  vkfuse::Sequence s(ctx);
  vkfuse::ops::relu(s, a, b);
  s.download(b);
  vkfuse::ops::gelu(s, a, b);
  const bool direct = ctx.caps().device_local_host_visible && GetParam() != Mode::Staged;
  if (direct) {
    EXPECT_THROW(s.run(), vkfuse::Error);
    EXPECT_THROW(s.run(), vkfuse::Error);  // and again: the failed recording left nothing behind
  } else {
    s.run();
    std::vector<float> got(4);
    b.read_host(got.data(), 16);
    EXPECT_EQ(got, (std::vector<float>{0.f, 2.f, 0.f, 4.f}));  // the relu, downloaded before the gelu
  }
}

// A dispatch is held to its shader's table (shaders/<shader>.variants): the bindings and
// push constants it gives and the specialization constants its pipeline is built with.
TEST_P(SequenceTest, DispatchMustMatchItsVariantTable) {
  auto& ctx = vkt::context(GetParam());
  const auto dev = vkfuse::detail::op_context(ctx);
  EXPECT_THROW(dev.pipeline(vkfuse::shader::Variant::elementwise, {64}), vkfuse::Error);  // takes WG and OP
  Tensor a = ctx.tensor({4}), c = ctx.tensor({4});
  vkfuse::shader::ElementwiseParams p{};
  auto dispatch = [&](size_t bindings, size_t push) {
    vkfuse::detail::Dispatch d;
    d.pipeline = &dev.pipeline(vkfuse::shader::Variant::elementwise, {64, 0});
    d.bindings.assign(bindings, vkfuse::detail::Binding{a.storage(), false});
    d.bindings.back() = vkfuse::detail::Binding{c.storage(), true};
    d.push = vkfuse::detail::push_bytes(p);
    d.push.resize(push);
    d.label = "probe";
    return d;
  };
  vkfuse::Sequence s(ctx);
  EXPECT_THROW(vkfuse::detail::add_dispatch(s, dispatch(2, sizeof(p))), vkfuse::Error);
  EXPECT_THROW(vkfuse::detail::add_dispatch(s, dispatch(3, sizeof(p) - 4)), vkfuse::Error);
  EXPECT_NO_THROW(vkfuse::detail::add_dispatch(s, dispatch(3, sizeof(p))));
  EXPECT_EQ(s.dispatch_count(), 1u);
}

// Every embedded variant is SPIR-V with a layout a device can take.
TEST(ShaderTable, EveryVariantIsSpirvWithItsLayout) {
  const size_t n = vkfuse::detail::variant_count();
  ASSERT_GT(n, 40u);
  for (size_t i = 0; i < n; ++i) {
    const auto& v = vkfuse::detail::variant_info(static_cast<vkfuse::shader::Variant>(i));
    SCOPED_TRACE(v.name);
    ASSERT_GT(v.count, 5u);
    EXPECT_EQ(v.words[0], 0x07230203u);  // the SPIR-V magic number
    EXPECT_GE(v.bindings, 1u);
    EXPECT_LE(v.bindings, 8u);
    EXPECT_EQ(v.texel_bindings >> v.bindings, 0u);  // texel bits name existing bindings
    EXPECT_GT(v.push_bytes, 0u);
    EXPECT_LE(v.push_bytes, 128u);
    EXPECT_GE(v.spec_count, 1u);  // the workgroup size at least
  }
}

INSTANTIATE_TEST_SUITE_P(Runtime, SequenceTest, ::testing::Values(Mode::Normal, Mode::Portable, Mode::Staged),
                         [](const auto& pi) { return vkt::mode_name(pi.param); });

}  // namespace
