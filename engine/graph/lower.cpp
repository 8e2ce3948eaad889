// The lowering of a plan's steps onto the device: segments, host steps, intermediates by
// lifetime, constants uploaded once (lower.h).
#include "graph/lower.h"

#include <algorithm>
#include <chrono>
#include <climits>

#include "io/message_text.h"
#include "runtime/dispatch.h"
#include "runtime/workspace.h"

namespace vkfuse::detail::graph {

std::string Step::label() const {
  std::string names, ops;
  for (const Node* n : nodes) {
    names += (names.empty() ? "" : "+") + n->name;
    ops += (ops.empty() ? "" : "+") + n->op_type;
  }
  if (nodes.empty() && node) names = node->name, ops = node->op_type;
  return clipped(escaped(names, true), 80) + " (" + clipped(ops, 60) + ")" + (host ? " on the host" : "");
}

namespace {

// A host array as the device holds it: floats, or integers narrowed to int32 (checked).
Tensor upload(Context& ctx, const HostArray& a, const std::string& what) {
  Tensor t = ctx.tensor(a.shape, a.is_float() ? DType::F32 : DType::I32);
  if (a.numel() == 0) return t;
  if (a.is_float()) {
    t.write(a.f.data(), a.f.size() * 4);
  } else {
    const std::vector<int32_t> v = narrow_to_i32(a.i, what);
    t.write(v.data(), v.size() * 4);
  }
  return t;
}

}  // namespace

std::vector<int32_t> narrow_to_i32(const std::vector<int64_t>& v, const std::string& what) {
  std::vector<int32_t> r(v.size());
  for (size_t k = 0; k < v.size(); ++k) {
    if (v[k] < INT32_MIN || v[k] > INT32_MAX)
      throw Error(what + " holds " + std::to_string(v[k]) + " (element " + std::to_string(k) +
                  "), outside the int32 the device computes integers in");
    r[k] = int32_t(v[k]);
  }
  return r;
}

Lowering::Lowering(const Graph& g, const Plan& p, Sequence& first, DeviceConstants& constants, Recording& rec)
    : g_(g), p_(p), ctx_(first.context()), seq_(&first), first_(first), constants_(constants), rec_(rec) {
  values_.resize(g.names.size());
  uses_.assign(g.names.size(), 0);
}

void Lowering::fail(const Step& st, const std::string& what) const {
  throw Error(g_.label + ": " + st.label() + ": " + what);
}

void Lowering::begin(const std::vector<Step>& steps, const std::map<std::string, Tensor>& in,
                     const std::map<std::string, Tensor>& out) {
  for (const Step& st : steps)
    for (ValueId v : st.inputs)
      if (v != kNone) ++uses_[size_t(v)];
  for (const Decl& d : g_.outputs) {
    uses_[size_t(d.id)] += 1 << 24;  // kept to the end
    outputs_[d.id] = out.at(d.name);
  }
  for (const Decl& d : g_.inputs) values_[size_t(d.id)] = in.at(d.name);
  // A graph output that is a reshape of a value computed here (an arch's [B·L, E] rows given
  // back as [B, L, E]): that value is written into the session's tensor, reshaped, and the
  // reshape is a view of it, so no copy is left at the end.
  for (const Step& st : steps) {
    if (st.host || st.inputs.empty() || st.outputs.size() != 1) continue;
    const std::string& t = st.node->op_type;
    if (t != "Reshape" && t != "Flatten" && t != "Squeeze" && t != "Unsqueeze" && t != "Identity") continue;
    auto o = outputs_.find(st.outputs[0]);
    const ValueId x = st.inputs[0];
    if (o == outputs_.end() || x == kNone || outputs_.count(x) || known(x) || values_[size_t(x)].defined()) continue;
    if (shape_numel(info(x).shape) != o->second.numel() || device_dtype(info(x).type) != o->second.dtype()) continue;
    outputs_[x] = o->second.reshape(info(x).shape);
  }
}

Tensor Lowering::fresh(const Shape& shape, DType dtype) {
  Tensor t = workspace_of(first_).take(ctx_, shape).reinterpret(dtype);
  live_[t.storage().get()] = 0;
  step_scratch_.push_back(t);
  return t;
}

void Lowering::hold(const Tensor& t) {
  auto it = live_.find(t.storage().get());
  if (it != live_.end()) ++it->second;
}

void Lowering::drop(ValueId v) {
  Tensor& t = values_[size_t(v)];
  if (!t.defined()) return;
  auto it = live_.find(t.storage().get());
  if (it != live_.end() && --it->second == 0) {
    workspace_of(first_).give_back(it->first);
    live_.erase(it);
  }
  t = Tensor();
}

Tensor Lowering::in(const Step& st, size_t k) {
  if (!has(st, k)) fail(st, "input " + std::to_string(k) + " is absent");
  const ValueId v = st.inputs[k];
  Tensor& t = values_[size_t(v)];
  if (t.defined()) return t;
  const HostArray* a = known(v);
  if (!a) fail(st, "input " + quote(g_.name(v)) + " has not been computed (a bug in vkfuse's ordering)");
  // A constant of the graph is uploaded once for the context; a value folded for this input
  // shape lives as long as the recording.
  const auto c = g_.constants.find(v);
  const std::string what = g_.label + ": value " + quote(g_.name(v));
  if (c != g_.constants.end() && c->second.get() == a) {
    const std::string key = "value:" + g_.name(v);
    auto it = constants_.tensors.find(key);
    if (it == constants_.tensors.end()) it = constants_.tensors.emplace(key, upload(ctx_, *a, what)).first;
    t = it->second;
  } else {
    t = upload(ctx_, *a, what);
  }
  return t;
}

Tensor Lowering::contiguous(const Tensor& t) {
  if (t.contiguous()) return t;
  Tensor c = fresh(t.shape(), t.dtype());
  ops::pointwise(*seq_, ops::Pointwise::Copy, {&t}, c);
  return c;
}

Tensor Lowering::weight_matrix(ValueId v, bool transpose, int64_t row0, int64_t rows) {
  const HostArray* a = known(v);
  if (!a || !a->is_float() || a->shape.size() != 2)
    throw Error(g_.label + ": value " + quote(g_.name(v)) + " is not a constant 2-D float matrix (a bug in vkfuse)");
  const int64_t r = a->shape[0], c = a->shape[1];
  const int64_t total = transpose ? c : r;  // rows of the device matrix
  if (rows < 0) rows = total - row0;
  const std::string key = std::string(transpose ? "matrix^T:" : "matrix:") + g_.name(v) +
                          (rows == total ? std::string() : "#" + std::to_string(row0) + "+" + std::to_string(rows));
  const bool graph_constant = g_.constant(v) == a;
  if (graph_constant) {
    auto it = constants_.tensors.find(key);
    if (it != constants_.tensors.end()) return it->second;
  }
  const int64_t k = transpose ? r : c;
  if (!transpose && rows == total) {  // the value as it is: no host copy
    Tensor m = ctx_.matrix(r, c, a->f, constants_.weight_dtype);
    if (graph_constant) constants_.tensors[key] = m;
    return m;
  }
  std::vector<float> t(static_cast<size_t>(rows * k));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < k; ++j)
      t[size_t(i * k + j)] = transpose ? a->f[size_t(j * c + row0 + i)] : a->f[size_t((row0 + i) * c + j)];
  Tensor m = ctx_.matrix(rows, k, t, constants_.weight_dtype);
  if (graph_constant) constants_.tensors[key] = m;
  return m;
}

