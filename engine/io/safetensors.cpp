// safetensors: a strict reader over a read-only mapping and an atomic writer.
#include "vkfuse/safetensors.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "io/convert.h"
#include "io/message_text.h"
#include "io/safetensors_header.h"
#include "io/strict_json.h"
#include "vkfuse/error.hpp"

// The data section is little-endian; copying it out byte for byte is only right on a
// little-endian host, which is every host vkfuse builds for.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "vkfuse assumes a little-endian host");

namespace vkfuse {

namespace {

using json = nlohmann::json;

// The reference implementation's limit: a longer header is corruption or an attack, and
// parsing it would cost more memory than any real model's header.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

using detail::quote;

}  // namespace

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  SafetensorsFile f;
  f.path_ = path;
  auto fail = [&](const std::string& msg) { return Error(path + ": " + msg); };

  // O_NONBLOCK: a FIFO at the path must not hang the open (it is refused below).
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw fail(std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw fail(std::string("cannot stat: ") + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw fail("not a regular file");
  }
  const size_t size = size_t(st.st_size);
  if (size < 8) {
    ::close(fd);
    throw fail("file is " + std::to_string(size) +
               " bytes, too short for the 8-byte header length");
  }
  void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int map_err = errno;
  ::close(fd);  // the mapping keeps the file open
  if (map == MAP_FAILED) throw fail(std::string("cannot map: ") + std::strerror(map_err));
  f.map_ = map;  // from here f's destructor unmaps when validation throws
  f.map_size_ = size;

  f.validate(static_cast<const uint8_t*>(map), size);
  return f;
}

SafetensorsFile SafetensorsFile::parse(const std::string& label, const void* bytes, size_t size) {
  SafetensorsFile f;
  f.path_ = label;
  if (size < 8)
    throw Error(label + ": " + std::to_string(size) + " bytes, too short for the 8-byte header length");
  const auto* p = static_cast<const uint8_t*>(bytes);
  f.owned_.assign(p, p + size);
  f.validate(f.owned_.data(), size);
  return f;
}

void SafetensorsFile::validate(const uint8_t* base, size_t size) {
  SafetensorsFile& f = *this;
  const std::string& path = path_;
  auto fail = [&](const std::string& msg) { return Error(path + ": " + msg); };
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t(base[i]) << (8 * i);
  if (n > size - 8)
    throw fail("header length " + std::to_string(n) + " runs past the end of the file (" +
               std::to_string(size - 8) + " bytes follow it)");
  if (n > kMaxHeaderBytes)
    throw fail("header length " + std::to_string(n) + " is over the " +
               std::to_string(kMaxHeaderBytes) + "-byte limit");

  const char* text = reinterpret_cast<const char*>(base + 8);
  detail::check_json_text(text, n, path, "header");
  detail::read_header(text, n, size - 8 - n, path, f.tensors_, f.index_, f.metadata_);
  const uint8_t* data = base + 8 + n;
  const uint64_t data_size = size - 8 - n;
  for (auto& t : f.tensors_) t.data = data + t.offset;

  // The reference implementation requires the tensors to tile the data section exactly: no
  // overlap (two names for one buffer), no gap, nothing after the last tensor.
  std::sort(f.tensors_.begin(), f.tensors_.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return std::make_pair(a.offset, a.bytes) < std::make_pair(b.offset, b.bytes);
  });
  uint64_t covered = 0;
  const TensorInfo* prev = nullptr;
  for (const TensorInfo& t : f.tensors_) {
    const std::string at = "tensor " + quote(t.name) + ": data_offsets [" +
                           std::to_string(t.offset) + ", " + std::to_string(t.offset + t.bytes) +
                           "]";
    if (t.offset < covered)
      throw fail(at + " overlap tensor " + quote(prev->name) + " at [" +
                 std::to_string(prev->offset) + ", " + std::to_string(covered) + "]");
    if (t.offset > covered)
      throw fail(at + " leave bytes [" + std::to_string(covered) + ", " +
                 std::to_string(t.offset) + ") of the data section unused (it must be packed)");
    covered = t.offset + t.bytes;
    prev = &t;
  }
  if (covered != data_size)
    throw fail("the data section is " + std::to_string(data_size) +
               " bytes, but the tensors end at byte " + std::to_string(covered));

