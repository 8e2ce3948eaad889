#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vkfuse/context.hpp"

namespace vkfuse {

namespace detail { struct SequenceImpl; struct Dispatch; }

struct SequenceOptions {
  bool timestamps = false;       // a timestamp pair around every dispatch
  // A long sequence is split into several submits so that no single one can trip a
  // driver watchdog; 0 keeps everything in one submit.
  uint32_t max_dispatches_per_submit = 256;
};

struct DispatchTiming {
  std::string label;
  double ms = 0;
  bool host = false;  // a graph's host step (its CPU reference), timed by the host clock
};

// A list of transfers and dispatches, recorded into command buffers once (with a barrier
// only where one dispatch reads or overwrites what an earlier one wrote, or overwrites
// what it read) and replayed by every run().
class Sequence {
 public:
  explicit Sequence(Context& ctx, const SequenceOptions& options = {});
  ~Sequence();
  Sequence(Sequence&&) noexcept;
  Sequence& operator=(Sequence&&) noexcept;

  // Host side -> device and back, at this point of every run. On devices whose device memory
  // the host sees directly there is nothing to copy: uploads take effect before the run and
  // downloads after it, so run() refuses an upload after a dispatch used the tensor and a
  // dispatch that writes a tensor after its download.
  void upload(const Tensor& t);
  void download(const Tensor& t);

  // Records on the first call, replays afterwards; waits for the device.
  void run();

  size_t dispatch_count() const;
  size_t barrier_count() const;  // valid after the first run
  size_t submit_count() const;   // valid after the first run
  // Device bytes of the intermediates the recorded modules use, shared by lifetime (the
  // memory plan), and what one buffer per intermediate would take.
  uint64_t intermediate_bytes() const;
  uint64_t intermediate_bytes_unshared() const;
  std::vector<DispatchTiming> timings() const;  // of the last run; needs timestamps
  double total_device_ms() const;               // sum of timings()

  Context& context();
  detail::SequenceImpl& impl() { return *impl_; }

 private:
  std::unique_ptr<detail::SequenceImpl> impl_;
};

}  // namespace vkfuse
