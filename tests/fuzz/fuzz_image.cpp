// libFuzzer target: any bytes as a picture file. decode_image refuses it with one
// vkfuse::Error or gives RGB8 of the size it says, which the CLIP preprocessing (resize of
// the shortest side, centre crop) and a PIL resize then take without error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "vkfuse/error.hpp"
#include "vkfuse/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const vkfuse::ImagePreprocess clip = vkfuse::ImagePreprocess::from_json(
      R"({"shortest_edge":24,"crop":[24,24],"resample":"bicubic","mean":[0.48,0.46,0.41],"std":[0.27,0.26,0.28]})",
      "fuzz");
  try {
    const vkfuse::Image im = vkfuse::decode_image(data, size, "fuzz");
    if (im.rgb.size() != size_t(im.width) * size_t(im.height) * 3) std::abort();
    // Keep each run well inside the 10 s timeout under ASan (a 64798x226 JPEG, 14.6 Mpixels,
    // took over 10 s to decode and resize in the Debug build).
    if (int64_t(im.width) * im.height > 2048 * 2048) return 0;
    int h = 0, w = 0;
    const auto v = clip.apply(im, h, w);
    if (h != 24 || w != 24 || v.size() != 3u * 24 * 24) std::abort();
    vkfuse::resize(im, 7, 5, vkfuse::Resample::Bilinear);
  } catch (const vkfuse::Error&) {
  }
  return 0;
}
