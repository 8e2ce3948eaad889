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
  // Uploads the model's weights to the device once. With need_weights the runs also return
  // the attention weights the arch defines; with profile, per-dispatch device timings.
  Session(Context& ctx, const Model& model, bool need_weights = false, bool profile = false);
  ~Session();
  Session(Session&&) noexcept;

  // The forward pass on inputs by name. The first run for an input shape records the command
  // buffers; later runs with the same shapes only upload the inputs and replay them.
  HostTensors run(const SafetensorsFile& inputs);

  size_t recordings() const;      // how many times a program was recorded
  size_t dispatch_count() const;  // of the current recording
  std::vector<DispatchTiming> timings() const;  // of the last run, with profile

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

namespace detail {
// Parsed inputs of one run: named device inputs (F32, or I32 for token ids), the output
// shapes, and a signature of every shape (a new signature means a new recording).
struct Prepared {
  struct Input {
    Shape shape;
    std::vector<float> f32;
    std::vector<int32_t> i32;
  };
  std::map<std::string, Input> inputs;
  std::map<std::string, Shape> outputs;
  std::string signature;
};
Prepared prepare(const Model& m, const SafetensorsFile& in, bool need_weights);
HostTensors run_cpu(const Model& m, const Prepared& p);
}  // namespace detail

}  // namespace vkfuse
