// CPU reference of ops::resize (engine/ops/resize.cpp): ONNX's coordinate mappings and
// interpolation kernels (the operator's reference, onnx/backend/test/case/node/resize.py),
// one axis at a time, in double.
#include <cmath>
#include <string>

#include "vkfuse/error.hpp"
#include "vkfuse/reference.hpp"

namespace vkfuse::ref {

ResizeTaps resize_taps(int64_t in, int64_t out, double scale, const ops::ResizeOptions& o) {
  using R = ops::ResizeOptions;
  if (in < 1 || scale <= 0 || !std::isfinite(scale))
    throw Error("resize: an axis of " + std::to_string(in) + " elements with scale " + std::to_string(scale));
  ResizeTaps t;
  t.taps = o.mode == R::Nearest ? 1 : o.mode == R::Linear ? 2 : 4;
  t.index.resize(size_t(out * t.taps));
  t.weight.resize(size_t(out * t.taps));
  for (int64_t j = 0; j < out; ++j) {
    double x = 0;
    switch (o.coordinate) {
      case R::HalfPixel: x = (j + 0.5) / scale - 0.5; break;
      case R::PytorchHalfPixel: x = out > 1 ? (j + 0.5) / scale - 0.5 : 0; break;
      // ONNX divides by the resized length as the scale gives it (in·scale - 1, not out - 1:
      // they differ where scales are given and in·scale is not whole).
      case R::AlignCorners: {
        const double span = double(in) * scale - 1;
        x = span <= 0 ? 0 : double(j) * double(in - 1) / span;
        break;
      }
      case R::Asymmetric: x = j / scale; break;
      case R::TfHalfPixelForNn: x = (j + 0.5) / scale; break;
    }
    auto clamp = [&](int64_t i) { return i < 0 ? int64_t(0) : i >= in ? in - 1 : i; };
    const size_t at = size_t(j * t.taps);
    if (o.mode == R::Nearest) {
      double r = 0;
      const double f = std::floor(x), frac = x - f;
      switch (o.nearest) {
        case R::RoundPreferFloor: r = frac == 0.5 ? f : std::round(x); break;
        case R::RoundPreferCeil: r = frac == 0.5 ? f + 1 : std::round(x); break;
        case R::Floor: r = f; break;
        case R::Ceil: r = std::ceil(x); break;
      }
      t.index[at] = clamp(int64_t(r));
      t.weight[at] = 1;
      continue;
    }
    const double f = std::floor(x), ratio = x - f;
    const int64_t base = int64_t(f);
    double c[4];
    int64_t first;
    if (o.mode == R::Linear) {
      c[0] = 1 - ratio;
      c[1] = ratio;
      first = base;
    } else {
      const double a = o.cubic_coeff_a, s = ratio, u = 1 - ratio;
      c[0] = ((a * (s + 1) - 5 * a) * (s + 1) + 8 * a) * (s + 1) - 4 * a;
      c[1] = ((a + 2) * s - (a + 3)) * s * s + 1;
      c[2] = ((a + 2) * u - (a + 3)) * u * u + 1;
      c[3] = ((a * (u + 1) - 5 * a) * (u + 1) + 8 * a) * (u + 1) - 4 * a;
      first = base - 1;
    }
    if (o.exclude_outside) {
      double sum = 0;
      for (int k = 0; k < t.taps; ++k) {
        if (first + k < 0 || first + k >= in) c[k] = 0;
        sum += c[k];
      }
      for (int k = 0; k < t.taps; ++k) c[k] = sum != 0 ? c[k] / sum : 0;
    }
    for (int k = 0; k < t.taps; ++k) {
      t.index[at + size_t(k)] = clamp(first + k);
      t.weight[at + size_t(k)] = c[k];
    }
  }
  return t;
}

void resize(const float* x, const Shape& xs, float* y, const Shape& ys, const ops::ResizeOptions& o) {
  const size_t rank = xs.size();
  if (ys.size() != rank) throw Error("ref::resize: x " + shape_string(xs) + " and y " + shape_string(ys) + " differ in rank");
  // One axis at a time, outermost first, through a double buffer.
  std::vector<double> cur(x, x + shape_numel(xs));
  Shape shape = xs;
  for (size_t d = 0; d < rank; ++d) {
    const int64_t in = shape[d], out = ys[d];
    const double scale = o.scales.empty() ? double(out) / double(std::max<int64_t>(in, 1)) : o.scales[d];
    if (in == out && scale == 1.0) continue;
    const ResizeTaps t = resize_taps(in, out, scale, o);
    int64_t outer = 1, inner = 1;
    for (size_t e = 0; e < d; ++e) outer *= shape[e];
    for (size_t e = d + 1; e < rank; ++e) inner *= shape[e];
    std::vector<double> next(size_t(outer * out * inner), 0.0);
    for (int64_t a = 0; a < outer; ++a)
      for (int64_t j = 0; j < out; ++j)
        for (int k = 0; k < t.taps; ++k) {
          const size_t tk = size_t(j * t.taps + k);
          const double w = t.weight[tk];
          const double* src = cur.data() + (a * in + t.index[tk]) * inner;
          double* dst = next.data() + (a * out + j) * inner;
          for (int64_t b = 0; b < inner; ++b) dst[b] += w * src[b];
        }
    cur = std::move(next);
    shape[d] = out;
  }
  for (size_t i = 0; i < cur.size(); ++i) y[i] = float(cur[i]);
}

}  // namespace vkfuse::ref
