// Sessions: a model's inputs prepared by its arch, the arch's program recorded once per input
// shape and replayed per input, outputs read back by name.
#include "vkfuse/session.hpp"

#include <cstdio>

#include "io/convert.h"
#include "io/message_text.h"
#include "models/model_state.h"
#include "vkfuse/error.hpp"

namespace vkfuse {

namespace {

using detail::mib;

// A device tensor of `shape` (F32 or I32: 4 bytes an element) fits one storage buffer; checked
// against the shapes before anything is allocated or converted.
void check_fits(const Context& ctx, const std::string& what, const Shape& shape) {
  const auto bytes = detail::byte_count(shape, DType::F32);
  const uint64_t range = ctx.caps().max_storage_buffer_range;
  if (!bytes || *bytes > range)
    throw Error(what + " " + shape_string(shape) + " needs " + (bytes ? mib(*bytes) : std::string("over 2^64 bytes")) +
                " on the device, more than one storage buffer of '" + ctx.device().name + "' can hold (" + mib(range) +
                (ctx.caps().portable ? ", portable mode" : "") + ")");
}

std::string shapes_of(const detail::InputSet& in) {
  std::string s;
  for (const auto& name : in.names()) s += (s.empty() ? "" : ", ") + name + " " + shape_string(in.at(name).shape);
  return s;
}

}  // namespace

struct Session::Impl {
  Context ctx;
  Model model;  // holds the weights and the arch for as long as the session lives
  bool need_weights, profile;
  // The model's graph recorded: each weight uploaded once, as the first recording lowers it.
  std::unique_ptr<detail::GraphProgram> graph;
  // The current recording: its input and output tensors and the shapes it was made for.
  std::unique_ptr<Sequence> seq;
  detail::DeviceTensors in, out;
  std::string signature;
  size_t recordings = 0;
  // Inputs set by name (the caller's bytes, copied once), and the outputs of the last run.
  struct Pending {
    DType dtype;
    Shape shape;
    std::vector<uint8_t> bytes;
  };
  std::map<std::string, Pending> pending;
  HostTensors last;
  uint64_t io_bytes = 0;

  Impl(Context& c, const Model& m, bool nw, bool prof) : ctx(c), model(m), need_weights(nw), profile(prof) {}

  void record(const detail::Prepared& p) {
    // Forget the old recording first: if this one fails, the next run records again rather
    // than replaying something half made.
    seq.reset();
    signature.clear();
    in.clear();
    out.clear();
    SequenceOptions so;
    so.timestamps = profile && ctx.caps().timestamps;
    seq = std::make_unique<Sequence>(ctx, so);
    // Every weight (from the header's shapes, before one byte is converted or uploaded),
    // input and output against the device's limits, before anything is allocated.
    if (!graph)
      for (const auto& [name, shape] : model.state().arch->tensors())
        check_fits(ctx, model.path() + ": tensor '" + name + "'", shape);
    for (const auto& [name, x] : p.inputs) check_fits(ctx, "input '" + name + "'", x.shape);
    for (const auto& [name, o] : p.outputs) check_fits(ctx, "output '" + name + "'", o.device);
    for (const auto& [name, x] : p.inputs) {
      in[name] = ctx.tensor(x.shape, x.dtype);
      seq->upload(in[name]);
    }
    for (const auto& [name, o] : p.outputs) out[name] = ctx.tensor(o.device, o.dtype == DType::F32 ? DType::F32 : DType::I32);
    if (!graph) graph = std::make_unique<detail::GraphProgram>(model.weight_dtype());
    graph->record(*seq, detail::graph_of(model, p), in, out);
    Sequence& done = graph->output_sequence();
    for (const auto& [name, t] : out) done.download(t);
    io_bytes = 0;
    for (const auto* m : {&in, &out})
      for (const auto& [name, t] : *m) io_bytes += uint64_t(t.numel()) * dtype_size(t.dtype());
    signature = p.signature();
    ++recordings;
  }