int64_t Lowering::weight_rows_per_buffer(int64_t k) const {
  // Context::matrix may pad each row by up to 64 elements; 16-bit weights take half, but F32
  // is the bound that always holds.
  const uint64_t row = uint64_t(k + 64) * 4;
  const uint64_t range = ctx_.caps().max_storage_buffer_range;
  const int64_t n = int64_t(range / std::max<uint64_t>(row, 1));
  return n >= 64 ? n / 64 * 64 : std::max<int64_t>(n, 1);
}

std::string Lowering::node_key(const Step& st) const {
  const Node& n = *st.node;
  return g_.key + "#" + std::to_string(n.index) + ":" + (n.outputs.empty() || n.outputs[0] == kNone ? n.name : g_.name(n.outputs[0]));
}

Tensor Lowering::constant(const std::string& key, const HostArray& a) {
  auto it = constants_.tensors.find(key);
  if (it != constants_.tensors.end() && it->second.shape() == a.shape) return it->second;
  return constants_.tensors[key] = upload(ctx_, a, g_.label + ": " + key);
}

Tensor Lowering::out(const Step& st, size_t k) {
  const ValueId v = st.outputs.at(k);
  const TypeShape& ts = info(v);
  const DType dt = device_dtype(ts.type);
  Tensor t;
  auto o = outputs_.find(v);
  if (o != outputs_.end()) {
    t = o->second;
    if (t.shape() != ts.shape || t.dtype() != dt) fail(st, "the session's output tensor does not match the plan");
  } else {
    const uint64_t bytes = uint64_t(shape_numel(ts.shape)) * 4;
    if (bytes > ctx_.caps().max_storage_buffer_range)
      fail(st, "value " + quote(g_.name(v)) + " of shape " + shape_string(ts.shape) + " needs " + mib(bytes) +
                   ", more than one storage buffer of '" + ctx_.device().name + "' holds (" +
                   mib(ctx_.caps().max_storage_buffer_range) + (ctx_.caps().portable ? ", portable mode" : "") + ")");
    t = fresh(ts.shape, dt);
  }
  values_[size_t(v)] = t;
  hold(t);
  return t;
}

