// CPU references of the elementwise ops (engine/ops/elementwise.cpp): activations, add,
// strided copy, head split and merge, embedding rows.
#include <cmath>
#include <string>

#include "ref/activation.h"
#include "vkfuse/error.hpp"
#include "vkfuse/reference.hpp"

namespace vkfuse::ref {

float relu(float x) { return x > 0.f ? x : 0.f; }
float gelu(float x) { return static_cast<float>(detail::gelu_exact(x)); }
float sigmoid(float x) { return static_cast<float>(detail::sigmoid_exact(x)); }

float activate(ops::Activation f, double x, double a, double b) {
  using A = ops::Activation;
  auto unit = [](double v) { return v < 0 ? 0.0 : v > 1 ? 1.0 : v; };
  switch (f) {
    case A::None: return static_cast<float>(x);
    case A::Relu: return relu(static_cast<float>(x));
    case A::Gelu: return static_cast<float>(detail::gelu_exact(x));
    case A::QuickGelu: return static_cast<float>(detail::quick_gelu_exact(x));
    case A::GeluTanh: return static_cast<float>(detail::gelu_tanh_exact(x));
    case A::Tanh: return static_cast<float>(std::tanh(x));
    case A::Sigmoid: return static_cast<float>(detail::sigmoid_exact(x));
    case A::Clip: return static_cast<float>(x < a ? a : x > b ? b : x);
    case A::HardSigmoid: return static_cast<float>(unit(a * x + b));
    case A::HardSwish: return static_cast<float>(x * unit(x / 6 + 0.5));
    case A::LeakyRelu: return static_cast<float>(x < 0 ? a * x : x);
    case A::Silu: return static_cast<float>(x * detail::sigmoid_exact(x));
    case A::Elu: return static_cast<float>(x < 0 ? a * std::expm1(x) : x);
    case A::Softplus: return static_cast<float>(std::log1p(std::exp(-std::fabs(x))) + (x > 0 ? x : 0));
    case A::Selu: return static_cast<float>(b * (x < 0 ? a * std::expm1(x) : x));
  }
  throw Error("ref::activate: unknown activation " + std::to_string(static_cast<int>(f)));
}

void add(const float* a, const float* b, float* c, int64_t n, int64_t bn) {
  for (int64_t i = 0; i < n; ++i) c[i] = a[i] + b[i % bn];
}

void copy(const float* src, const Shape& src_strides, float* dst, const Shape& dst_strides, const Shape& shape) {
  const size_t rank = shape.size();
  if (src_strides.size() != rank || dst_strides.size() != rank)
    throw Error("ref::copy: shape " + shape_string(shape) + " and strides differ in rank");
  const int64_t n = shape_numel(shape);
  for (int64_t i = 0; i < n; ++i) {
    // Element i in row-major order of shape, at its place in each layout.
    int64_t r = i, s = 0, d = 0;
    for (size_t a = rank; a-- > 0;) {
      const int64_t idx = r % shape[a];
      r /= shape[a];
      s += idx * src_strides[a];
      d += idx * dst_strides[a];
    }
    dst[d] = src[s];
  }
}

void split_heads(const float* x, float* y, int64_t b, int64_t l, int64_t h, int64_t d) {
  for (int64_t ib = 0; ib < b; ++ib)
    for (int64_t il = 0; il < l; ++il)
      for (int64_t ih = 0; ih < h; ++ih)
        for (int64_t id = 0; id < d; ++id)
          y[((ib * h + ih) * l + il) * d + id] = x[(ib * l + il) * h * d + ih * d + id];
}

void merge_heads(const float* heads, float* x, int64_t b, int64_t l, int64_t h, int64_t d) {
  for (int64_t ib = 0; ib < b; ++ib)
    for (int64_t ih = 0; ih < h; ++ih)
      for (int64_t il = 0; il < l; ++il)
        for (int64_t id = 0; id < d; ++id)
          x[(ib * l + il) * h * d + ih * d + id] = heads[((ib * h + ih) * l + il) * d + id];
}

void gather_rows(const float* table, int64_t v, int64_t e, const int32_t* ids, int64_t n, float* out) {
  for (int64_t r = 0; r < n; ++r) {
    if (ids[r] < 0 || ids[r] >= v)
      throw Error("gather_rows: id " + std::to_string(ids[r]) + " at row " + std::to_string(r) +
                  " is outside the table's " + std::to_string(v) + " rows");
    for (int64_t j = 0; j < e; ++j) out[r * e + j] = table[int64_t(ids[r]) * e + j];
  }
}

}  // namespace vkfuse::ref
