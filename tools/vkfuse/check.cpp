// vkfuse check [--json] [--device SEL] [--portable]: the conformance report. Every kernel and
// variant on this device, at shapes that include edge tiles and long loops, against its CPU
// reference (vkfuse::ref, accumulating in double). Needs no build tree and no validation
// layer; exits non-zero when any case fails. The JSON is what to attach to a bug report.
//
// Long-K matmuls use inputs in {-1, 0, 1}, exact in fp32, and must match exactly.
// Bounds: an fp32 sum of n terms is off by at most n·u·Σ|terms| (u = 2^-24) and in practice
// by about √n·u·Σ|terms| (rounding errors of random sign: Higham, Accuracy and Stability,
// §2.8); the worst-case bound would pass a matmul of K = 300,000 that returned zeros, so the
// report uses 4·√n·u·Σ|terms|: matmul per element 4·√K·u·(|A|·|B|)_ij from the reference
// run on |A| and |B|; softmax (64 + 4·√n)·u relative to each probability; layer norm and l2
// (64 + 4·√n)·u·(1 + |want|); attention the score bound of tests/test_attention.cpp plus
// 8·√S·u for the softmax sum; exact for copies, gathers, top-k and fma_peak.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>

#include "../../bench/bench_util.hpp"
#include "commands.hpp"
#include "vkfuse/reference.hpp"
#include "vkfuse/version.h"
#include "vkfuse/vkfuse.hpp"

