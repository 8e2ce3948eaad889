#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vkfuse {

enum class DType { F32, F16, BF16, I32, I64, U8, Bool };
size_t dtype_size(DType t);
const char* dtype_name(DType t);

using Shape = std::vector<int64_t>;
int64_t shape_numel(const Shape& s);
std::string shape_string(const Shape& s);
Shape contiguous_strides(const Shape& s);

namespace detail { struct Storage; }

// A view of device memory: shape, strides (in elements), an element offset and a dtype.
// Views share storage; the storage lives as long as any view of it.
class Tensor {
 public:
  Tensor() = default;
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int64_t dim(int i) const;  // negative counts from the end
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return shape_numel(shape_); }
  int64_t offset() const { return offset_; }
  DType dtype() const { return dtype_; }
  bool contiguous() const;
  bool defined() const { return storage_ != nullptr; }
  std::string describe() const;  // "f32[2,3] strides [3,1]"

  // Aliasing views (no copy).
  Tensor view(Shape shape, Shape strides, int64_t offset) const;
  Tensor reshape(Shape shape) const;           // contiguous tensors only
  Tensor permute(const std::vector<int>& perm) const;
  // The same elements as another dtype of the same size (F32 <-> I32 words), no copy.
  Tensor reinterpret(DType dtype) const;

  // Synchronous transfers: on the device (or back) when they return. Contiguous only.
  void write(const void* data, size_t bytes);
  void write(const std::vector<float>& v) { write(v.data(), v.size() * sizeof(float)); }
  void read(void* data, size_t bytes) const;
  std::vector<float> read() const;

  // The host side of a tensor, for recorded sequences: write_host() before Sequence::run()
  // with the tensor uploaded by Sequence::upload(); read_host() after a run that downloaded it.
  void write_host(const void* data, size_t bytes);
  void read_host(void* data, size_t bytes) const;

  const std::shared_ptr<detail::Storage>& storage() const { return storage_; }

 private:
  friend class Context;
  std::shared_ptr<detail::Storage> storage_;
  Shape shape_, strides_;
  int64_t offset_ = 0;
  DType dtype_ = DType::F32;
};

}  // namespace vkfuse