  HostTensors run(const detail::InputSet& inputs) {
    const detail::Prepared p = model.state().arch->prepare(inputs, need_weights);
    if (p.outputs_empty()) {  // as PyTorch gives
      last.clear();
      for (const auto& [name, o] : p.outputs) last[name] = {o.shape, {}};
      return last;
    }
    if (!seq || p.signature() != signature) {
      try {
        record(p);
      } catch (const Error& e) {
        throw Error("running " + model.path() + " (arch " + model.arch() + ") on " + inputs.label() + " (" +
                    shapes_of(inputs) + "): " + e.what());
      }
    }
    for (const auto& [name, x] : p.inputs) in.at(name).write_host(x.data(), x.bytes());
    graph->run();
    HostTensors result;
    for (const auto& [name, o] : p.outputs) {
      HostTensor& h = result[name];
      h.shape = o.shape;
      h.dtype = o.dtype;
      const size_t n = static_cast<size_t>(shape_numel(o.shape));
      if (o.dtype == DType::F32) {
        h.data.resize(n);
        if (n) out.at(name).read_host(h.data.data(), n * sizeof(float));
      } else {
        std::vector<int32_t> v(n);
        if (n) out.at(name).read_host(v.data(), n * sizeof(int32_t));
        h.ints.assign(v.begin(), v.end());
      }
    }
    last = result;
    return result;
  }
};

Session::Session(Context& ctx, const Model& model, bool need_weights, bool profile)
    : impl_(std::make_unique<Impl>(ctx, model, need_weights, profile)) {}
Session::~Session() = default;
Session::Session(Session&&) noexcept = default;

void Session::set_input(const std::string& name, DType dtype, const Shape& shape, const void* data) {
  const auto bytes = detail::byte_count(shape, dtype);
  if (!bytes) throw Error("input '" + name + "': shape " + shape_string(shape) + " is negative or too large");
  if (*bytes && !data) throw Error("input '" + name + "': no data");
  const auto* p = static_cast<const uint8_t*>(data);
  impl_->pending[name] = {dtype, shape, std::vector<uint8_t>(p, p + *bytes)};
}

void Session::set_input(const std::string& name, const Shape& shape, const std::vector<float>& values) {
  if (static_cast<int64_t>(values.size()) != shape_numel(shape))
    throw Error("input '" + name + "': shape " + shape_string(shape) + " needs " + std::to_string(shape_numel(shape)) +
                " values, got " + std::to_string(values.size()));
  set_input(name, DType::F32, shape, values.data());
}

void Session::set_input(const std::string& name, const Shape& shape, const std::vector<int64_t>& values) {
  if (static_cast<int64_t>(values.size()) != shape_numel(shape))
    throw Error("input '" + name + "': shape " + shape_string(shape) + " needs " + std::to_string(shape_numel(shape)) +
                " values, got " + std::to_string(values.size()));
  set_input(name, DType::I64, shape, values.data());
}

void Session::clear_inputs() { impl_->pending.clear(); }

HostTensors Session::run() {
  detail::InputSet in("session inputs");
  for (const auto& [name, x] : impl_->pending) in.add(name, {x.dtype, x.shape, x.bytes.data()});
  return impl_->run(in);
}

HostTensors Session::run(const SafetensorsFile& inputs) { return impl_->run(detail::InputSet::of(inputs)); }

const HostTensor& Session::output(const std::string& name) const {
  auto it = impl_->last.find(name);
  if (it != impl_->last.end()) return it->second;
  std::string list;
  for (const auto& [n, t] : impl_->last) list += (list.empty() ? "" : ", ") + n;
  throw Error("output '" + name + "' is not one of the last run's outputs" +
              (list.empty() ? std::string(" (nothing has run yet)") : " (" + list + ")"));
}

Session::Memory Session::memory() const {
  Memory m;
  m.weights = impl_->graph ? impl_->graph->weight_bytes() : 0;
  if (impl_->seq) {
    m.inputs_outputs = impl_->io_bytes;
    m.intermediates = impl_->seq->intermediate_bytes();
    m.intermediates_unshared = impl_->seq->intermediate_bytes_unshared();
  }
  return m;
}

size_t Session::recordings() const { return impl_->recordings; }
size_t Session::dispatch_count() const {
  if (!impl_->seq) return 0;
  return impl_->graph->dispatch_count();
}
std::vector<DispatchTiming> Session::timings() const {
  if (!impl_->seq) return {};
  return impl_->graph->timings();
}

}  // namespace vkfuse
