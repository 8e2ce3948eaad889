#pragma once
// Moves ref::Array values (the graph ops' references) to and from the device: floats as F32,
// integers as I32, as the graph layer stores them.
#include <cstdint>
#include <random>
#include <vector>

#include "gpu_test.hpp"

namespace vkt {

inline vkfuse::Tensor upload(vkfuse::Context& ctx, const vkfuse::ref::Array& a) {
  if (!a.integer) return ctx.tensor(a.shape, a.f);
  vkfuse::Tensor t = ctx.tensor(a.shape, vkfuse::DType::I32);
  std::vector<int32_t> v(a.i.begin(), a.i.end());
  t.write(v.data(), v.size() * sizeof(int32_t));
  return t;
}

inline vkfuse::ref::Array download(const vkfuse::Tensor& t) {
  if (t.dtype() != vkfuse::DType::I32) return vkfuse::ref::Array::floats(t.shape(), t.read());
  std::vector<int32_t> v(static_cast<size_t>(t.numel()));
  t.read(v.data(), v.size() * sizeof(int32_t));
  return vkfuse::ref::Array::ints(t.shape(), std::vector<int64_t>(v.begin(), v.end()));
}

inline vkfuse::ref::Array random_floats(const vkfuse::Shape& shape, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  return vkfuse::ref::Array::floats(shape, random_vec(static_cast<size_t>(vkfuse::shape_numel(shape)), seed, lo, hi));
}

inline vkfuse::ref::Array random_ints(const vkfuse::Shape& shape, uint32_t seed, int64_t lo, int64_t hi) {
  std::mt19937 g(seed);
  std::uniform_int_distribution<int64_t> d(lo, hi);
  std::vector<int64_t> v(static_cast<size_t>(vkfuse::shape_numel(shape)));
  for (auto& x : v) x = d(g);
  return vkfuse::ref::Array::ints(shape, std::move(v));
}

// Integer arrays compare exactly; float ones within atol + rtol·|want|.
inline ::testing::AssertionResult near_array(const vkfuse::ref::Array& got, const vkfuse::ref::Array& want, float atol,
                                             float rtol) {
  if (got.shape != want.shape)
    return ::testing::AssertionFailure() << "shape " << vkfuse::shape_string(got.shape) << ", want "
                                         << vkfuse::shape_string(want.shape);
  if (got.integer != want.integer) return ::testing::AssertionFailure() << "integer and float results";
  if (!want.integer) return near_all(got.f, want.f, atol, rtol);
  for (size_t k = 0; k < want.i.size(); ++k)
    if (got.i[k] != want.i[k])
      return ::testing::AssertionFailure() << "element " << k << ": got " << got.i[k] << ", want " << want.i[k];
  return ::testing::AssertionSuccess();
}

}  // namespace vkt
