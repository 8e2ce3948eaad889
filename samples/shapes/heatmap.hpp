#pragma once
// Where a question looked: the text-to-image attention drawn over the image.
#include <vector>

#include "shapes/image.hpp"

namespace shapes {

// The attention on the image patches for one question: rows of weights [T, Nv] (the model's
// cross_attn_weights for one batch element), averaged over the question's `real` tokens;
// the class token (first of Nv when `cls`) is dropped and the rest renormalised to sum 1.
// Returns grid * grid weights, row-major patches as the model numbers them.
std::vector<float> patch_attention(const std::vector<float>& weights, int t, int nv, int real, bool cls);

// The image scaled up by `scale` (nearest), and beside it the same picture dimmed under a
// heat map of the patch weights (black-red-yellow-white, the largest weight white, bilinear
// between patch centres): a 2 * scale * W by scale * H image.
Image heat_map(const Image& image, const std::vector<float>& patch_weights, int grid, int scale = 4);

}  // namespace shapes
