#pragma once
// Shared by the GPU tests: contexts with the Khronos validation layer (synchronization
// validation on) whose every message fails the running test, in the modes each test runs in.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "vkfuse/vkfuse.hpp"

namespace vkt {

enum class Mode { Normal, Portable, Staged };

inline const char* mode_name(Mode m) {
  return m == Mode::Normal ? "Normal" : m == Mode::Portable ? "Portable" : "Staged";
}

// Validation messages since the last take_messages().
std::vector<std::string>& messages();

// One context per mode per process (creating a device with the validation layer is the
// slowest step of a test). Tuning is reset to the device's choice on every call.
vkfuse::Context& context(Mode m);

inline std::vector<float> random_vec(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

// Compares element by element: |got - want| <= tol[i]. Reports the worst element.
inline ::testing::AssertionResult near_all(const std::vector<float>& got, const std::vector<float>& want,
                                           const std::vector<float>& tol) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure() << "sizes differ: " << got.size() << " vs " << want.size();
  size_t worst = 0, bad = 0;
  double worst_ratio = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    double err = std::fabs(double(got[i]) - want[i]);
    bool ok = err <= tol[i] || (std::isnan(got[i]) == false && got[i] == want[i]);
    if (std::isnan(got[i]) != std::isnan(want[i])) ok = false;
    if (std::isnan(got[i]) && std::isnan(want[i])) ok = true;  // NaN where NaN is the answer
    double ratio = tol[i] > 0 ? err / tol[i] : (err > 0 ? 1e30 : 0);
    if (!ok) ++bad;
    if (!ok && ratio > worst_ratio) {
      worst_ratio = ratio;
      worst = i;
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << got.size() << " elements off; worst at " << worst
                                       << ": got " << got[worst] << ", want " << want[worst]
                                       << ", tolerance " << tol[worst];
}

inline ::testing::AssertionResult near_all(const std::vector<float>& got, const std::vector<float>& want,
                                           float atol, float rtol) {
  std::vector<float> tol(want.size());
  for (size_t i = 0; i < want.size(); ++i) tol[i] = atol + rtol * std::fabs(want[i]);
  return near_all(got, want, tol);
}

// Fails the test on any validation message produced while it ran.
template <class Base>
class Checked : public Base {
 protected:
  void SetUp() override { messages().clear(); }
  void TearDown() override {
    for (const auto& m : messages()) ADD_FAILURE() << "validation: " << m;
    messages().clear();
  }
};
using GpuTest = Checked<::testing::Test>;
template <class P>
using GpuTestP = Checked<::testing::TestWithParam<P>>;

// Runs one recorded sequence of `fn` and returns after the device is done.
template <class F> void run_once(vkfuse::Context& ctx, F&& fn) {
  vkfuse::Sequence s(ctx);
  fn(s);
  s.run();
}

constexpr float kEps = 1.1920929e-7f;  // fp32 unit roundoff·2 (FLT_EPSILON)

}  // namespace vkt
