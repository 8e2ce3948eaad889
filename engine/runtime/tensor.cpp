// Tensors: shapes and strides over suballocated storage; synchronous and host-side transfers.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "storage.h"
#include "vkfuse/error.hpp"
#include "vkfuse/half.hpp"
#include "vkfuse/tensor.hpp"

namespace vkfuse {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: case DType::I32: return 4;
    case DType::F16: case DType::BF16: return 2;
    case DType::I64: return 8;
    case DType::U8: case DType::Bool: return 1;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::I32: return "I32";
    case DType::I64: return "I64";
    case DType::U8: return "U8";
    case DType::Bool: return "BOOL";
  }
  return "?";
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) throw Error("shape " + shape_string(s) + " has a negative size");
    if (__builtin_mul_overflow(n, d, &n)) throw Error("shape " + shape_string(s) + " has too many elements");
  }
  return n;
}

std::string shape_string(const Shape& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

Shape contiguous_strides(const Shape& s) {
  Shape st(s.size());
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

namespace detail {

Storage::Storage(std::shared_ptr<ContextImpl> c, VkDeviceSize b) : ctx(std::move(c)), bytes(b) {
  direct = ctx->direct_memory;
  device = ctx->allocator->allocate(bytes, direct ? MemoryKind::Direct : MemoryKind::Device);
}

Storage::~Storage() {
  ctx->allocator->free(device);
  ctx->allocator->free(staging);
}

uint8_t* Storage::host() {
  if (direct) return device.mapped;
  if (!staging.block) staging = ctx->allocator->allocate(bytes, MemoryKind::Staging);
  return staging.mapped;
}

void Storage::record_upload(VkCommandBuffer cb, VkDeviceSize offset, VkDeviceSize size) {
  host();
  VkBufferCopy r{staging.offset + offset, device.offset + offset, size};
  ctx->vk->vkCmdCopyBuffer(cb, staging.buffer, device.buffer, 1, &r);
}

void Storage::record_download(VkCommandBuffer cb, VkDeviceSize offset, VkDeviceSize size) {
  host();
  VkBufferCopy r{device.offset + offset, staging.offset + offset, size};
  ctx->vk->vkCmdCopyBuffer(cb, device.buffer, staging.buffer, 1, &r);
}

}  // namespace detail

int64_t Tensor::dim(int i) const {
  int r = rank();
  if (i < -r || i >= r)
    throw Error("dimension " + std::to_string(i) + " is out of range for " + describe());
  return shape_[static_cast<size_t>(i < 0 ? i + r : i)];
}

// Row-major and dense: the stride of an axis of size 1 is never used, so any value is.
bool Tensor::contiguous() const {
  const Shape want = contiguous_strides(shape_);
  for (size_t d = 0; d < shape_.size(); ++d)
    if (shape_[d] != 1 && strides_[d] != want[d]) return false;
  return true;
}

std::string Tensor::describe() const {
  std::string s = std::string(dtype_name(dtype_)) + shape_string(shape_);
  if (!contiguous()) s += " strides " + shape_string(strides_);
  return s;
}

Tensor Tensor::view(Shape shape, Shape strides, int64_t offset) const {
  if (shape.size() != strides.size())
    throw Error("view: shape " + shape_string(shape) + " and strides " + shape_string(strides) +
                " differ in rank");
  int64_t lo = offset, hi = offset;
  for (int64_t d : shape)
    if (d < 0) throw Error("view: negative size in " + shape_string(shape));
  // An empty view touches no element: only its offset has to make sense.
  const bool empty = std::find(shape.begin(), shape.end(), 0) != shape.end();
  for (size_t i = 0; i < shape.size() && !empty; ++i) {
    int64_t span = 0;
    if (__builtin_mul_overflow(shape[i] - 1, strides[i], &span) ||
        __builtin_add_overflow(span < 0 ? lo : hi, span, span < 0 ? &lo : &hi))
      throw Error("view " + shape_string(shape) + " strides " + shape_string(strides) + " overflows");
  }
  int64_t cap = storage_ ? static_cast<int64_t>(storage_->bytes / dtype_size(dtype_)) : 0;
  if (lo < 0 || (!empty && hi >= cap))
    throw Error("view " + shape_string(shape) + " strides " + shape_string(strides) + " offset " +
                std::to_string(offset) + " reaches outside its storage of " + std::to_string(cap) +
                " elements");
  Tensor t = *this;
  t.shape_ = std::move(shape);
  t.strides_ = std::move(strides);
  t.offset_ = offset;
  return t;
}

Tensor Tensor::reshape(Shape shape) const {
  if (!contiguous()) throw Error("reshape of a non-contiguous tensor " + describe());
  if (shape_numel(shape) != numel())
    throw Error("reshape " + describe() + " to " + shape_string(shape) + ": element counts differ");
  Shape st = contiguous_strides(shape);
  return view(std::move(shape), std::move(st), offset_);
}

Tensor Tensor::permute(const std::vector<int>& perm) const {
  if (perm.size() != shape_.size()) throw Error("permute: wrong number of axes for " + describe());
  Shape s(perm.size()), st(perm.size());
  std::vector<bool> seen(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    if (perm[i] < 0 || perm[i] >= rank() || seen[perm[i]]) throw Error("permute: bad axis list");
    seen[perm[i]] = true;
    s[i] = shape_[perm[i]];
    st[i] = strides_[perm[i]];
  }
  return view(std::move(s), std::move(st), offset_);
}

Tensor Tensor::reinterpret(DType dtype) const {
  if (dtype_size(dtype) != dtype_size(dtype_))
    throw Error(std::string("reinterpret ") + describe() + " as " + dtype_name(dtype) + ": element sizes differ");
  Tensor t = *this;
  t.dtype_ = dtype;
  return t;
}

namespace {
void check_transfer(const Tensor& t, size_t bytes, const char* what) {
  if (!t.defined()) throw Error(std::string(what) + ": the tensor is empty");
  if (!t.contiguous()) throw Error(std::string(what) + ": " + t.describe() + " is not contiguous");
  size_t want = static_cast<size_t>(t.numel()) * dtype_size(t.dtype());
  if (bytes != want)
    throw Error(std::string(what) + ": " + t.describe() + " holds " + std::to_string(want) +
                " bytes, given " + std::to_string(bytes));
}
}  // namespace

void Tensor::write_host(const void* data, size_t bytes) {
  check_transfer(*this, bytes, "write_host");
  if (bytes) std::memcpy(storage_->host() + offset_ * dtype_size(dtype_), data, bytes);
}

void Tensor::read_host(void* data, size_t bytes) const {
  check_transfer(*this, bytes, "read_host");
  if (bytes) std::memcpy(data, storage_->host() + offset_ * dtype_size(dtype_), bytes);
}

void Tensor::write(const void* data, size_t bytes) {
  write_host(data, bytes);
  if (storage_->direct) return;
  VkDeviceSize off = static_cast<VkDeviceSize>(offset_) * dtype_size(dtype_);
  storage_->ctx->one_shot([&](VkCommandBuffer cb) { storage_->record_upload(cb, off, bytes); });
}

void Tensor::read(void* data, size_t bytes) const {
  check_transfer(*this, bytes, "read");
  if (!storage_->direct) {
    VkDeviceSize off = static_cast<VkDeviceSize>(offset_) * dtype_size(dtype_);
    storage_->ctx->one_shot([&](VkCommandBuffer cb) { storage_->record_download(cb, off, bytes); });
  }
  read_host(data, bytes);
}

std::vector<float> Tensor::read() const {
  if (dtype_ != DType::F32) throw Error("read(): " + describe() + " is not F32");
  std::vector<float> v(static_cast<size_t>(numel()));
  read(v.data(), v.size() * sizeof(float));
  return v;
}

Tensor Context::tensor(const Shape& shape, DType dtype) {
  for (int64_t d : shape)
    if (d < 0) throw Error("tensor shape " + shape_string(shape) + " has a negative size");
  uint64_t bytes = static_cast<uint64_t>(shape_numel(shape)) * dtype_size(dtype);
  if (bytes > impl_->caps.max_storage_buffer_range)
    throw Error("tensor " + std::string(dtype_name(dtype)) + shape_string(shape) + " needs " +
                std::to_string(bytes) + " bytes, more than the device's storage buffer range of " +
                std::to_string(impl_->caps.max_storage_buffer_range) + " bytes");
  Tensor t;
  t.storage_ = std::make_shared<detail::Storage>(impl_, bytes);
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  return t;
}

Tensor Context::tensor(const Shape& shape, const std::vector<float>& data) {
  Tensor t = tensor(shape, DType::F32);
  t.write(data);
  return t;
}

// lavapipe: with rows 1024·4 bytes apart, the 64 rows of B a vector reads at one step of K
// share one L1 set and its 8 ways (197x768x3072 B^T: 21 -> 39 GFLOP/s with 4 floats more).
Tensor Context::matrix(int64_t rows, int64_t cols, const std::vector<float>& data, DType stored) {
  if (rows < 0 || cols < 0 || static_cast<int64_t>(data.size()) != rows * cols)
    throw Error("matrix: " + std::to_string(data.size()) + " values for [" + std::to_string(rows) + ", " +
                std::to_string(cols) + "]");
  if (stored != DType::F32 && stored != DType::F16 && stored != DType::BF16)
    throw Error(std::string("matrix: ") + dtype_name(stored) + " is not a weight dtype (F32, F16 or BF16)");
  const int64_t pad = impl_->tuning.matmul.pad_rows;
  const int64_t ld = pad == 0 || cols % 64 != 0 || rows < 2 ? cols : cols + pad;
  Tensor t = tensor({rows, ld}, stored);
  if (stored == DType::F32 && ld == cols) {
    t.write(data);  // no padding: the values as given, no host copy
  } else if (stored == DType::F32) {
    std::vector<float> padded(static_cast<size_t>(rows * ld), 0.f);
    for (int64_t r = 0; r < rows; ++r)
      std::copy(data.begin() + r * cols, data.begin() + (r + 1) * cols, padded.begin() + r * ld);
    t.write(padded.data(), padded.size() * sizeof(float));
  } else {
    std::vector<uint16_t> words(static_cast<size_t>(rows * ld), 0);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        words[static_cast<size_t>(r * ld + c)] = float_to_16bit(data[static_cast<size_t>(r * cols + c)], stored);
    t.write(words.data(), words.size() * sizeof(uint16_t));
  }
  return ld == cols ? t : t.view({rows, cols}, {ld, 1}, 0);
}

}  // namespace vkfuse