namespace {

using vkfuse::Context;
using vkfuse::Sequence;
using vkfuse::Tensor;
namespace ops = vkfuse::ops;
namespace ref = vkfuse::ref;
constexpr double kU = 1.0 / (1 << 24);
const float kInf = std::numeric_limits<float>::infinity();

// What a case computed on the device, what its reference says, and each element's bound.
struct Outcome {
  std::vector<float> got, want;
  std::vector<double> tol;  // per element, or one for all
};

struct Case {
  std::string kernel, variant, shape;
  std::function<void(vkfuse::Tuning&)> tune;  // the variant's tuning on top of the device's
  std::function<Outcome(Context&)> run;
};

struct Result {
  double max_error = 0, worst_ratio = 0;  // the largest |got - want|, and of |got - want| / bound
  bool pass = true;
};

Result compare(const Outcome& o) {
  Result r;
  if (o.got.size() != o.want.size()) return {0, 0, false};
  for (size_t i = 0; i < o.got.size(); ++i) {
    const double g = o.got[i], w = o.want[i], t = o.tol.size() == 1 ? o.tol[0] : o.tol[i];
    if (std::isnan(w) || std::isinf(w)) {
      if (!(std::isnan(w) ? std::isnan(g) : g == w)) r.pass = false;
      continue;
    }
    const double e = std::isfinite(g) ? std::fabs(g - w) : std::numeric_limits<double>::infinity();
    r.max_error = std::max(r.max_error, e);
    r.worst_ratio = std::max(r.worst_ratio, e / t);
    if (!(e <= t)) r.pass = false;
  }
  return r;
}

std::vector<float> rnd(int64_t n, uint32_t seed) { return bench::random_vec(size_t(n), seed); }

std::vector<float> run_one(Context& ctx, const Tensor& out, const std::function<void(Sequence&)>& record) {
  Sequence s(ctx);
  record(s);
  s.run();
  return out.read();
}

// (64 + 4·√n)·u·(offset + |want|): offset 1 where errors are absolute (layer norm), 0 where
// relative (softmax's probabilities; 1e-30 keeps a masked zero exact).
std::vector<double> row_bound(const std::vector<float>& want, int64_t n, double offset) {
  std::vector<double> t(want.size());
  for (size_t i = 0; i < t.size(); ++i)
    t[i] = (4.0 * std::sqrt(double(n)) + 64) * kU * (offset + std::fabs(want[i])) + 1e-30;
  return t;
}

// ---- matmul ------------------------------------------------------------------------------
// Small integers (-1, 0, 1): every partial sum of a K below 2^24 is exact in fp32, so the
// result must be exact. For long K, where a rounding bound would hide a dropped slice.
std::vector<float> ternary(int64_t n, uint32_t seed) {
  std::mt19937 g(seed);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = float(int(g() % 3) - 1);
  return v;
}

// B (the weight) the values held in `weights`: F32, or F16 or BF16, rounded as Context::matrix
// rounds them; the reference multiplies the rounded values, the bounds are fp32's.
std::vector<float> held_as(std::vector<float> v, vkfuse::DType weights) {
  if (weights != vkfuse::DType::F32)
    for (auto& x : v) x = vkfuse::round_to_16bit(x, weights);
  return v;
}

Case matmul_case(const std::string& variant, int64_t m, int64_t n, int64_t k, bool trans_b, bool epilogue,
                 std::function<void(vkfuse::Tuning&)> tune = {}, bool exact = false,
                 vkfuse::DType weights = vkfuse::DType::F32, bool fp16_products = false) {
  std::string shape = std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k) + (trans_b ? " B^T" : "") +
                      (epilogue ? " +bias gelu +residual" : "") + (exact ? " exact" : "");
  if (weights != vkfuse::DType::F32) shape += std::string(" ") + vkfuse::dtype_name(weights) + " B";
  return {"matmul", variant, shape, std::move(tune), [=](Context& ctx) {
            auto a = exact ? ternary(m * k, 1) : rnd(m * k, 1);
            auto b = held_as(exact ? ternary(k * n, 2) : rnd(k * n, 2), weights);
            auto bias = rnd(n, 3), res = rnd(m * n, 4);
            Tensor ta = ctx.tensor({m, k}, a);
            Tensor tb = trans_b ? ctx.matrix(n, k, b, weights)
                                : weights != vkfuse::DType::F32 ? ctx.matrix(k, n, b, weights) : ctx.tensor({k, n}, b);
            Tensor tc = ctx.tensor({m, n}), tbias = ctx.tensor({n}, bias), tres = ctx.tensor({m, n}, res);
            ops::MatmulOptions o;
            o.trans_b = trans_b;
            if (epilogue) {
              o.bias = &tbias;
              o.act = ops::Activation::Gelu;
              o.residual = &tres;
            }
            Outcome out;
            out.got = run_one(ctx, tc, [&](Sequence& s) { ops::matmul(s, ta, tb, tc, o); });
            out.want.resize(size_t(m * n));
            ref::matmul(a.data(), b.data(), out.want.data(), 1, m, n, k, o, epilogue ? bias.data() : nullptr, false,
                        epilogue ? res.data() : nullptr);
            // Σ|a||b| from the reference on absolute values (GELU's slope is at most 1.13, the
            // +1 covers it and the bias).
            std::vector<float> aa(a.size()), ab(b.size()), mag(size_t(m * n));
            for (size_t i = 0; i < a.size(); ++i) aa[i] = std::fabs(a[i]);
            for (size_t i = 0; i < b.size(); ++i) ab[i] = std::fabs(b[i]);
            ops::MatmulOptions plain;
            plain.trans_b = trans_b;
            ref::matmul(aa.data(), ab.data(), mag.data(), 1, m, n, k, plain, nullptr, false);
            if (exact) {
              out.tol = {0.0};
              return out;
            }
            out.tol.resize(mag.size());
            for (size_t i = 0; i < mag.size(); ++i)
              out.tol[i] = 4 * std::sqrt(double(k)) * kU * (mag[i] + 1) + 4 * kU * (1 + std::fabs(out.want[i])) +
                           // fp16 products: a, b and a·b each rounded to fp16 (tests/test_matmul.cpp)
                           (fp16_products ? 1.13 * 3.0 / 1024 * mag[i] + double(k) * 3e-8 : 0.0);
            return out;
          }};
}

