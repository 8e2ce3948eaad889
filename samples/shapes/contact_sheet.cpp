// Contact sheets of search results (contact_sheet.hpp).
#include "shapes/contact_sheet.hpp"

#include <algorithm>
#include <cmath>

#include "vkfuse/error.hpp"
#include "vkfuse/image.hpp"

namespace shapes {

namespace {

constexpr int kMargin = 6, kBar = 4, kBarGap = 6;

void fill(Image& img, int x0, int y0, int w, int h, const uint8_t (&c)[3]) {
  for (int y = std::max(0, y0); y < std::min(img.height, y0 + h); ++y)
    for (int x = std::max(0, x0); x < std::min(img.width, x0 + w); ++x)
      for (int k = 0; k < 3; ++k) img.at(x, y)[k] = c[k];
}

}  // namespace

Image contact_sheet(const std::vector<SheetEntry>& entries, int thumb, int columns, bool frame_first) {
  if (entries.empty()) throw vkfuse::Error("contact sheet: no pictures");
  if (thumb < 8 || thumb > 1024 || columns < 1)
    throw vkfuse::Error("contact sheet: thumbnail side " + std::to_string(thumb) + " (8 to 1024) or " +
                        std::to_string(columns) + " columns (at least 1)");
  const int cols = std::min<int>(columns, int(entries.size()));
  const int rows = (int(entries.size()) + cols - 1) / cols;
  const int cell_w = thumb + kMargin, cell_h = thumb + kBarGap + kBar + kMargin;
  const int64_t pixels = (int64_t(cols) * cell_w + kMargin) * (int64_t(rows) * cell_h + kMargin);
  if (pixels > kMaxSheetPixels)
    throw vkfuse::Error("contact sheet: " + std::to_string(entries.size()) + " pictures of " + std::to_string(thumb) +
                        " pixels make " + std::to_string(pixels) + " pixels, more than " +
                        std::to_string(kMaxSheetPixels) + " (fewer results or a smaller --thumb)");
  Image sheet(cols * cell_w + kMargin, rows * cell_h + kMargin, 40);
  const uint8_t frame[3] = {250, 200, 40}, bar[3] = {90, 200, 120}, track[3] = {70, 70, 70};
  for (size_t i = 0; i < entries.size(); ++i) {
    const Image& p = entries[i].picture;
    if (p.width <= 0 || p.height <= 0) throw vkfuse::Error("contact sheet: picture " + std::to_string(i) + " is empty");
    const int x0 = kMargin + int(i % size_t(cols)) * cell_w, y0 = kMargin + int(i / size_t(cols)) * cell_h;
    // Fitted into thumb x thumb with its aspect, centred (PIL's bicubic resampling).
    const double s = double(thumb) / std::max(p.width, p.height);
    const int w = std::max(1, int(std::lround(p.width * s))), h = std::max(1, int(std::lround(p.height * s)));
    const vkfuse::Image t = vkfuse::resize(to_vkfuse(p), w, h, vkfuse::Resample::Bicubic);
    const int ox = x0 + (thumb - w) / 2, oy = y0 + (thumb - h) / 2;
    if (frame_first && i == 0) fill(sheet, ox - 3, oy - 3, w + 6, h + 6, frame);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int k = 0; k < 3; ++k) sheet.at(ox + x, oy + y)[k] = t.rgb[(size_t(y) * size_t(w) + size_t(x)) * 3 + size_t(k)];
    const float score = std::clamp(entries[i].score, 0.f, 1.f);
    fill(sheet, x0, y0 + thumb + kBarGap, thumb, kBar, track);
    fill(sheet, x0, y0 + thumb + kBarGap, int(std::lround(score * float(thumb))), kBar, bar);
  }
  return sheet;
}

}  // namespace shapes
