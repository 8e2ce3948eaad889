// The pipeline cache file: regular files only, a bounded read, an exclusive temporary.
#include "cache_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

namespace vkfuse::detail {

namespace {
std::string why(const std::string& path, const char* what) {
  return "pipeline cache " + path + ": " + what + "; running without it";
}
std::string os_error(const std::string& path, const char* what) {
  return "pipeline cache " + path + ": " + what + ": " + std::strerror(errno) + "; running without it";
}
void make_dirs(const std::string& dir) {
  for (size_t i = 1; i <= dir.size(); ++i)
    if (i == dir.size() || dir[i] == '/') ::mkdir(dir.substr(0, i).c_str(), 0755);
}
}  // namespace

std::vector<char> read_cache_file(const std::string& path, const Warn& warn) {
  // O_NONBLOCK: opening a FIFO for reading must not wait for a writer; O_NOFOLLOW: a link
  // (to /dev/zero, say) is not followed.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) warn(os_error(path, errno == ELOOP ? "is a symbolic link" : "cannot open"));
    return {};
  }
  std::vector<char> data;
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    warn(os_error(path, "cannot stat"));
  } else if (!S_ISREG(st.st_mode)) {
    warn(why(path, "is not a regular file"));
  } else if (uint64_t(st.st_size) > kMaxCacheFileBytes) {
    warn(why(path, ("is " + std::to_string(st.st_size) + " bytes, over the " +
                    std::to_string(kMaxCacheFileBytes >> 20) + " MiB a cache file may hold")
                       .c_str()));
  } else {
    data.resize(size_t(st.st_size));
    size_t got = 0;
    while (got < data.size()) {
      const ssize_t r = ::read(fd, data.data() + got, data.size() - got);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      got += size_t(r);
    }
    if (got != data.size()) {
      warn(why(path, "could not be read whole"));
      data.clear();
    }
  }
  ::close(fd);
  return data;
}

void write_cache_file(const std::string& path, const std::vector<char>& data, const Warn& warn) {
  // A name no one can have planted a link at in advance, and O_EXCL in case they did.
  std::random_device rd;
  write_cache_file(path, data, warn, path + ".tmp" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
}

void write_cache_file(const std::string& path, const std::vector<char>& data, const Warn& warn,
                      const std::string& tmp) {
  make_dirs(path.substr(0, path.rfind('/')));
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    warn("pipeline cache " + path + ": is not a regular file; the cache is not saved");
    return;
  }
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) {
    warn("pipeline cache " + tmp + ": cannot create: " + std::strerror(errno) + "; the cache is not saved");
    return;
  }
  size_t put = 0;
  int err = 0;
  while (put < data.size()) {
    const ssize_t w = ::write(fd, data.data() + put, data.size() - put);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      err = w < 0 ? errno : ENOSPC;
      break;
    }
    put += size_t(w);
  }
  if (::close(fd) != 0 && !err) err = errno;
  if (!err && std::rename(tmp.c_str(), path.c_str()) != 0) err = errno;  // atomic: a reader sees old or new
  if (err) {
    warn("pipeline cache " + path + ": cannot write: " + std::strerror(err) + "; the cache is not saved");
    ::unlink(tmp.c_str());
  }
}

}  // namespace vkfuse::detail