// ---- row kernels -------------------------------------------------------------------------
Case softmax_case(const std::string& variant, int64_t rows, int64_t n, bool mask, std::function<void(vkfuse::Tuning&)> tune = {}) {
  return {"softmax", variant, std::to_string(rows) + "x" + std::to_string(n) + (mask ? " masked" : ""), std::move(tune),
          [=](Context& ctx) {
            auto x = rnd(rows * n, 5), mk = std::vector<float>(size_t(n), 0.f);
            for (int64_t j = 0; j < n; j += 3) mk[size_t(j)] = -kInf;
            Tensor tx = ctx.tensor({rows, n}, x), ty = ctx.tensor({rows, n}), tm = ctx.tensor({1, n}, mk);
            ops::SoftmaxOptions o;
            o.scale = 2.f;
            if (mask) o.mask = &tm;
            Outcome out;
            out.got = run_one(ctx, ty, [&](Sequence& s) { ops::softmax(s, tx, ty, o); });
            out.want.resize(x.size());
            ref::softmax(x.data(), out.want.data(), rows, n, o.scale, mask ? mk.data() : nullptr, 1);
            out.tol = row_bound(out.want, n, 0.0);
            return out;
          }};
}

Case layer_norm_case(const std::string& variant, int64_t rows, int64_t n, std::function<void(vkfuse::Tuning&)> tune = {}) {
  return {"layer_norm", variant, std::to_string(rows) + "x" + std::to_string(n) + " +residual", std::move(tune),
          [=](Context& ctx) {
            auto x = rnd(rows * n, 6), r = rnd(rows * n, 7), w = rnd(n, 8), b = rnd(n, 9);
            Tensor tx = ctx.tensor({rows, n}, x), tr = ctx.tensor({rows, n}, r), tw = ctx.tensor({n}, w),
                   tb = ctx.tensor({n}, b), ty = ctx.tensor({rows, n});
            ops::LayerNormOptions o;
            o.weight = &tw;
            o.bias = &tb;
            o.residual = &tr;
            Outcome out;
            out.got = run_one(ctx, ty, [&](Sequence& s) { ops::layer_norm(s, tx, ty, o); });
            out.want.resize(x.size());
            ref::layer_norm(x.data(), r.data(), out.want.data(), rows, n, o.eps, w.data(), b.data());
            out.tol = row_bound(out.want, n, 1.0);
            return out;
          }};
}

Case l2_case(int64_t rows, int64_t n) {
  return {"l2_normalize", "tuned", std::to_string(rows) + "x" + std::to_string(n), {}, [=](Context& ctx) {
            auto x = rnd(rows * n, 10);
            Tensor tx = ctx.tensor({rows, n}, x), ty = ctx.tensor({rows, n});
            Outcome out;
            out.got = run_one(ctx, ty, [&](Sequence& s) { ops::l2_normalize(s, tx, ty); });
            out.want.resize(x.size());
            ref::l2_normalize(x.data(), out.want.data(), rows, n, 0.f);
            out.tol = row_bound(out.want, n, 1.0);
            return out;
          }};
}

Case top_k_case(int64_t rows, int64_t n, int64_t k) {
  return {"top_k", "tuned", std::to_string(rows) + "x" + std::to_string(n) + " k " + std::to_string(k), {},
          [=](Context& ctx) {
            auto x = rnd(rows * n, 11);
            Tensor tx = ctx.tensor({rows, n}, x), tv = ctx.tensor({rows, k}), ti = ctx.tensor({rows, k}, vkfuse::DType::I32);
            Outcome out;
            auto values = run_one(ctx, tv, [&](Sequence& s) { ops::top_k(s, tx, tv, ti); });
            std::vector<int32_t> idx(size_t(rows * k)), want_idx(idx.size());
            ti.read(idx.data(), idx.size() * 4);
            std::vector<float> want(idx.size());
            ref::top_k(x.data(), rows, n, k, want.data(), want_idx.data());
            // Exact: the values and their indices (as floats, compared exactly).
            out.got = values;
            out.want = want;
            for (size_t i = 0; i < idx.size(); ++i) {
              out.got.push_back(float(idx[i]));
              out.want.push_back(float(want_idx[i]));
            }
            out.tol = {0.0};
            return out;
          }};
}

