// The image preprocessing of a model file's metadata: Hugging Face's CLIPImageProcessor
// (resize of the shortest side, centre crop, rescale, normalize; all on 8-bit pixels until
// the rescale, as it does them) and torchvision's Resize/CenterCrop/ToTensor/Normalize.
#include <cmath>
#include <nlohmann/json.hpp>

#include "io/strict_json.h"
#include "vkfuse/error.hpp"
#include "vkfuse/image.hpp"

namespace vkfuse {

namespace {
using nlohmann::json;

// Model inputs are at most a few hundred pixels a side; 4096 bounds what a few bytes of
// metadata can make every picture cost (4096² RGB8 and floats: 250 MB).
constexpr int kMaxSide = 4096;

int side(const json& v, const std::string& where, const char* key) {
  if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > kMaxSide)
    throw Error(where + ": '" + key + "' must be an integer from 1 to " + std::to_string(kMaxSide));
  return v.get<int>();
}

std::array<float, 3> triple(const json& j, const std::string& where, const char* key, bool positive) {
  auto it = j.find(key);
  if (it == j.end()) throw Error(where + ": '" + key + "' is missing");
  if (!it->is_array() || it->size() != 3) throw Error(where + ": '" + key + "' must be a list of 3 numbers (r, g, b)");
  std::array<float, 3> v{};
  for (size_t i = 0; i < 3; ++i) {
    const json& x = (*it)[i];
    if (!x.is_number() || !std::isfinite(x.get<double>()) || (positive && !(x.get<double>() > 0)))
      throw Error(where + ": '" + key + "' must hold 3 finite" + (positive ? " positive" : "") + " numbers");
    v[i] = x.get<float>();
  }
  return v;
}

// Where the crop starts in a picture of side a, crop b: (a - b) / 2 rounded as torchvision's
// CenterCrop does it (int(round(x)), half to even; a smaller picture is padded by
// (b - a) // 2 first), or floored as Hugging Face's center_crop ((a - b) // 2; a smaller
// picture is padded by ceil((b - a) / 2)).
int offset(int a, int b, bool round_half_even) {
  const int d = a - b;
  if (!round_half_even) return d >= 0 ? d / 2 : -((-d + 1) / 2);
  // torchvision pads a smaller picture by (crop - size) // 2 before and crops at 0.
  if (d < 0) return -((-d) / 2);
  return int(std::nearbyint(d / 2.0));  // the default rounding mode is to nearest, ties to even
}
}  // namespace

ImagePreprocess ImagePreprocess::from_json(const std::string& text, const std::string& where) {
  const json j = detail::parse_strict_json(text.data(), text.size(), where, "image preprocessing",
                                           [](const detail::DuplicateKey& d) { return "key '" + d.key + "' appears twice"; });
  if (!j.is_object()) throw Error(where + ": must be a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    static const char* kKeys[] = {"shortest_edge", "crop", "crop_offset", "resample", "rescale_factor", "mean", "std"};
    bool known = false;
    for (const char* k : kKeys) known = known || it.key() == k;
    if (!known)
      throw Error(where + ": '" + it.key() +
                  "' is not a preprocessing key vkfuse implements (shortest_edge, crop, crop_offset, resample, "
                  "rescale_factor, mean, std)");
  }
  ImagePreprocess p;
  if (j.contains("shortest_edge")) p.shortest_edge = side(j["shortest_edge"], where, "shortest_edge");
  if (j.contains("crop")) {
    const json& c = j["crop"];
    if (!c.is_array() || c.size() != 2) throw Error(where + ": 'crop' must be [height, width]");
    p.crop_height = side(c[0], where, "crop");
    p.crop_width = side(c[1], where, "crop");
  }
  if (j.contains("crop_offset")) {
    const json& c = j["crop_offset"];
    if (c != "floor" && c != "round") throw Error(where + ": 'crop_offset' must be \"floor\" or \"round\"");
    p.crop_round = c == "round";
  }
  if (j.contains("resample")) {
    const json& r = j["resample"];
    if (r != "bicubic" && r != "bilinear") throw Error(where + ": 'resample' must be \"bicubic\" or \"bilinear\"");
    p.resample = r == "bicubic" ? Resample::Bicubic : Resample::Bilinear;
  }
  if (j.contains("rescale_factor")) {
    const json& r = j["rescale_factor"];
    if (!r.is_number() || !std::isfinite(r.get<double>()) || !(r.get<double>() > 0))
      throw Error(where + ": 'rescale_factor' must be a positive number");
    p.rescale_factor = r.get<double>();
  }
  p.mean = triple(j, where, "mean", false);
  p.std = triple(j, where, "std", true);
  return p;
}

