#pragma once
// PNG files for the shapes images, through stb_image and stb_image_write.
#include <string>

#include "shapes/image.hpp"

namespace shapes {

// Writes image as an 8-bit RGB PNG. vkfuse::Error naming path if it cannot be encoded or
// written.
void write_png(const std::string& path, const Image& image);

// Reads any PNG (grey, grey + alpha, RGB, RGBA, palette; 8 or 16 bits) as RGB8 at its own
// size: grey is copied to all three channels, alpha is dropped (not composited), 16-bit
// values are scaled to 8 bits. The model takes kImageSize x kImageSize; a caller holding
// another size resizes with resize_area() (image.hpp). vkfuse::Error naming path if the
// file is missing or unreadable, is not a PNG, or does not decode.
Image read_png(const std::string& path);

}  // namespace shapes
