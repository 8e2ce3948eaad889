#pragma once
// A model on a device, recorded once per input shape and replayed for every new input.
#include <memory>
#include <string>
#include <vector>

#include "vkfuse/model.hpp"
#include "vkfuse/sequence.hpp"

namespace vkfuse {

class Session {
 public:
  // Uploads the model's weights to the device once (at the first run). The session holds
  // the model (a Model is a shared handle), so a temporary one is safe. With need_weights
  // the runs also return the attention weights the arch defines; with profile,
  // per-dispatch device timings.
  Session(Context& ctx, const Model& model, bool need_weights = false, bool profile = false);
  ~Session();
  Session(Session&&) noexcept;

  // Inputs by name from memory (model-format.md §2 names them per arch): floats as F32,
  // token ids as I64 or I32, masks as U8/BOOL through the raw form. The values are copied
  // once, into the session; they stay set for later runs until replaced or cleared, so a new
  // image can be run with the same question.
  void set_input(const std::string& name, const Shape& shape, const std::vector<float>& values);
  void set_input(const std::string& name, const Shape& shape, const std::vector<int64_t>& values);
  void set_input(const std::string& name, DType dtype, const Shape& shape, const void* data);
  void clear_inputs();

  // The forward pass on the inputs set (or those of a file). The first run for an input
  // shape records the command buffers; later runs with the same shapes only upload the
  // inputs and replay them. Returns the outputs by name, also kept for output().
  HostTensors run();
  HostTensors run(const SafetensorsFile& inputs);
  const HostTensor& output(const std::string& name) const;  // of the last run

  size_t recordings() const;      // how many times a program was recorded
  size_t dispatch_count() const;  // of the current recording
  std::vector<DispatchTiming> timings() const;  // of the last run, with profile

  // Device memory: the weights (uploaded once), the inputs and outputs of the current
  // recording, and its intermediates as planned (shared by lifetime) and as they would be
  // with one buffer each.
  struct Memory {
    uint64_t weights = 0, inputs_outputs = 0, intermediates = 0, intermediates_unshared = 0;
    uint64_t total() const { return weights + inputs_outputs + intermediates; }
  };
  Memory memory() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vkfuse