// ---- element by element ------------------------------------------------------------------
Case activation_case(ops::Activation f, const char* name, int64_t n) {
  return {"activation", name, std::to_string(n), {}, [=](Context& ctx) {
            auto x = rnd(n, 12);
            for (auto& v : x) v *= 6.f;
            Tensor tx = ctx.tensor({n}, x), ty = ctx.tensor({n});
            Outcome out;
            out.got = run_one(ctx, ty, [&](Sequence& s) { ops::activation(s, tx, ty, f); });
            for (float v : x) out.want.push_back(ref::activate(f, v));
            out.tol.resize(out.want.size());
            for (size_t i = 0; i < out.tol.size(); ++i) out.tol[i] = 1e-6 + 8 * kU * std::fabs(out.want[i]);
            return out;
          }};
}

Case add_case(int64_t rows, int64_t n) {
  return {"add", "broadcast", std::to_string(rows) + "x" + std::to_string(n) + " + " + std::to_string(n), {},
          [=](Context& ctx) {
            auto a = rnd(rows * n, 13), b = rnd(n, 14);
            Tensor ta = ctx.tensor({rows, n}, a), tb = ctx.tensor({n}, b), tc = ctx.tensor({rows, n});
            Outcome out;
            out.got = run_one(ctx, tc, [&](Sequence& s) { ops::add(s, ta, tb, tc); });
            out.want.resize(a.size());
            ref::add(a.data(), b.data(), out.want.data(), rows * n, n);
            out.tol = {0.0};
            return out;
          }};
}

Case copy_case() {
  return {"copy", "permute", "[3,5,7,2] -> [7,3,2,5]", {}, [](Context& ctx) {
            const vkfuse::Shape shape = {3, 5, 7, 2};
            auto x = rnd(vkfuse::shape_numel(shape), 15);
            Tensor tx = ctx.tensor(shape, x), ty = ctx.tensor({7, 3, 2, 5});
            Tensor dst = ty.permute({1, 3, 0, 2});  // [3,5,7,2] view of ty
            Outcome out;
            out.got = run_one(ctx, ty, [&](Sequence& s) { ops::copy(s, tx, dst); });
            out.want.resize(x.size());
            ref::copy(x.data(), vkfuse::contiguous_strides(shape), out.want.data(), dst.strides(), shape);
            out.tol = {0.0};
            return out;
          }};
}

Case gather_case() {
  return {"gather_rows", "embedding", "[1000,48] x 37 ids", {}, [](Context& ctx) {
            auto table = rnd(1000 * 48, 16);
            std::vector<int32_t> ids(37);
            std::mt19937 g(17);
            for (auto& i : ids) i = int32_t(g() % 1000);
            Tensor tt = ctx.tensor({1000, 48}, table), ti = ctx.tensor({37}, vkfuse::DType::I32), to = ctx.tensor({37, 48});
            ti.write(ids.data(), ids.size() * 4);
            Outcome out;
            out.got = run_one(ctx, to, [&](Sequence& s) { ops::gather_rows(s, tt, ti, to); });
            out.want.resize(37 * 48);
            ref::gather_rows(table.data(), 1000, 48, ids.data(), 37, out.want.data());
            out.tol = {0.0};
            return out;
          }};
}

Case fma_case() {
  return {"fma_peak", "tuned", "4096 x 3000 steps", {}, [](Context& ctx) {
            Tensor t = ctx.tensor({4096});
            Outcome out;
            out.got = run_one(ctx, t, [&](Sequence& s) { ops::fma_peak(s, t, 3000); });
            out.want.resize(4096);
            ref::fma_peak(out.want.data(), 4096, 3000);
            out.tol = {0.0};
            return out;
          }};
}

// ---- attention ---------------------------------------------------------------------------
struct AttnShape {
  int64_t b, h, l, s, d;
  bool key_pad = false, mask = false, causal = false;
  ops::Score score = ops::Score::Dot;
};