Image ImagePreprocess::resize_and_crop(const Image& image) const {
  Image im = image;
  if (shortest_edge) {
    // transformers' get_resize_output_image_size(default_to_square=False): the short side
    // becomes shortest_edge, the long one int(shortest_edge · long / short).
    const bool portrait = im.width <= im.height;
    const int64_t s = portrait ? im.width : im.height, l = portrait ? im.height : im.width;
    if (s != shortest_edge) {
      const int64_t nl = static_cast<int64_t>(double(int64_t(shortest_edge) * l) / double(s));
      if (nl < 1 || nl > 16384)
        throw Error("image preprocessing: resizing " + std::to_string(im.width) + "x" + std::to_string(im.height) +
                    " to a shortest side of " + std::to_string(shortest_edge) + " gives a side of " +
                    std::to_string(nl) + " pixels");
      im = portrait ? resize(im, shortest_edge, int(nl), resample) : resize(im, int(nl), shortest_edge, resample);
    }
  }
  if (crop_height && crop_width) {
    // A crop larger than the picture pads it with zero pixels around the centre first
    // (transformers' center_crop).
    const int nh = std::max(crop_height, im.height), nw = std::max(crop_width, im.width);
    const int tp = (nh - im.height + 1) / 2, lp = (nw - im.width + 1) / 2;
    const int top = offset(im.height, crop_height, crop_round) + tp, left = offset(im.width, crop_width, crop_round) + lp;
    Image out;
    out.width = crop_width;
    out.height = crop_height;
    out.rgb.assign(size_t(crop_width) * crop_height * 3, 0);
    for (int y = 0; y < crop_height; ++y)
      for (int x = 0; x < crop_width; ++x) {
        const int sy = top + y - tp, sx = left + x - lp;  // in the unpadded picture
        if (sy < 0 || sy >= im.height || sx < 0 || sx >= im.width) continue;
        for (int c = 0; c < 3; ++c)
          out.rgb[(size_t(y) * crop_width + x) * 3 + c] = im.rgb[(size_t(sy) * im.width + sx) * 3 + c];
      }
    im = std::move(out);
  }
  return im;
}

std::vector<float> ImagePreprocess::apply(const Image& image, int& height, int& width) const {
  const Image im = resize_and_crop(image);
  if (int64_t(im.width) * im.height > int64_t(kMaxSide) * kMaxSide)
    throw Error("image preprocessing: a " + std::to_string(im.width) + "x" + std::to_string(im.height) +
                " picture without a crop to the model's size is more than vkfuse feeds a model (" +
                std::to_string(kMaxSide) + "x" + std::to_string(kMaxSide) + " pixels)");
  height = im.height;
  width = im.width;
  const size_t hw = size_t(im.width) * im.height;
  std::vector<float> chw(3 * hw);
  for (int c = 0; c < 3; ++c)
    for (size_t i = 0; i < hw; ++i) {
      // transformers rescales in float64 and casts to float32, then normalizes in float32.
      const float v = static_cast<float>(double(im.rgb[i * 3 + c]) * rescale_factor);
      chw[c * hw + i] = (v - mean[c]) / std[c];
    }
  return chw;
}

}  // namespace vkfuse