void Lowering::set(const Step& st, size_t k, const Tensor& view) {
  const ValueId v = st.outputs.at(k);
  if (view.shape() != info(v).shape) fail(st, "a view of shape " + shape_string(view.shape()) + " for " + shape_string(info(v).shape));
  values_[size_t(v)] = view;
  hold(view);
}

Tensor Lowering::scratch(const Shape& shape, DType dtype) { return fresh(shape, dtype); }

NodeCtx Lowering::node_ctx(const Step& st) const {
  std::vector<const TypeShape*> in;
  std::vector<const HostArray*> values;
  for (ValueId v : st.node->inputs) {
    in.push_back(v == kNone ? nullptr : &p_.info[size_t(v)]);
    values.push_back(known(v));
  }
  return NodeCtx(g_, *st.node, std::move(in), std::move(values));
}

void Lowering::release_after(const Step& st) {
  for (ValueId v : st.inputs)
    if (v != kNone && --uses_[size_t(v)] == 0) drop(v);
  for (ValueId v : st.outputs)
    if (v != kNone && uses_[size_t(v)] == 0) drop(v);
  // What the step took for itself and no value holds goes back now.
  for (const Tensor& t : step_scratch_) {
    auto it = live_.find(t.storage().get());
    if (it != live_.end() && it->second == 0) {
      workspace_of(first_).give_back(it->first);
      live_.erase(it);
    }
  }
  step_scratch_.clear();
}

void Lowering::lower(const Step& st) {
  set_label_prefix(*seq_, st.label() + " | ");
  try {
    st.op->lower(*this, st);
  } catch (...) {
    set_label_prefix(*seq_, "");
    throw;
  }
  set_label_prefix(*seq_, "");
  release_after(st);
}

void Lowering::host_step(const Step& st) {
  Recording::HostStep h;
  h.step = &st;
  for (size_t k = 0; k < st.inputs.size(); ++k) {
    if (st.inputs[k] == kNone) {
      h.in.emplace_back();
      h.in_ids.push_back(kNone);
      continue;
    }
    Tensor t = contiguous(in(st, k));
    seq_->download(t);
    h.in.push_back(t);
    h.in_ids.push_back(st.inputs[k]);
  }
  SequenceOptions so = options_of(first_);
  rec_.segments.push_back(std::make_unique<Sequence>(ctx_, so));
  seq_ = rec_.segments.back().get();
  for (size_t k = 0; k < st.outputs.size(); ++k) {
    h.out_ids.push_back(st.outputs[k]);
    if (st.outputs[k] == kNone) {
      h.out.emplace_back();
      continue;
    }
    Tensor t = out(st, k);
    seq_->upload(t);
    h.out.push_back(t);
  }
  rec_.host.push_back(std::move(h));
  release_after(st);
}

