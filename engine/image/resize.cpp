// PIL's resampling (Pillow's libImaging/Resample.c) for RGB8, bit for bit, so a picture
// resized here is the picture Hugging Face's CLIPImageProcessor and torchvision's Resize on
// a PIL image see.
//
// Each output sample is a weighted sum of input samples over [center - support, center +
// support], center = (i + 0.5)·scale; when shrinking, the filter is stretched by the scale
// (support·scale), which is what antialiases. Weights are normalized to sum 1, turned into
// 22-bit fixed point (rounded away from zero), summed in integers from a rounding constant
// of 2^21 and shifted back, clamped to 0..255. Horizontal pass first, then vertical.
#include <algorithm>
#include <cmath>

#include "vkfuse/error.hpp"
#include "vkfuse/image.hpp"

namespace vkfuse {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;

double bicubic(double x) {
  constexpr double a = -0.5;
  x = std::abs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

double bilinear(double x) {
  x = std::abs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

// The taps of each output position: first input index, count, and fixed-point weights.
struct Taps {
  int ksize = 0;
  std::vector<int> first, count;
  std::vector<int32_t> weight;  // [out][ksize]
};

Taps taps(int in_size, int out_size, Resample filter) {
  const double support_1 = filter == Resample::Bicubic ? 2.0 : 1.0;
  const double scale = double(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = support_1 * filterscale;
  Taps t;
  t.ksize = int(std::ceil(support)) * 2 + 1;
  t.first.resize(out_size);
  t.count.resize(out_size);
  t.weight.assign(size_t(out_size) * t.ksize, 0);
  std::vector<double> k(t.ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    // Pillow truncates toward zero here ((int) casts of positive values after the clamp).
    int xmin = int(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = int(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      const double w = (filter == Resample::Bicubic ? bicubic : bilinear)((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (int x = 0; x < xmax; ++x) {
      const double w = ww != 0.0 ? k[x] / ww : k[x];
      t.weight[size_t(xx) * t.ksize + x] =
          w < 0 ? int32_t(-0.5 + w * (1 << kPrecisionBits)) : int32_t(0.5 + w * (1 << kPrecisionBits));
    }
    t.first[xx] = xmin;
    t.count[xx] = xmax;
  }
  return t;
}

uint8_t clip8(int64_t v) {
  // An arithmetic shift (floor), then the clamp of Pillow's lookup table.
  const int64_t s = v >> kPrecisionBits;
  return uint8_t(s < 0 ? 0 : s > 255 ? 255 : s);
}

}  // namespace

Image resize(const Image& in, int width, int height, Resample filter) {
  if (width <= 0 || height <= 0 || int64_t(width) * height > kMaxImagePixels)
    throw Error("resize: " + std::to_string(width) + "x" + std::to_string(height) + " is not a size vkfuse resizes to");
  if (in.width <= 0 || in.height <= 0 || in.rgb.size() != size_t(in.width) * in.height * 3)
    throw Error("resize: the input picture is empty or its pixels do not match its size");
  Image cur = in;
  if (width != in.width) {
    const Taps t = taps(in.width, width, filter);
    Image out;
    out.width = width;
    out.height = cur.height;
    out.rgb.resize(size_t(width) * cur.height * 3);
    for (int y = 0; y < cur.height; ++y)
      for (int x = 0; x < width; ++x)
        for (int c = 0; c < 3; ++c) {
          int64_t ss = int64_t(1) << (kPrecisionBits - 1);
          for (int i = 0; i < t.count[x]; ++i)
            ss += int64_t(cur.rgb[(size_t(y) * cur.width + t.first[x] + i) * 3 + c]) * t.weight[size_t(x) * t.ksize + i];
          out.rgb[(size_t(y) * width + x) * 3 + c] = clip8(ss);
        }
    cur = std::move(out);
  }
  if (height != in.height) {
    const Taps t = taps(in.height, height, filter);
    Image out;
    out.width = cur.width;
    out.height = height;
    out.rgb.resize(size_t(cur.width) * height * 3);
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < cur.width; ++x)
        for (int c = 0; c < 3; ++c) {
          int64_t ss = int64_t(1) << (kPrecisionBits - 1);
          for (int i = 0; i < t.count[y]; ++i)
            ss += int64_t(cur.rgb[(size_t(t.first[y] + i) * cur.width + x) * 3 + c]) * t.weight[size_t(y) * t.ksize + i];
          out.rgb[(size_t(y) * cur.width + x) * 3 + c] = clip8(ss);
        }
    cur = std::move(out);
  }
  return cur;
}

}  // namespace vkfuse
