#include "text/utf8.h"

#include "vkfuse/error.hpp"

namespace vkfuse::text {

namespace {

[[noreturn]] void fail(const std::string& where, const char* what, size_t at) {
  throw Error(where + ": not valid UTF-8: " + what + " at byte " + std::to_string(at));
}

}  // namespace

std::u32string decode_utf8(const std::string& bytes, const std::string& where) {
  std::u32string out;
  out.reserve(bytes.size());
  const size_t n = bytes.size();
  for (size_t i = 0; i < n;) {
    const unsigned char b = static_cast<unsigned char>(bytes[i]);
    if (b < 0x80) {
      out.push_back(b);
      ++i;
      continue;
    }
    size_t len;
    char32_t cp, min;
    if (b >= 0xC2 && b <= 0xDF) {
      len = 2, cp = b & 0x1F, min = 0x80;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3, cp = b & 0x0F, min = 0x800;
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4, cp = b & 0x07, min = 0x10000;
    } else if (b >= 0x80 && b <= 0xBF) {
      fail(where, "a continuation byte without a lead byte", i);
    } else {
      fail(where, "a byte that never occurs in UTF-8", i);  // C0, C1 (overlong ASCII) and F5..FF
    }
    if (i + len > n) fail(where, "a sequence cut short by the end of the text", i);
    for (size_t k = 1; k < len; ++k) {
      const unsigned char c = static_cast<unsigned char>(bytes[i + k]);
      if ((c & 0xC0) != 0x80) fail(where, "a sequence cut short by a byte that is not a continuation", i);
      cp = (cp << 6) | (c & 0x3F);
    }
    if (cp < min) fail(where, "an overlong encoding", i);
    if (cp >= 0xD800 && cp <= 0xDFFF) fail(where, "a UTF-16 surrogate", i);
    if (cp > 0x10FFFF) fail(where, "a code point past U+10FFFF", i);
    out.push_back(cp);
    i += len;
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(char(cp));
  } else if (cp < 0x800) {
    out.push_back(char(0xC0 | (cp >> 6)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(char(0xE0 | (cp >> 12)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (cp >> 18)));
    out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  }
}

std::string encode_utf8(const std::u32string& text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) append_utf8(out, c);
  return out;
}

}  // namespace vkfuse::text
