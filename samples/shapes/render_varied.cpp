// The Varied look of the shapes scenes (scene.hpp): what pictures drawn by other programs do
// to the same objects. Geometry stays in the 64x64 scene's pixels; the picture is drawn at
// the style's size by sampling that geometry, so resizing it back to 64x64 puts every shape
// where the objects (and so the questions' answers) say it is.
#include <stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <glm/common.hpp>
#include <glm/geometric.hpp>
#include <random>

#include "shapes/scene.hpp"
#include "vkfuse/error.hpp"
#include "vkfuse/image.hpp"

namespace shapes {

namespace {

// Whether d (sample - centre, scene pixels) is inside the object's shape shrunk by `inset`
// (the inner edge of an outline): the circle of radius r - inset; the square of half side
// r - inset, its corners rounded with radius corner - inset; the upright triangle scaled
// about its centre by (r - inset) / r, apex at the top, half base width w and half height h:
// |d.x| <= w (d.y + h) / (2h) for -h <= d.y <= h. (So a triangle's outline is thinner on its
// slanted sides than on its base: 0.25 to 0.45 of the stroke there.)
bool covers(const Object& o, glm::vec2 d, float inset) {
  const float r = o.radius - inset;
  if (r <= 0) return false;
  const glm::vec2 a = glm::abs(d);
  switch (o.shape) {
    case Shape::Circle: return glm::dot(d, d) <= r * r;
    case Shape::Square: {
      if (a.x > r || a.y > r) return false;
      const float c = std::max(0.f, o.corner - inset), k = r - c;
      if (c <= 0 || a.x <= k || a.y <= k) return true;
      const glm::vec2 e = a - glm::vec2(k);
      return glm::dot(e, e) <= c * c;
    }
    case Shape::Triangle: {
      const float s = r / o.radius;
      const float w = (o.half_width > 0 ? o.half_width : o.radius) * s;
      const float h = (o.half_height > 0 ? o.half_height : o.radius) * s;
      return d.y >= -h && d.y <= h && 2 * h * a.x <= w * (d.y + h);
    }
  }
  return false;
}

glm::vec3 background_at(const Style& st, float u, float v) {
  const float th = float(st.gradient_angle) * 3.14159265f / 180.f;
  const float t = std::clamp(0.5f + (u - 0.5f) * std::cos(th) + (v - 0.5f) * std::sin(th), 0.f, 1.f);
  return glm::mix(glm::vec3(st.background0), glm::vec3(st.background1), t);
}

// 3x3 binomial blur ([1 2 1] / 4 each way), borders clamped.
Image blur3(const Image& in) {
  Image out(in.width, in.height);
  for (int y = 0; y < in.height; ++y)
    for (int x = 0; x < in.width; ++x)
      for (int k = 0; k < 3; ++k) {
        int sum = 0;
        for (int j = -1; j <= 1; ++j)
          for (int i = -1; i <= 1; ++i) {
            const int xx = std::clamp(x + i, 0, in.width - 1), yy = std::clamp(y + j, 0, in.height - 1);
            sum += in.at(xx, yy)[k] * (2 - std::abs(i)) * (2 - std::abs(j));
          }
        out.at(x, y)[k] = uint8_t((sum + 8) / 16);
      }
  return out;
}

Image jpeg_round_trip(const Image& in, int quality) {
  std::vector<uint8_t> bytes;
  auto append = [](void* ctx, void* data, int size) {
    auto* b = static_cast<std::vector<uint8_t>*>(ctx);
    b->insert(b->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
  };
  if (!stbi_write_jpg_to_func(append, &bytes, in.width, in.height, 3, in.rgb.data(), quality))
    throw vkfuse::Error("shapes::render_varied: JPEG encoding failed");
  return from_vkfuse(vkfuse::decode_image(bytes.data(), bytes.size(), "render_varied JPEG"));
}

}  // namespace

Image render_varied(const std::vector<Object>& objects, const Style& st) {
  const int W = st.width, H = st.height;
  if (W < 1 || H < 1 || W > 16 * kImageSize || H > 16 * kImageSize)
    throw vkfuse::Error("shapes::render_varied: drawing size " + std::to_string(W) + "x" +
                        std::to_string(H) + " outside 1 to " + std::to_string(16 * kImageSize));
  Image img(W, H);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      const glm::vec3 c = background_at(st, (float(x) + 0.5f) / float(W), (float(y) + 0.5f) / float(H));
      for (int k = 0; k < 3; ++k) img.at(x, y)[k] = uint8_t(std::lround(c[k]));
    }
  const glm::vec2 scale(float(W) / kImageSize, float(H) / kImageSize);  // drawn px per scene px
  const int n = st.antialias ? 4 : 1;
  const bool ring = st.fill != Style::Fill::Solid;
  for (const Object& o : objects) {
    const float far = 2 * kImageSize;  // as render(): keeps the pixel bounds far from int overflow
    if (!(o.radius > 0 && o.radius <= kImageSize && std::fabs(o.center.x) <= far && std::fabs(o.center.y) <= far))
      throw vkfuse::Error("shapes::render_varied: radius " + std::to_string(o.radius) + " or centre (" +
                          std::to_string(o.center.x) + ", " + std::to_string(o.center.y) +
                          ") outside (0, 64] and [-128, 128]");
    const glm::vec3 fill(o.rgb);
    const glm::vec3 edge = st.fill == Style::Fill::SolidOutlined ? glm::vec3(st.outline_rgb) : fill;
    const glm::ivec2 lo = glm::clamp(glm::ivec2(glm::floor((o.center - o.radius) * scale)) - 1, glm::ivec2(0),
                                     glm::ivec2(W - 1, H - 1));
    const glm::ivec2 hi = glm::clamp(glm::ivec2(glm::ceil((o.center + o.radius) * scale)) + 1, glm::ivec2(0),
                                     glm::ivec2(W - 1, H - 1));
    for (int y = lo.y; y <= hi.y; ++y)
      for (int x = lo.x; x <= hi.x; ++x) {
        glm::vec3 sum(0.f);
        int in = 0;
        for (int j = 0; j < n; ++j)
          for (int i = 0; i < n; ++i) {
            const glm::vec2 p((float(x) + (2.f * float(i) + 1.f) / (2.f * float(n))) / scale.x,
                              (float(y) + (2.f * float(j) + 1.f) / (2.f * float(n))) / scale.y);
            const glm::vec2 d = p - o.center;
            if (!covers(o, d, 0.f)) continue;
            const bool inner = ring && covers(o, d, st.stroke);
            if (inner && st.fill == Style::Fill::Outline) continue;  // the background shows
            sum += inner || !ring ? fill : edge;
            ++in;
          }
        if (in == 0) continue;
        uint8_t* px = img.at(x, y);
        for (int k = 0; k < 3; ++k)
          px[k] = uint8_t(std::lround((float(px[k]) * float(n * n - in) + sum[k]) / float(n * n)));
      }
  }
  if (st.noise > 0) {
    std::mt19937_64 rng(st.noise_seed);
    const uint64_t span = uint64_t(2 * st.noise + 1);
    for (uint8_t& v : img.rgb) v = uint8_t(std::clamp(int(v) + int(rng() % span) - st.noise, 0, 255));
  }
  if (st.blur) img = blur3(img);
  if (st.jpeg_quality > 0) img = jpeg_round_trip(img, st.jpeg_quality);
  if (W == kImageSize && H == kImageSize) return img;
  if (!st.bicubic) return resize_area(img, kImageSize, kImageSize);
  return from_vkfuse(vkfuse::resize(to_vkfuse(std::move(img)), kImageSize, kImageSize, vkfuse::Resample::Bicubic));
}

}  // namespace shapes