// extra: the bound's widening for fp16 math (tests/test_attention.cpp AttentionFp16).
Case attention_case(const std::string& variant, const AttnShape& a, std::function<void(vkfuse::Tuning&)> tune,
                    double extra = 0) {
  std::string shape = "B" + std::to_string(a.b) + " H" + std::to_string(a.h) + " L" + std::to_string(a.l) + " S" +
                      std::to_string(a.s) + " D" + std::to_string(a.d) + (a.key_pad ? " keypad" : "") +
                      (a.mask ? " mask" : "") + (a.causal ? " causal" : "") +
                      (a.score == ops::Score::NegEuclidean ? " euclid" : a.score == ops::Score::NegManhattan ? " manhattan" : "");
  return {"attention", variant, shape, std::move(tune), [=](Context& ctx) {
            const int64_t q_n = a.b * a.h * a.l * a.d, kv_n = a.b * a.h * a.s * a.d;
            auto q = rnd(q_n, 18), k = rnd(kv_n, 19), v = rnd(kv_n, 20);
            std::vector<float> kp(size_t(a.b * a.s), 0.f), am(size_t(a.l * a.s), 0.f);
            std::mt19937 g(21);
            for (auto& x : kp) x = g() % 3 == 0 ? -kInf : 0.f;
            for (int64_t i = 0; i < a.b; ++i) kp[size_t(i * a.s)] = 0.f;  // a live key per batch ...
            if (a.b > 1)                                                 // ... but the first of two
              for (int64_t j = 0; j < a.s; ++j) kp[size_t(j)] = -kInf;
            // The device takes the mask without its causal part (that is the flag); the
            // reference takes both in one mask.
            auto mask_at = [](int64_t i, int64_t j) { return (j > i + 1 && j % 2) ? -kInf : 0.25f * float((i + j) % 3); };
            std::vector<float> am_only = am;
            for (int64_t i = 0; i < a.l; ++i)
              for (int64_t j = 0; j < a.s; ++j) {
                if (a.mask) am[size_t(i * a.s + j)] = am_only[size_t(i * a.s + j)] = mask_at(i, j);
                if (a.causal && j > i) am[size_t(i * a.s + j)] = -kInf;
              }
            Tensor tq = ctx.tensor({a.b, a.h, a.l, a.d}, q), tk = ctx.tensor({a.b, a.h, a.s, a.d}, k),
                   tv = ctx.tensor({a.b, a.h, a.s, a.d}, v), to = ctx.tensor({a.b, a.h, a.l, a.d}),
                   tw = ctx.tensor({a.b, a.l, a.s}), tl = ctx.tensor({a.b, a.h, a.l}),
                   tkp = ctx.tensor({a.b, a.s}, kp), tam = ctx.tensor({a.l, a.s}, am_only);
            ops::AttentionOptions o;
            o.score = a.score;
            o.lse = &tl;
            o.causal = a.causal;
            if (a.key_pad) o.key_padding = &tkp;
            if (a.mask) o.attn_mask = &tam;
            Sequence s(ctx);
            ops::attention(s, tq, tk, tv, to, o);
            ops::attention_weights(s, tq, tk, tw, o);
            s.run();
            Outcome out;
            out.got = to.read();
            auto w = tw.read();
            out.got.insert(out.got.end(), w.begin(), w.end());
            std::vector<float> want(static_cast<size_t>(q_n)), ww(static_cast<size_t>(a.b * a.l * a.s));
            const float* mask_arg = a.mask || a.causal ? am.data() : nullptr;
            ref::attention(q.data(), k.data(), v.data(), want.data(), ww.data(), a.b, a.h, a.l, a.s, a.d, a.score, 0.f,
                           a.key_pad ? kp.data() : nullptr, mask_arg);
            out.want = want;
            out.want.insert(out.want.end(), ww.begin(), ww.end());
            const double dd = double(a.d), delta = dd * kU / 2 * dd / std::sqrt(dd) * 4;
            out.tol = {4 * delta + 8 * std::sqrt(double(a.s)) * kU + 1e-6 + extra};
            return out;
          }};
}