void Lowering::finish(const std::map<std::string, Tensor>& out) {
  set_label_prefix(*seq_, "outputs | ");
  for (const Decl& d : g_.outputs) {
    const Tensor& dst = out.at(d.name);
    Tensor src = values_[size_t(d.id)];
    if (!src.defined()) {
      const HostArray* a = known(d.id);
      if (!a) throw Error(g_.label + ": output " + quote(d.name) + " was not computed (a bug in vkfuse)");
      src = upload(ctx_, *a, g_.label + ": output " + quote(d.name));  // the copy's binding keeps it
    }
    if (src.storage() == dst.storage() && src.offset() == dst.offset() && src.strides() == dst.strides()) continue;
    ops::pointwise(*seq_, ops::Pointwise::Copy, {&src}, dst);
  }
  set_label_prefix(*seq_, "");
}

std::unique_ptr<Recording> record_graph(const Graph& g, std::shared_ptr<const Plan> plan, Sequence& s,
                                        DeviceConstants& constants, const std::map<std::string, Tensor>& in,
                                        const std::map<std::string, Tensor>& out, const LowerOptions& o) {
  auto rec = std::make_unique<Recording>();
  rec->plan = plan;
  rec->first = &s;
  rec->steps = make_steps(g, *plan, o);
  Lowering l(g, *plan, s, constants, *rec);
  l.begin(rec->steps, in, out);
  for (const Step& st : rec->steps) {
    if (st.host) l.host_step(st);
    else l.lower(st);
  }
  l.finish(out);
  return rec;
}

Recording::~Recording() = default;

void Recording::run(const Graph& g) {
  first->run();
  for (size_t i = 0; i < host.size(); ++i) {
    HostStep& h = host[i];
    const auto t0 = std::chrono::steady_clock::now();
    const Step& st = *h.step;
    std::vector<HostArray> in(h.in.size());
    std::vector<const TypeShape*> types;
    std::vector<const HostArray*> values;
    for (size_t k = 0; k < h.in.size(); ++k) {
      if (h.in_ids[k] == kNone) {
        types.push_back(nullptr);
        values.push_back(nullptr);
        continue;
      }
      const TypeShape& ts = plan->info[size_t(h.in_ids[k])];
      in[k] = make_array(ts.type, ts.shape);
      const size_t n = size_t(shape_numel(ts.shape));
      if (in[k].is_float()) {
        if (n) h.in[k].read_host(in[k].f.data(), n * 4);
      } else {
        std::vector<int32_t> v(n);
        if (n) h.in[k].read_host(v.data(), n * 4);
        in[k].i.assign(v.begin(), v.end());
      }
      types.push_back(&ts);
      values.push_back(&in[k]);
    }
    std::vector<HostArray> out(st.outputs.size());
    st.op->ref(NodeCtx(g, *st.node, types, values), values, out);
    for (size_t k = 0; k < out.size(); ++k) {
      if (h.out_ids[k] == kNone) continue;
      const HostArray& a = out[k];
      const size_t n = size_t(a.numel());
      if (a.is_float()) {
        if (n) h.out[k].write_host(a.f.data(), n * 4);
      } else {
        const std::vector<int32_t> v =
            narrow_to_i32(a.i, g.label + ": " + st.label() + ": output " + quote(g.name(h.out_ids[k])));
        if (n) h.out[k].write_host(v.data(), n * 4);
      }
    }
    h.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    segments[i]->run();
  }
}

size_t Recording::dispatches() const {
  size_t n = first->dispatch_count();
  for (const auto& s : segments) n += s->dispatch_count();
  return n;
}

std::vector<DispatchTiming> Recording::timings() const {
  std::vector<DispatchTiming> t = first->timings();
  for (size_t i = 0; i < host.size(); ++i) {
    t.push_back({host[i].step->label() + " | reference", host[i].ms, true});
    const auto more = segments[i]->timings();
    t.insert(t.end(), more.begin(), more.end());
  }
  return t;
}

}  // namespace vkfuse::detail::graph
