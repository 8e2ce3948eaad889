#pragma once
// Text from a file shown in a one-line message: control bytes (and, unless keep_utf8, every
// non-ASCII byte) as \xNN, and long text cut.
#include <cstdint>
#include <cstdio>
#include <string>

namespace vkfuse::detail {

inline std::string escaped(const std::string& s, bool keep_utf8) {
  std::string r;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f || (c >= 0x80 && !keep_utf8)) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      r += buf;
    } else {
      r += char(c);
    }
  }
  return r;
}

// A name or key, which the JSON parser has already checked is UTF-8.
inline std::string quote(const std::string& s) { return "'" + escaped(s, true) + "'"; }

inline std::string clipped(const std::string& s, size_t max) {
  return s.size() > max ? s.substr(0, max - 3) + "..." : s;
}

// A byte count as a message shows it.
inline std::string mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

// nlohmann's message without its "[json.exception.parse_error.101] " prefix, escaped and cut.
inline std::string json_error(const std::string& what) {
  const size_t cut = what.find("] ");
  return clipped(escaped(cut == std::string::npos ? what : what.substr(cut + 2), false), 300);
}

}  // namespace vkfuse::detail
