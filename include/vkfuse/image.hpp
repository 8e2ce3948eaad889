#pragma once
// Pictures in: decoding, PIL's resampling, and the image preprocessing a model file's
// metadata `vkfuse.image_preprocess` describes (docs/model-format.md), as Hugging Face's
// CLIPImageProcessor and torchvision's transforms do it.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace vkfuse {

// 8-bit RGB, rows top to bottom: channel c of pixel (x, y) is rgb[(y·width + x)·3 + c].
struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;
};

// A PNG, JPEG, GIF (first frame) or BMP file as RGB8 (other formats are refused by their
// signature): grey copied to the three channels, alpha dropped (as PIL's convert("RGB")),
// 16-bit samples scaled to 8 bits. An
// Error naming the file when it is missing, not a picture, truncated, or larger than
// kMaxImagePixels (checked from the header before anything is decoded).
Image read_image(const std::string& path);
Image decode_image(const uint8_t* bytes, size_t size, const std::string& label);
constexpr int64_t kMaxImagePixels = int64_t(1) << 28;  // 16384 x 16384

enum class Resample { Bilinear, Bicubic };
// PIL's Image.resize(size, resample) of an RGB image, bit for bit: separable passes
// (horizontal, then vertical) with the filter widened by the scale when shrinking
// (antialiasing), coefficients in 22-bit fixed point, rounding and clamping to 8 bits.
Image resize(const Image& in, int width, int height, Resample filter);

struct ImagePreprocess {
  int shortest_edge = 0;     // resize so the shorter side is this (0: no resize); at most 4096
  int crop_height = 0, crop_width = 0;  // centre crop (0: none); zeros pad a smaller image
  bool crop_round = false;   // the crop's offset rounded half to even (torchvision), not floored (HF)
  Resample resample = Resample::Bicubic;
  double rescale_factor = 1.0 / 255.0;
  std::array<float, 3> mean{0.f, 0.f, 0.f}, std{1.f, 1.f, 1.f};

  // The metadata's JSON: {"shortest_edge", "crop": [h, w], "crop_offset": "floor"|"round",
  // "resample": "bicubic"|"bilinear", "rescale_factor", "mean", "std"}; only mean and std
  // are required. An Error naming `where` and the key otherwise.
  static ImagePreprocess from_json(const std::string& json, const std::string& where);
  // The model input of one picture: float [3, H, W], CHW,
  //   (float(pixel · rescale_factor) - mean[c]) / std[c]
  // after the resize and the crop. H, W: the crop, else the resized (or the picture's) size.
  std::vector<float> apply(const Image& image, int& height, int& width) const;
  // The 8-bit steps alone (resize, crop): what apply() normalizes. Applying them to their
  // own result changes nothing, so a caller may shrink pictures early (vkfuse index does).
  Image resize_and_crop(const Image& image) const;
};

}  // namespace vkfuse