  for (size_t i = 0; i < f.tensors_.size(); ++i) f.index_[f.tensors_[i].name] = i;
}

SafetensorsFile SafetensorsFile::from_tensors(const std::string& label,
                                              const std::vector<std::pair<std::string, TensorBytes>>& tensors,
                                              const std::map<std::string, std::string>& metadata) {
  SafetensorsFile f;
  f.path_ = label;
  f.metadata_ = metadata;
  size_t total = 0;
  std::vector<size_t> sizes;
  for (const auto& [name, t] : tensors) {
    const std::string at = label + ": tensor " + quote(name) + ": ";
    if (name == "__metadata__") throw Error(at + "the name is reserved for metadata");
    if (f.index_.count(name)) throw Error(at + "duplicate tensor name");
    f.index_[name] = 0;
    for (int64_t d : t.shape)
      if (d < 0) throw Error(at + "negative dimension in shape " + shape_string(t.shape));
    const auto bytes = detail::byte_count(t.shape, t.dtype);
    if (!bytes || *bytes > std::numeric_limits<size_t>::max() - total)
      throw Error(at + "shape " + shape_string(t.shape) + " is too large");
    if (*bytes && !t.data) throw Error(at + "no data");
    sizes.push_back(size_t(*bytes));
    total += size_t(*bytes);
  }
  f.owned_.resize(total);
  f.index_.clear();
  size_t offset = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, t] = tensors[i];
    if (sizes[i]) std::memcpy(f.owned_.data() + offset, t.data, sizes[i]);
    f.tensors_.push_back({name, t.dtype, t.shape, offset, sizes[i], f.owned_.data() + offset});
    f.index_[name] = i;
    offset += sizes[i];
  }
  return f;
}

SafetensorsFile::SafetensorsFile(SafetensorsFile&& o) noexcept { *this = std::move(o); }

SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&& o) noexcept {
  if (this != &o) {
    if (map_) munmap(map_, map_size_);
    path_ = std::move(o.path_);
    map_ = std::exchange(o.map_, nullptr);
    map_size_ = std::exchange(o.map_size_, 0);
    owned_ = std::move(o.owned_);  // a moved vector keeps its buffer, so data pointers hold
    metadata_ = std::move(o.metadata_);
    tensors_ = std::move(o.tensors_);  // the data pointers stay valid: the mapping moved whole
    index_ = std::move(o.index_);
  }
  return *this;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) munmap(map_, map_size_);
}

void SafetensorsFile::release_pages() const {
  if (map_) ::madvise(map_, map_size_, MADV_DONTNEED);  // read-only private mapping: refaulted from the file
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> r;
  for (const TensorInfo& t : tensors_) r.push_back(t.name);
  return r;
}

std::string SafetensorsFile::where(const std::string& name) const {
  return path_ + ": tensor " + quote(name);
}

const SafetensorsFile::TensorInfo& SafetensorsFile::tensor(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) throw Error(where(name) + ": not in the file");
  return tensors_[it->second];
}

std::vector<float> SafetensorsFile::to_f32(const std::string& name) const {
  const TensorInfo& t = tensor(name);
  return detail::to_f32({t.dtype, t.shape, t.data}, where(name));
}

std::vector<int64_t> SafetensorsFile::to_i64(const std::string& name) const {
  const TensorInfo& t = tensor(name);
  return detail::to_i64({t.dtype, t.shape, t.data}, where(name));
}

std::vector<uint8_t> SafetensorsFile::to_mask(const std::string& name) const {
  const TensorInfo& t = tensor(name);
  return detail::to_mask({t.dtype, t.shape, t.data}, where(name));
}

TensorBytes f32_bytes(const Shape& shape, const std::vector<float>& values) {
  for (int64_t d : shape)
    if (d < 0) throw Error("f32_bytes: negative dimension in shape " + shape_string(shape));
  if (uint64_t(shape_numel(shape)) != values.size())
    throw Error("f32_bytes: shape " + shape_string(shape) + " needs " +
                std::to_string(shape_numel(shape)) + " values, got " +
                std::to_string(values.size()));
  return {DType::F32, shape, values.data()};
}

