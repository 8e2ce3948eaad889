#pragma once
// A contact sheet: pictures as thumbnails in a grid, each over a bar as long as its score,
// the first one optionally framed (the query of an image search).
#include <cstdint>
#include <vector>

#include "shapes/image.hpp"

namespace shapes {

struct SheetEntry {
  Image picture;  // any size: fitted into the thumbnail, aspect kept
  float score;    // in [0, 1] (cosine similarity, clamped): the bar's length
};

// thumb: the thumbnail side in pixels (8 to 1024); columns: at most this many a row.
// Layout: margin 6, thumbnails thumb x thumb with a 4-pixel bar below, so the sheet is
// columns' * (thumb + 6) + 6 wide and rows * (thumb + 16) + 6 high, columns' = min(columns,
// entries). vkfuse::Error for no entries, sizes out of range, or a sheet of more than
// kMaxSheetPixels (PNG writers count its bytes in an int).
constexpr int64_t kMaxSheetPixels = int64_t(1) << 26;
Image contact_sheet(const std::vector<SheetEntry>& entries, int thumb, int columns, bool frame_first);

}  // namespace shapes
