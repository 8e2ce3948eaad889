// PNG reading and writing. The stb implementations come from Debian's libstb.a (which holds
// stb_image and stb_image_write); this file only includes their declarations.
#include "shapes/png.hpp"

#include <stb_image.h>
#include <stb_image_write.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "vkfuse/error.hpp"

namespace shapes {

namespace {

std::string errno_text() { return std::strerror(errno); }

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

}  // namespace

void write_png(const std::string& path, const Image& image) {
  if (image.width <= 0 || image.height <= 0 ||
      image.rgb.size() != size_t(image.width) * size_t(image.height) * 3)
    throw vkfuse::Error(path + ": cannot write PNG: image of " + std::to_string(image.width) +
                        "x" + std::to_string(image.height) + " holds " +
                        std::to_string(image.rgb.size()) + " bytes, not w*h*3");
  // Encoded to memory first, so a failure to write is reported with the system's reason.
  std::vector<unsigned char> png;
  auto append = [](void* ctx, void* data, int size) {
    auto* out = static_cast<std::vector<unsigned char>*>(ctx);
    out->insert(out->end(), static_cast<unsigned char*>(data),
                static_cast<unsigned char*>(data) + size);
  };
  if (!stbi_write_png_to_func(append, &png, image.width, image.height, 3, image.rgb.data(),
                              image.width * 3))
    throw vkfuse::Error(path + ": cannot encode PNG");
  File f(std::fopen(path.c_str(), "wb"));
  if (!f) throw vkfuse::Error(path + ": cannot open for writing: " + errno_text());
  if (std::fwrite(png.data(), 1, png.size(), f.get()) != png.size())
    throw vkfuse::Error(path + ": cannot write: " + errno_text());
  if (std::fclose(f.release()) != 0) throw vkfuse::Error(path + ": cannot write: " + errno_text());
}

Image read_png(const std::string& path) {
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) throw vkfuse::Error(path + ": cannot open: " + errno_text());
  std::vector<unsigned char> bytes;
  unsigned char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) bytes.insert(bytes.end(), buf, buf + n);
  if (std::ferror(f.get())) throw vkfuse::Error(path + ": cannot read: " + errno_text());

  static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (bytes.size() < 8 || std::memcmp(bytes.data(), signature, 8) != 0)
    throw vkfuse::Error(path + ": not a PNG file (no PNG signature in the first 8 bytes)");
  if (bytes.size() > size_t(1) << 30) throw vkfuse::Error(path + ": PNG file over 1 GiB");

  int w = 0, h = 0, channels = 0;
  stbi_uc* px = stbi_load_from_memory(bytes.data(), int(bytes.size()), &w, &h, &channels, 3);
  if (!px) throw vkfuse::Error(path + ": cannot decode PNG: " + stbi_failure_reason());
  std::unique_ptr<stbi_uc, void (*)(void*)> owned(px, stbi_image_free);
  Image img(w, h);
  std::memcpy(img.rgb.data(), px, img.rgb.size());
  return img;
}

}  // namespace shapes
