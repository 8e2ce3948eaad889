#pragma once
#include <functional>
#include <memory>
#include <string>

#include "vkfuse/device.hpp"
#include "vkfuse/tensor.hpp"
#include "vkfuse/tuning.hpp"

namespace vkfuse {

namespace detail { struct ContextImpl; }

enum class MessageSeverity { Info, Warning, Error };

struct Options {
  // Device index or a part of its name; empty: VKFUSE_DEVICE, else the best device.
  std::string device;
  // Khronos validation layer (with synchronization validation); also VKFUSE_VALIDATION=1.
  bool validation = false;
  // Receives validation messages; without one, warnings and errors go to stderr.
  std::function<void(MessageSeverity, const std::string&)> on_message;
  // Cap capabilities to phone-class values; also VKFUSE_PORTABLE=1.
  bool portable = false;
  // Keep every tensor in device-local memory behind a staging buffer even where
  // device-local memory is host-visible (tests the discrete-GPU path on any device).
  bool force_staging = false;
  // Directory of the pipeline cache file; empty: $VKFUSE_CACHE_DIR, $XDG_CACHE_HOME/vkfuse
  // or ~/.cache/vkfuse; "none" disables the file.
  std::string pipeline_cache_dir;
};

// One device, its queue, memory, pipelines and tuning. Cheap to share by copy.
class Context {
 public:
  explicit Context(const Options& options = {});
  ~Context();

  const DeviceInfo& device() const;
  const Capabilities& caps() const;  // as capped by portable mode
  Tuning& tuning();                  // affects pipelines created afterwards
  const Tuning& tuning() const;

  Tensor tensor(const Shape& shape, DType dtype = DType::F32);
  Tensor tensor(const Shape& shape, const std::vector<float>& data);
  // A constant matrix [rows, cols] that matmul reads as B (a layer's weight, trans_b), laid
  // out as this device's kernels read it best: where Tuning::Matmul::pad_rows is set and rows
  // are a multiple of 64 elements, rows start pad_rows elements further apart (so the same
  // column of rows 4 KiB apart does not fall in one cache set). A [rows, cols] view with a row
  // stride. Stored as `stored`: F32, or F16 or BF16 (rounded to nearest even; half the memory,
  // widened to fp32 by matmul as it reads them; only matmul's B takes 16-bit tensors).
  Tensor matrix(int64_t rows, int64_t cols, const std::vector<float>& data, DType stored);
  Tensor matrix(int64_t rows, int64_t cols, const std::vector<float>& data) {
    return matrix(rows, cols, data, weight_dtype());
  }
  // The dtype matrix() stores in where none is given: F32 unless set. A Session sets it to its
  // model file's 16-bit dtype while it uploads the weights (docs/TUNING.md, "16-bit weights").
  DType weight_dtype() const;
  void set_weight_dtype(DType d);  // F32, F16 or BF16

  // Bytes held in device memory blocks, and the largest amount ever held.
  uint64_t memory_in_use() const;
  uint64_t memory_reserved() const;
  uint64_t memory_peak() const;  // the most bytes in use at once since the last reset
  void reset_memory_peak();      // the peak restarts from what is in use now

  // Writes the pipeline cache file now (also done when the last Context copy goes).
  void save_pipeline_cache();

  const std::shared_ptr<detail::ContextImpl>& impl() const { return impl_; }

 private:
  std::shared_ptr<detail::ContextImpl> impl_;
};

}  // namespace vkfuse