namespace {

// A file descriptor for the temporary file: closed, and the file removed, unless committed.
class TempFile {
 public:
  explicit TempFile(const std::string& target) {
    // Through a temporary renamed over the target only where the target is a regular file or
    // absent: a rename would replace a device node (--output /dev/null as root), a FIFO or
    // the user's symbolic link with a regular file. Those are written in place.
    struct stat st {};
    if (::lstat(target.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
      struct stat to {};
      if (::stat(target.c_str(), &to) == 0 && S_ISDIR(to.st_mode)) throw Error(target + ": is a directory");
      name_ = target;
      in_place_ = true;
      fd_ = ::open(target.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
      if (fd_ < 0) throw Error(target + ": cannot open for writing: " + std::strerror(errno));
      return;
    }
    static std::atomic<unsigned> counter{0};
    for (int attempt = 0; attempt < 100; ++attempt) {
      name_ = target + ".tmp." + std::to_string(getpid()) + "." + std::to_string(counter++);
      // 0666 so the final file gets the usual umask-derived mode, as a plain create would.
      fd_ = ::open(name_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd_ >= 0 || errno != EEXIST) break;
    }
    if (fd_ < 0) throw Error(target + ": cannot create " + name_ + ": " + std::strerror(errno));
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_ && !in_place_) ::unlink(name_.c_str());
  }

  void write(const std::string& target, const void* p, size_t n) {
    const char* c = static_cast<const char*>(p);
    while (n > 0) {
      const ssize_t w = ::write(fd_, c, n);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) throw Error(target + ": write failed: " + std::strerror(errno));
      c += w;
      n -= size_t(w);
    }
  }

  void commit(const std::string& target) {
    if (in_place_) {
      const int rc = ::close(fd_);
      fd_ = -1;
      if (rc != 0) throw Error(target + ": close failed: " + std::strerror(errno));
      committed_ = true;
      return;
    }
    // fsync before rename: otherwise a crash can leave the new name on an empty file.
    if (fsync(fd_) != 0) throw Error(target + ": fsync failed: " + std::strerror(errno));
    const int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) throw Error(target + ": close failed: " + std::strerror(errno));
    if (std::rename(name_.c_str(), target.c_str()) != 0)
      throw Error(target + ": cannot rename " + name_ + " to it: " + std::strerror(errno));
    committed_ = true;
  }

 private:
  std::string name_;
  int fd_ = -1;
  bool committed_ = false, in_place_ = false;
};

}  // namespace

void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, TensorBytes>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  // ordered_json: the header lists the tensors in the order their data is laid out.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string> seen;
  std::vector<uint64_t> sizes;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    const std::string at = path + ": tensor " + quote(name) + ": ";
    if (name == "__metadata__") throw Error(at + "the name is reserved for metadata");
    if (!seen.insert(name).second) throw Error(at + "duplicate tensor name");
    for (int64_t d : t.shape)
      if (d < 0) throw Error(at + "negative dimension in shape " + shape_string(t.shape));
    const auto bytes = detail::byte_count(t.shape, t.dtype);
    if (!bytes) throw Error(at + "shape " + shape_string(t.shape) + " is over 2^64 bytes");
    if (*bytes && !t.data) throw Error(at + "no data");
    header[name] = {{"dtype", dtype_name(t.dtype)},
                    {"shape", t.shape},
                    {"data_offsets", {offset, offset + *bytes}}};
    sizes.push_back(*bytes);
    offset += *bytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception&) {
    throw Error(path + ": a tensor name or metadata string is not valid UTF-8");
  }
  text.append((8 - text.size() % 8) % 8, ' ');

  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = uint8_t(uint64_t(text.size()) >> (8 * i));
  TempFile out(path);
  out.write(path, len, 8);
  out.write(path, text.data(), text.size());
  for (size_t i = 0; i < tensors.size(); ++i) out.write(path, tensors[i].second.data, sizes[i]);
  out.commit(path);
}

}  // namespace vkfuse