std::vector<Case> cases(const Context& ctx) {
  const vkfuse::Tuning& t = ctx.tuning();
  std::vector<Case> c;
  // The tuned path, and each fallback the device takes for other alignments and depths.
  c.push_back(matmul_case("tuned", 1, 1, 1, false, false));
  c.push_back(matmul_case("tuned", 33, 65, 17, false, false));  // edge tiles, unaligned rows
  c.push_back(matmul_case("tuned", 64, 96, 64, false, false));
  c.push_back(matmul_case("tuned", 197, 768, 64, true, true));
  c.push_back(matmul_case("tuned", 37, 29, 131, true, true));
  c.push_back(matmul_case("tuned", 4, 8, 300000, true, false, {}, true));  // long K: split over dispatches
  c.push_back(matmul_case("tuned", 3, 5, 70001, false, false, {}, true));
  if (t.matmul.texels) {
    auto tiled = [](vkfuse::Tuning& u) { u.matmul.texels = u.matmul.shared_a = false; };
    c.push_back(matmul_case("tiled (no texels)", 33, 65, 17, false, true, tiled));
    c.push_back(matmul_case("tiled (no texels)", 70, 96, 80, true, true, tiled));
  }
  if (t.matmul.shared_a) {
    auto plain = [](vkfuse::Tuning& u) { u.matmul.shared_a = false; };
    c.push_back(matmul_case("texels, A per lane", 70, 96, 80, true, true, plain));
    c.push_back(matmul_case("texels, A per lane", 64, 64, 64, false, false, plain));
  }
  // fp16 products (opt-in, Tuning::Matmul::fp16_math), where the device has fp16 arithmetic.
  if (ctx.caps().float16_arithmetic) {
    auto fp16 = [](vkfuse::Tuning& u) { u.matmul.texels = u.matmul.shared_a = false; u.matmul.fp16_math = true; };
    c.push_back(matmul_case("fp16 math (opt-in)", 33, 65, 17, false, true, fp16, false, vkfuse::DType::F32, true));
    c.push_back(matmul_case("fp16 math (opt-in)", 197, 768, 64, true, true, fp16, false, vkfuse::DType::F16, true));
  }
  // Cooperative matrices (opt-in, Tuning::Matmul::coopmat): A and B rounded to fp16 like the
  // fp16 products, so the same bound.
  if (ctx.caps().cooperative_matrix) {
    auto coop = [](vkfuse::Tuning& u) {
      u.matmul.texels = u.matmul.shared_a = u.matmul.fp16_math = false;
      u.matmul.coopmat = true;
      u.matmul.tm = u.matmul.tn = 2;
    };
    c.push_back(matmul_case("coopmat (opt-in)", 33, 65, 17, false, true, coop, false, vkfuse::DType::F32, true));
    c.push_back(matmul_case("coopmat (opt-in)", 197, 768, 64, true, true, coop, false, vkfuse::DType::F16, true));
    c.push_back(matmul_case("coopmat (opt-in)", 4, 8, 300000, true, false, coop, true, vkfuse::DType::F16));
  }
  // 16-bit weights (a Session keeps a 16-bit file's matrices so): every kernel above that
  // reads B, on F16 and BF16 words (or RGBA16 texels), widened to fp32.
  for (vkfuse::DType w : {vkfuse::DType::F16, vkfuse::DType::BF16}) {
    const std::string v = std::string(vkfuse::dtype_name(w)) + " weights";
    c.push_back(matmul_case(v, 33, 65, 17, false, false, {}, false, w));
    c.push_back(matmul_case(v, 197, 768, 64, true, true, {}, false, w));
    c.push_back(matmul_case(v, 37, 29, 131, true, true, {}, false, w));
    c.push_back(matmul_case(v, 4, 8, 300000, true, false, {}, true, w));
    if (t.matmul.texels) {
      auto tiled = [](vkfuse::Tuning& u) { u.matmul.texels = u.matmul.shared_a = false; };
      c.push_back(matmul_case(v + ", tiled (no texels)", 33, 65, 17, false, true, tiled, false, w));
      c.push_back(matmul_case(v + ", tiled (no texels)", 70, 96, 80, true, true, tiled, false, w));
    }
    if (t.matmul.shared_a) {
      auto plain = [](vkfuse::Tuning& u) { u.matmul.shared_a = false; };
      c.push_back(matmul_case(v + ", texels, A per lane", 70, 96, 80, true, true, plain, false, w));
    }
  }
  for (auto [rows, n, mask] : {std::tuple<int64_t, int64_t, bool>{3, 5, false}, {1576, 197, true}, {2, 70000, true}})
    c.push_back(softmax_case("tuned", rows, n, mask));
  c.push_back(softmax_case("one invocation per row", 5, 999, true, [](vkfuse::Tuning& u) { u.softmax.tpr = 1; u.softmax.wg = 16; }));
  for (auto [rows, n] : {std::pair<int64_t, int64_t>{3, 5}, {197, 768}, {2, 70000}}) c.push_back(layer_norm_case("tuned", rows, n));
  c.push_back(layer_norm_case("one invocation per row", 5, 771, [](vkfuse::Tuning& u) { u.layer_norm.tpr = 1; u.layer_norm.wg = 16; }));
  c.push_back(l2_case(4, 512));
  c.push_back(l2_case(2, 70001));
  c.push_back(top_k_case(3, 100, 5));
  c.push_back(top_k_case(2, 5000, 10));
  c.push_back(activation_case(ops::Activation::Relu, "relu", 1000));
  c.push_back(activation_case(ops::Activation::Gelu, "gelu", 1000));
  c.push_back(activation_case(ops::Activation::QuickGelu, "quick_gelu", 1000));
  c.push_back(activation_case(ops::Activation::GeluTanh, "gelu_tanh", 1000));
  c.push_back(activation_case(ops::Activation::Tanh, "tanh", 1000));
  c.push_back(add_case(33, 100));
  c.push_back(copy_case());
  c.push_back(gather_case());
  c.push_back(fma_case());
  // Attention: the per-row and the tiled kernel both run on every device (the tuning picks
  // one), the tiled one also with its keys split (decode) and with small tiles (partial ones).
  const std::vector<AttnShape> shapes = {
      {2, 3, 7, 13, 8, true},
      {1, 4, 50, 197, 64, true, true},
      {2, 2, 33, 33, 32, true, true, true},
      {1, 2, 9, 23, 12, false, true, false, ops::Score::NegEuclidean},
      {2, 1, 5, 11, 16, true, false, false, ops::Score::NegManhattan},
      {1, 2, 1, 2000, 64, true},
      {1, 1, 4, 9, 256, true, true},
  };
  auto per_row = [](vkfuse::Tuning& u) { u.attention.tiled = false; };
  auto tiled = [](vkfuse::Tuning& u) { u.attention.tiled = true; u.attention.split_below = 0; };
  auto split = [](vkfuse::Tuning& u) { u.attention.tiled = true; u.attention.split_below = 1u << 20; };
  auto small = [](vkfuse::Tuning& u) { u.attention.tiled = true; u.attention.tiled_wg = 32; u.attention.bc = 4; };
  for (const auto& a : shapes) c.push_back(attention_case("per row", a, per_row));
  c.push_back(attention_case("per row, wide", {1, 2, 3, 11, 300, true, true}, per_row));
  for (const auto& a : shapes) c.push_back(attention_case("tiled", a, tiled));
  for (size_t i : {0, 2, 5}) c.push_back(attention_case("tiled, keys split", shapes[i], split));
  for (size_t i : {1, 2}) c.push_back(attention_case("tiled, small tiles", shapes[i], small));
  if (ctx.caps().float16_arithmetic) {  // opt-in: Tuning::Attention::fp16_math
    auto fp16 = [](vkfuse::Tuning& u) { u.attention.tiled = true; u.attention.fp16_math = true; };
    for (size_t i : {1, 3}) c.push_back(attention_case("tiled, fp16 math (opt-in)", shapes[i], fp16, 9.0 / 2048));
  }
  if (t.use_subgroups) {
    auto shared = [](vkfuse::Tuning& u) { u.attention.tiled = true; u.use_subgroups = false; };
    for (size_t i : {1, 2}) c.push_back(attention_case("tiled, shared-memory reduction", shapes[i], shared));
  }
  return c;
}

