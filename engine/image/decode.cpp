// Picture files to RGB8, through stb_image (Debian's libstb-dev header), compiled here with
// its functions static (no symbol leaves this file, so an app that links its own stb does
// not clash) and only the four formats vkfuse reads (the other decoders are not even
// compiled). The header is read first so that a file declaring a huge picture is refused
// before memory is sized by it.
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_GIF
#define STBI_ONLY_BMP
#define STBI_NO_STDIO       // bytes come from read_image's own read
#define STBI_NO_HDR         // no float output paths
#define STBI_NO_LINEAR
#include <stb/stb_image.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>

#include "io/message_text.h"
#include "vkfuse/error.hpp"
#include "vkfuse/image.hpp"

namespace vkfuse {

namespace {
// The formats vkfuse reads, by their signatures (stb's format probing is not needed to name
// them, and TGA, which has no signature, is not compiled in).
const char* format_of(const uint8_t* b, size_t n) {
  auto starts = [&](const char* sig, size_t len) { return n >= len && std::memcmp(b, sig, len) == 0; };
  if (starts("\x89PNG\r\n\x1a\n", 8)) return "PNG";
  if (starts("\xff\xd8\xff", 3)) return "JPEG";
  if (starts("GIF87a", 6) || starts("GIF89a", 6)) return "GIF";
  if (starts("BM", 2)) return "BMP";
  return nullptr;
}
}  // namespace

// Debian's stb_image (2022) reads past its Huffman table when a JPEG's DHT segment declares
// more than 256 codes in one table (UBSan: stbi__build_huffman, index 257; found by
// tests/fuzz/fuzz_image). Every DHT segment, including those between the scans of a
// progressive JPEG, is checked here first: a valid table holds at most 256 codes.
static bool jpeg_huffman_tables_ok(const uint8_t* b, size_t n) {
  size_t i = 2;  // after SOI
  while (i + 4 <= n) {
    if (b[i] != 0xff) {
      ++i;  // entropy-coded data of a scan: look for the next marker
      continue;
    }
    const uint8_t m = b[i + 1];
    if (m == 0xff) {
      ++i;  // fill byte
      continue;
    }
    if (m == 0x00 || (m >= 0xd0 && m <= 0xd7) || m == 0x01) {
      i += 2;  // a stuffed 0xff, a restart marker, TEM: no length
      continue;
    }
    if (m == 0xd9) return true;  // EOI
    const size_t len = size_t(b[i + 2]) << 8 | b[i + 3];
    if (len < 2) return true;  // stb refuses it
    if (m == 0xc4) {
      // A segment longer than the file is still read by stb, up to the file's end.
      size_t p = i + 4;
      const size_t end = std::min(i + 2 + len, n);
      // As stb reads them: tables while the segment has bytes left, a table's counts read
      // even past the segment's end (and as 0 past the file's).
      while (p < end) {
        size_t codes = 0;
        for (size_t k = 1; k <= 16; ++k) codes += p + k < n ? b[p + k] : 0;
        if (codes > 256) return false;
        p += 17 + codes;
      }
    }
    if (i + 2 + len > n) return true;  // the rest is beyond the file
    i += 2 + len;
  }
  return true;
}

// The same stb_image, walking a PNG's chunks:
// - passes a null pointer to memcpy (UBSan: nonnull attribute, in stbi__getn) when the first
//   IDAT chunk is empty: it only allocates the image data for a chunk with bytes;
// - grows its buffer to what an IDAT chunk declares before reading it, so a 452-byte file whose
//   IDAT declares 1 GiB made it ask for 2 GiB (libFuzzer: out-of-memory in stbi__parse_png_file).
// Both found by tests/fuzz/fuzz_image. The chunks are walked here first, as stb walks them: an
// empty IDAT before any IDAT with data, and an IDAT that declares more bytes than the file has
// left, are refused; an empty IDAT after the data is harmless and left to stb, as is any
// other chunk past the file's end (stb skips those without allocating).
static const char* png_chunk_problem(const uint8_t* b, size_t n) {
  size_t i = 8;  // after the signature
  bool data_seen = false;
  while (i + 8 <= n) {
    const size_t len = size_t(b[i]) << 24 | size_t(b[i + 1]) << 16 | size_t(b[i + 2]) << 8 | b[i + 3];
    const bool idat = std::memcmp(b + i + 4, "IDAT", 4) == 0;
    if (idat && len == 0 && !data_seen) return "an empty IDAT chunk before the image data";
    if (idat && len > n - i - 8) return "an IDAT chunk declares more bytes than the file has left";
    if (idat && len > 0) data_seen = true;
    if (std::memcmp(b + i + 4, "IEND", 4) == 0 || len > n - i - 8) return nullptr;  // the rest: stb's to refuse
    i += 12 + len;
  }
  return nullptr;
}

Image decode_image(const uint8_t* bytes, size_t size, const std::string& label) {
  if (size > size_t(INT32_MAX)) throw Error(label + ": the file is larger than 2 GiB");
  const char* format = format_of(bytes, size);
  if (!format) throw Error(label + ": not a picture vkfuse can read (PNG, JPEG, GIF, BMP)");
  if (std::strcmp(format, "JPEG") == 0 && !jpeg_huffman_tables_ok(bytes, size))
    throw Error(label + ": the JPEG does not decode: a Huffman table of more than 256 codes");
  if (std::strcmp(format, "PNG") == 0)
    if (const char* problem = png_chunk_problem(bytes, size)) throw Error(label + ": the PNG does not decode: " + problem);
  int w = 0, h = 0, channels = 0;
  const int n = static_cast<int>(size);
  if (!stbi_info_from_memory(bytes, n, &w, &h, &channels))
    throw Error(label + ": not a picture vkfuse can read (PNG, JPEG, GIF, BMP): " +
                (stbi_failure_reason() ? stbi_failure_reason() : "unknown format"));
  if (w <= 0 || h <= 0 || int64_t(w) * h > kMaxImagePixels)
    throw Error(label + ": the picture is " + std::to_string(w) + "x" + std::to_string(h) +
                " pixels; vkfuse reads at most " + std::to_string(kMaxImagePixels) + " pixels");
  // Deflate (PNG) expands at most 1032:1 and a 1-bit PNG's samples become 24 bits of RGB, so
  // a PNG holds at least ~1/25,000 of its decoded bytes (a JPEG or GIF more); a header that
  // declares more than 32,768 times the file (and more than 64 MiB) is not sized into memory.
  const uint64_t decoded = uint64_t(w) * uint64_t(h) * 3;
  if (decoded > std::max<uint64_t>(uint64_t(64) << 20, uint64_t(size) * 32768))
    throw Error(label + ": the header declares " + std::to_string(w) + "x" + std::to_string(h) +
                " pixels, more than the file's " + std::to_string(size) + " bytes can hold");
  std::unique_ptr<stbi_uc, void (*)(void*)> px(stbi_load_from_memory(bytes, n, &w, &h, &channels, 3), stbi_image_free);
  if (!px)
    throw Error(label + ": the picture does not decode: " +
                (stbi_failure_reason() ? stbi_failure_reason() : "unknown error"));
  Image im;
  im.width = w;
  im.height = h;
  im.rgb.assign(px.get(), px.get() + size_t(w) * size_t(h) * 3);
  return im;
}

Image read_image(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error(detail::quote(path) + ": is a directory, not a picture");
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(detail::quote(path) + ": cannot open the picture");
  f.seekg(0, std::ios::end);
  const std::streamoff size = f.tellg();
  if (size < 0) throw Error(detail::quote(path) + ": cannot read the picture");
  if (size > std::streamoff(INT32_MAX)) throw Error(detail::quote(path) + ": the file is larger than 2 GiB");
  f.seekg(0);
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  if (!f.read(reinterpret_cast<char*>(bytes.data()), size)) throw Error(detail::quote(path) + ": cannot read the picture");
  return decode_image(bytes.data(), bytes.size(), detail::quote(path));
}

}  // namespace vkfuse
