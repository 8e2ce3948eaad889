#pragma once
// An 8-bit RGB image and what the model needs from it: the float CHW input and a resampler
// for pictures that are not the model's size.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "vkfuse/image.hpp"

namespace shapes {

// The scenes' and the model's image side, in pixels.
constexpr int kImageSize = 64;

// RGB8, stored HWC with y down: channel c of pixel (x, y) is rgb[(y * width + x) * 3 + c].
struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;

  Image() = default;
  Image(int w, int h, uint8_t fill = 0);  // vkfuse::Error unless w, h > 0
  uint8_t* at(int x, int y) { return &rgb[(size_t(y) * size_t(width) + size_t(x)) * 3]; }
  const uint8_t* at(int x, int y) const {
    return &rgb[(size_t(y) * size_t(width) + size_t(x)) * 3];
  }
};

// The same picture as vkfuse::Image (what read_image, decode_image and resize give): both are
// RGB8, HWC, y down, so only the pixel vector moves.
Image from_vkfuse(vkfuse::Image v);
vkfuse::Image to_vkfuse(Image img);

// Per-channel mean and std applied to pixel / 255 (the model file's metadata
// `vkfuse.image_preprocess`); the default is the shapes model's.
struct Normalization {
  std::array<float, 3> mean{0.5f, 0.5f, 0.5f};
  std::array<float, 3> std{0.5f, 0.5f, 0.5f};

  // {"mean": [r, g, b], "std": [r, g, b]}; vkfuse::Error if malformed or a std is not > 0.
  static Normalization from_json(const std::string& text);
  std::string to_json() const;
};

// The model input for one image: float [3, height, width] (CHW, RGB) with
//   out[c][y][x] = (pixel(x, y)[c] / 255 - mean[c]) / std[c],
// computed in float in that order, as the PyTorch trainer does.
std::vector<float> preprocess(const Image& image, const Normalization& norm = {});

// Area resampling: every output pixel is the average of the input area it covers, pixels cut
// by its edges weighted by the covered fraction. Right for shrinking a photo (no aliasing);
// enlarging gives blocks (each output pixel lies within one or two input pixels).
// vkfuse::Error unless the sizes are positive.
Image resize_area(const Image& image, int width, int height);

}  // namespace shapes
