#pragma once
// The pipeline cache file, read and written as a file in a directory anyone may have planted
// things in. It is an optimization: any problem (a FIFO, a device, a directory or a link at
// its path, a file too large, a write that fails) is one warning and a run without it, never
// an error, a hang, or a write through a link.
#include <functional>
#include <string>
#include <vector>

namespace vkfuse::detail {

// A cache blob is a few MiB; a larger file is not one vkfuse wrote.
constexpr size_t kMaxCacheFileBytes = 64u << 20;

using Warn = std::function<void(const std::string&)>;

// The bytes of a regular file at `path` (not through a symbolic link), or nothing: absent is
// silent, anything else odd is a warning.
std::vector<char> read_cache_file(const std::string& path, const Warn& warn);
// Writes through a new temporary file beside `path` (O_EXCL | O_NOFOLLOW, so a planted file
// or link there is never written through) renamed over it; skipped with a warning where
// `path` is something other than a regular file.
void write_cache_file(const std::string& path, const std::vector<char>& data, const Warn& warn);
// The same through the temporary `tmp` (tests plant a link there).
void write_cache_file(const std::string& path, const std::vector<char>& data, const Warn& warn,
                      const std::string& tmp);

}  // namespace vkfuse::detail
