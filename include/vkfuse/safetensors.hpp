#pragma once
// safetensors files (docs: the model-format contract, section 1): 8 bytes little-endian
// header length N, N bytes of UTF-8 JSON header, then the raw little-endian tensor data.
// Reading is strict: any malformed file is one vkfuse::Error naming the file, the tensor and
// the fault, raised by open() before any tensor is handed out.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "vkfuse/half.hpp"
#include "vkfuse/tensor.hpp"

namespace vkfuse {

// One tensor handed to write_safetensors() or SafetensorsFile::from_tensors():
// numel(shape) * dtype_size(dtype) bytes at data, little-endian, not owned (they must outlive
// the call).
struct TensorBytes {
  DType dtype;
  Shape shape;
  const void* data;
};

// A set of named tensors: a safetensors file mapped from disk, or tensors built in memory
// (from_tensors) that every reader of inputs treats exactly like a file.
class SafetensorsFile {
 public:
  struct TensorInfo {
    std::string name;
    DType dtype;
    Shape shape;
    size_t offset;        // of the first byte, relative to the data section
    size_t bytes;         // numel * dtype_size, as validated
    const uint8_t* data;  // into the mapping; not aligned in general (memcpy, don't cast)
  };

  // Maps the file read-only and validates the whole header; tensor data stays on disk until
  // it is touched, so a large file is never held twice.
  static SafetensorsFile open(const std::string& path);
  // The same checks on a file's bytes in memory (an asset bundled with an app, a fuzzer's
  // input); the bytes are copied, so they need not outlive the call. `label` stands for the
  // path in error messages.
  static SafetensorsFile parse(const std::string& label, const void* bytes, size_t size);
  // Copies the tensors into memory, checked as open() checks a file (names unique, sizes
  // that fit); `label` stands for the path in error messages.
  static SafetensorsFile from_tensors(const std::string& label,
                                      const std::vector<std::pair<std::string, TensorBytes>>& tensors,
                                      const std::map<std::string, std::string>& metadata = {});

  SafetensorsFile(SafetensorsFile&& o) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&& o) noexcept;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;
  ~SafetensorsFile();

  const std::string& path() const { return path_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  std::vector<std::string> names() const;  // in data-section order (the order written)
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  const TensorInfo& tensor(const std::string& name) const;  // Error if absent

  // The mapped pages read so far are given back to the OS (they are read from the file again
  // if touched): for a model whose weights were copied out, so they are not resident twice.
  void release_pages() const;

  // Copies out with conversion. Each is an Error for a tensor of any other dtype.
  std::vector<float> to_f32(const std::string& name) const;      // F32, F16, BF16
  std::vector<int64_t> to_i64(const std::string& name) const;    // I64, I32
  std::vector<uint8_t> to_mask(const std::string& name) const;   // BOOL (0/1 only), U8

 private:
  SafetensorsFile() = default;
  std::string where(const std::string& name) const;  // "path: tensor 'name'"
  void validate(const uint8_t* bytes, size_t size);   // the header and the data section

  std::string path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  std::vector<uint8_t> owned_;  // the bytes of parse() and from_tensors()
  std::map<std::string, std::string> metadata_;
  std::vector<TensorInfo> tensors_;  // sorted by offset
  std::map<std::string, size_t> index_;
};

// An F32 TensorBytes over values; Error unless values.size() == numel(shape).
TensorBytes f32_bytes(const Shape& shape, const std::vector<float>& values);

// Writes the tensors in the given order after a header padded with spaces to a multiple of
// 8 bytes (as the reference implementation does, so every tensor is 8-byte aligned in the
// file when the ones before it are). Writes a temporary file beside path and renames it
// over path, so a reader never sees a half-written file.
void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, TensorBytes>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace vkfuse
