// Heat maps of the text-to-image attention (heatmap.hpp).
#include "shapes/heatmap.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "vkfuse/error.hpp"

namespace shapes {

std::vector<float> patch_attention(const std::vector<float>& weights, int t, int nv, int real, bool cls) {
  if (int64_t(weights.size()) != int64_t(t) * nv || real < 1 || real > t || nv <= (cls ? 1 : 0))
    throw vkfuse::Error("heat map: weights of " + std::to_string(weights.size()) + " values are not [" +
                        std::to_string(t) + ", " + std::to_string(nv) + "] with 1 to " + std::to_string(t) +
                        " real tokens");
  const int first = cls ? 1 : 0;
  std::vector<float> out(size_t(nv - first), 0.f);
  for (int r = 0; r < real; ++r)
    for (int j = first; j < nv; ++j) out[size_t(j - first)] += weights[size_t(r) * nv + j];
  float sum = 0;
  for (float w : out) sum += w;
  if (sum > 0)
    for (float& w : out) w /= sum;
  return out;
}

namespace {
// Black, red, yellow, white as x goes from 0 to 1 (a "hot" map: brightness rises with x).
void hot(float x, float rgb[3]) {
  x = std::clamp(x, 0.f, 1.f);
  rgb[0] = std::min(1.f, 3 * x);
  rgb[1] = std::clamp(3 * x - 1, 0.f, 1.f);
  rgb[2] = std::clamp(3 * x - 2, 0.f, 1.f);
}
}  // namespace

Image heat_map(const Image& image, const std::vector<float>& patch_weights, int grid, int scale) {
  if (grid < 1 || int64_t(patch_weights.size()) != int64_t(grid) * grid || scale < 1 || image.width < 1)
    throw vkfuse::Error("heat map: " + std::to_string(patch_weights.size()) + " weights for a " +
                        std::to_string(grid) + "x" + std::to_string(grid) + " grid");
  const float top = *std::max_element(patch_weights.begin(), patch_weights.end());
  const int w = image.width * scale, h = image.height * scale;
  Image out(2 * w, h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const uint8_t* src = image.at(x / scale, y / scale);
      uint8_t* left = out.at(x, y);
      uint8_t* right = out.at(w + x, y);
      // Bilinear in patch units between patch centres, clamped at the border.
      const float gx = std::clamp((x + 0.5f) / w * grid - 0.5f, 0.f, float(grid - 1));
      const float gy = std::clamp((y + 0.5f) / h * grid - 0.5f, 0.f, float(grid - 1));
      const int x0 = int(gx), y0 = int(gy), x1 = std::min(x0 + 1, grid - 1), y1 = std::min(y0 + 1, grid - 1);
      const float fx = gx - x0, fy = gy - y0;
      auto at = [&](int px, int py) { return patch_weights[size_t(py) * grid + px]; };
      const float v = (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x1, y0)) + fy * ((1 - fx) * at(x0, y1) + fx * at(x1, y1));
      float c[3];
      hot(top > 0 ? v / top : 0.f, c);
      for (int k = 0; k < 3; ++k) {
        left[k] = src[k];
        right[k] = uint8_t(std::lround(0.35f * src[k] + 0.65f * 255.f * c[k]));
      }
    }
  return out;
}

}  // namespace shapes
