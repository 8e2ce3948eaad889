// RGB8 images: the model's float input and area resampling.
#include "shapes/image.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "vkfuse/error.hpp"

namespace shapes {

Image::Image(int w, int h, uint8_t fill) : width(w), height(h) {
  if (w <= 0 || h <= 0)
    throw vkfuse::Error("shapes::Image: size " + std::to_string(w) + "x" + std::to_string(h) +
                        " is not positive");
  rgb.assign(size_t(w) * size_t(h) * 3, fill);
}

Image from_vkfuse(vkfuse::Image v) {
  Image img;
  img.width = v.width;
  img.height = v.height;
  img.rgb = std::move(v.rgb);
  return img;
}

vkfuse::Image to_vkfuse(Image img) { return vkfuse::Image{img.width, img.height, std::move(img.rgb)}; }

Normalization Normalization::from_json(const std::string& text) {
  auto fail = [](const std::string& why) {
    return vkfuse::Error("image preprocessing JSON: " + why);
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw fail(std::string("not JSON: ") + e.what());
  }
  if (!j.is_object()) throw fail("not a JSON object");
  Normalization n;
  for (auto [key, out] : {std::pair{"mean", &n.mean}, std::pair{"std", &n.std}}) {
    if (!j.contains(key)) throw fail(std::string("no \"") + key + "\"");
    const auto& v = j[key];
    if (!v.is_array() || v.size() != 3)
      throw fail(std::string("\"") + key + "\" is not a list of 3 numbers");
    for (size_t c = 0; c < 3; ++c) {
      if (!v[c].is_number()) throw fail(std::string("\"") + key + "\" is not a list of 3 numbers");
      (*out)[c] = v[c].get<float>();
      if (!std::isfinite((*out)[c])) throw fail(std::string("\"") + key + "\" is not finite");
    }
  }
  for (float s : n.std)
    if (!(s > 0)) throw fail("a \"std\" entry is not positive: " + std::to_string(s));
  return n;
}

std::string Normalization::to_json() const {
  return nlohmann::json{{"mean", mean}, {"std", std}}.dump();
}

std::vector<float> preprocess(const Image& image, const Normalization& norm) {
  const size_t plane = size_t(image.width) * size_t(image.height);
  if (image.rgb.size() != plane * 3)
    throw vkfuse::Error("shapes::preprocess: image of " + std::to_string(image.width) + "x" +
                        std::to_string(image.height) + " holds " +
                        std::to_string(image.rgb.size()) + " bytes, not w*h*3");
  std::vector<float> out(plane * 3);
  for (size_t c = 0; c < 3; ++c)
    for (size_t i = 0; i < plane; ++i)
      out[c * plane + i] = (float(image.rgb[i * 3 + c]) / 255.f - norm.mean[c]) / norm.std[c];
  return out;
}

namespace {

// Output pixel o of n_out over an input axis of n_in covers input [o * s, (o + 1) * s) with
// s = n_in / n_out; the weight of input pixel i is the length of [i, i + 1) inside that span.
struct Span {
  int first;
  std::vector<double> weights;  // for first, first + 1, ...
};

std::vector<Span> spans(int n_in, int n_out) {
  const double s = double(n_in) / double(n_out);
  std::vector<Span> r(static_cast<size_t>(n_out));
  for (int o = 0; o < n_out; ++o) {
    const double lo = o * s, hi = std::min(double(n_in), (o + 1) * s);
    const int first = int(std::floor(lo));
    const int last = std::min(n_in - 1, int(std::ceil(hi)) - 1);
    r[size_t(o)].first = first;
    for (int i = first; i <= last; ++i)
      r[size_t(o)].weights.push_back(std::max(0.0, std::min(hi, i + 1.0) - std::max(lo, double(i))));
  }
  return r;
}

}  // namespace

Image resize_area(const Image& image, int width, int height) {
  if (image.width <= 0 || image.height <= 0)
    throw vkfuse::Error("shapes::resize_area: the input image is empty");
  Image out(width, height);  // checks the output size
  const auto xs = spans(image.width, width), ys = spans(image.height, height);
  for (int y = 0; y < height; ++y) {
    const Span& sy = ys[size_t(y)];
    for (int x = 0; x < width; ++x) {
      const Span& sx = xs[size_t(x)];
      double acc[3] = {0, 0, 0}, total = 0;
      for (size_t j = 0; j < sy.weights.size(); ++j)
        for (size_t i = 0; i < sx.weights.size(); ++i) {
          const double w = sy.weights[j] * sx.weights[i];
          const uint8_t* p = image.at(sx.first + int(i), sy.first + int(j));
          for (int c = 0; c < 3; ++c) acc[c] += w * p[c];
          total += w;
        }
      for (int c = 0; c < 3; ++c)
        out.at(x, y)[c] = uint8_t(std::clamp(std::lround(acc[c] / total), 0L, 255L));
    }
  }
  return out;
}

}  // namespace shapes