struct CheckOptions {
  bool json = false, portable = false;
  std::string device;
  std::string break_kernel;  // tests: this kernel's results are made wrong on purpose
};

int run(const CheckOptions& opt) {
  vkfuse::Options o;
  o.device = opt.device;
  o.portable = opt.portable;
  Context ctx(o);
  const vkfuse::Tuning base = ctx.tuning();
  const auto& dev = ctx.device();
  const std::string mode = ctx.caps().portable ? "portable" : "normal";
  if (!opt.json)
    std::printf("vkfuse check: device [%u] %s (%s, %s), driver %s %s, Vulkan %s; vkfuse %s (%s); %s mode\ntuning: %s\n",
                dev.index, dev.name.c_str(), dev.type.c_str(), dev.vendor.c_str(), dev.driver_name.c_str(),
                dev.driver_info.c_str(), dev.api_version.c_str(), VKFUSE_VERSION_STRING, VKFUSE_COMMIT_STRING,
                mode.c_str(), vkfuse::to_string(base).c_str());
  const auto list = cases(ctx);
  nlohmann::json jc = nlohmann::json::array();
  int failed = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < list.size(); ++i) {
    const Case& c = list[i];
    std::fprintf(stderr, "vkfuse check: [%zu/%zu] %s %s %s\n", i + 1, list.size(), c.kernel.c_str(), c.variant.c_str(),
                 c.shape.c_str());
    std::fflush(stderr);
    ctx.tuning() = base;
    if (c.tune) c.tune(ctx.tuning());
    Result r;
    std::string error;
    try {
      vkfuse::check_tuning(ctx.tuning(), ctx.caps());
      Outcome out = c.run(ctx);
      if (c.kernel == opt.break_kernel && !out.got.empty()) {  // past its bound, whatever the bound
        const size_t at = out.got.size() / 2;
        out.got[at] = out.want[at] + float(2 * (out.tol.size() == 1 ? out.tol[0] : out.tol[at]) + 1);
      }
      r = compare(out);
    } catch (const std::exception& e) {
      r.pass = false;
      error = e.what();
    }
    failed += !r.pass;
    if (opt.json) {
      // JSON has no infinity: a non-finite error (or one over a zero bound) is written as the
      // largest double.
      auto finite = [](double x) { return std::isfinite(x) ? x : std::numeric_limits<double>::max(); };
      nlohmann::json j = {{"kernel", c.kernel}, {"variant", c.variant}, {"shape", c.shape},
                          {"max_error", finite(r.max_error)}, {"error_over_bound", finite(r.worst_ratio)},
                          {"pass", r.pass}};
      if (!error.empty()) j["error"] = error;
      jc.push_back(j);
    } else {
      std::printf("%s  %-12s %-32s %-34s max error %.2e (%.3f of its bound)%s%s\n", r.pass ? "pass" : "FAIL",
                  c.kernel.c_str(), c.variant.c_str(), c.shape.c_str(), r.max_error, r.worst_ratio,
                  error.empty() ? "" : ": ", error.c_str());
    }
  }
  ctx.tuning() = base;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (opt.json) {
    nlohmann::json out = {
        {"vkfuse", {{"version", VKFUSE_VERSION_STRING}, {"commit", VKFUSE_COMMIT_STRING}}},
        {"device",
         {{"index", dev.index}, {"name", dev.name}, {"type", dev.type}, {"vendor", dev.vendor},
          {"vendor_id", dev.vendor_id}, {"device_id", dev.device_id}, {"driver_name", dev.driver_name},
          {"driver_info", dev.driver_info}, {"driver_version", dev.driver_version}, {"api_version", dev.api_version}}},
        {"mode", mode},
        {"tuning", vkfuse::to_string(base)},
        {"cases", jc},
        {"passed", int(list.size()) - failed},
        {"failed", failed},
        {"seconds", secs}};
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("%zu cases, %d failed (%.1f s)\n", list.size(), failed, secs);
  }
  return failed ? 1 : 0;
}

}  // namespace

void add_check_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "check", "Conformance report: every kernel and variant on this device against its CPU reference");
  auto opt = std::make_shared<CheckOptions>();
  cmd->add_flag("--json", opt->json, "Machine-readable report (attach it to a bug report)");
  cmd->add_option("--device", opt->device, "Device index or part of its name (default: VKFUSE_DEVICE, else the best)");
  cmd->add_flag("--portable", opt->portable, "Phone-class limits (as VKFUSE_PORTABLE=1)");
  // For the test that shows a wrong result fails the report; not for users.
  cmd->add_option("--break", opt->break_kernel, "")->group("");
  cmd->callback([opt] {
    const int rc = run(*opt);
    if (rc) throw CLI::RuntimeError(rc);
  });
}
