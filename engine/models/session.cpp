// Sessions: inputs of each arch parsed and checked into named device inputs, the model
// recorded once per input shape, replayed per input; and the same inputs on the CPU reference.
#include "vkfuse/session.hpp"

#include <algorithm>

#include "vkfuse/error.hpp"
#include "vkfuse/fusion.hpp"

namespace vkfuse {
namespace detail {

namespace {

using In = Prepared::Input;

// Each input name is one the arch knows.
void only_inputs(const SafetensorsFile& in, const std::vector<std::string>& known, const std::string& arch) {
  for (const auto& name : in.names())
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      throw Error(in.path() + ": input '" + name + "' is not an input of arch " + arch + " (" + list + ")");
    }
}

// A float input of rank 2 or 3 ([rows, features] means B = 1) as [B, rows, features].
In float_input(const SafetensorsFile& in, const std::string& name, int rank, const char* like) {
  if (!in.contains(name)) throw Error(in.path() + ": input '" + name + "' is missing");
  const auto& t = in.tensor(name);
  if (static_cast<int>(t.shape.size()) != rank)
    throw Error(in.path() + ": input '" + name + "' has shape " + shape_string(t.shape) + "; expected rank " +
                std::to_string(rank) + " like '" + like + "'");
  In x;
  x.shape = rank == 3 ? t.shape : Shape{1, t.shape[0], t.shape[1]};
  x.f32 = in.to_f32(name);
  return x;
}

int input_rank(const SafetensorsFile& in, const std::string& name, const char* what) {
  if (!in.contains(name)) throw Error(in.path() + ": input '" + name + "' is missing");
  const auto& s = in.tensor(name).shape;
  if (s.size() != 2 && s.size() != 3)
    throw Error(in.path() + ": input '" + name + "' has shape " + shape_string(s) + "; expected " + what);
  return static_cast<int>(s.size());
}

void features(const SafetensorsFile& in, const In& x, const std::string& name, int64_t want, const char* what) {
  if (x.shape[2] != want)
    throw Error(in.path() + ": input '" + name + "' has " + std::to_string(x.shape[2]) + " features, the model's " +
                what + " is " + std::to_string(want));
}

// An optional mask input as an additive F32 mask: BOOL/U8, nonzero = masked, or (where
// `additive` allows) F32 added to the scores. Stored under `as` when present.
void mask_input(Prepared& p, const SafetensorsFile& in, const std::string& name, const std::string& as, const Shape& want,
                bool additive, const Shape& device_shape) {
  if (!in.contains(name)) return;
  const auto& t = in.tensor(name);
  const bool flags = t.dtype == DType::Bool || t.dtype == DType::U8;
  if (!flags && !(additive && t.dtype == DType::F32))
    throw Error(in.path() + ": input '" + name + "' is " + dtype_name(t.dtype) + "; it must be BOOL or U8" +
                (additive ? " (masked where nonzero) or F32 (added to the scores)" : " (masked where nonzero)"));
  if (t.shape != want)
    throw Error(in.path() + ": input '" + name + "' has shape " + shape_string(t.shape) + ", expected " +
                shape_string(want));
  p.inputs[as] = {device_shape, flags ? additive_mask(in.to_mask(name)) : in.to_f32(name), {}};
}

Prepared prepare_attention(const Model& m, const SafetensorsFile& in, bool need_weights) {
  const auto& c = m.attention_config();
  only_inputs(in, {"query", "key", "value", "key_padding_mask", "attn_mask"}, "multihead_attention");
  const int rank = input_rank(in, "query", "[B, L, E] or [L, E]");
  Prepared p;
  In q = float_input(in, "query", rank, "query"), k = float_input(in, "key", rank, "query"),
     v = float_input(in, "value", rank, "query");
  const int64_t b = q.shape[0], l = q.shape[1], s = k.shape[1];
  features(in, q, "query", c.embed_dim, "embed_dim");
  if (k.shape[0] != b || v.shape[0] != b) throw Error(in.path() + ": inputs 'query', 'key' and 'value' differ in batch size");
  features(in, k, "key", c.k_dim(), "kdim");
  features(in, v, "value", c.v_dim(), "vdim");
  if (v.shape[1] != s)
    throw Error(in.path() + ": key length mismatch: 'key' has " + std::to_string(s) + " rows, 'value' " +
                std::to_string(v.shape[1]));
  p.inputs["query"] = std::move(q);
  p.inputs["key"] = std::move(k);
  p.inputs["value"] = std::move(v);
  mask_input(p, in, "key_padding_mask", "key_pad", rank == 3 ? Shape{b, s} : Shape{s}, false, {b, s});
  mask_input(p, in, "attn_mask", "attn_mask", {l, s}, true, {l, s});
  p.outputs["output"] = rank == 3 ? Shape{b, l, c.embed_dim} : Shape{l, c.embed_dim};
  if (need_weights) p.outputs["attn_weights"] = rank == 3 ? Shape{b, l, s} : Shape{l, s};
  return p;
}

Prepared prepare_encoder(const Model& m, const SafetensorsFile& in) {
  const auto& c = m.transformer_config();
  only_inputs(in, {"src", "src_key_padding_mask", "mask"}, "transformer_encoder");
  const int rank = input_rank(in, "src", "[B, L, d_model] or [L, d_model]");
  Prepared p;
  In x = float_input(in, "src", rank, "src");
  features(in, x, "src", c.d_model, "d_model");
  const int64_t b = x.shape[0], l = x.shape[1];
  p.inputs["src"] = std::move(x);
  mask_input(p, in, "src_key_padding_mask", "key_pad", rank == 3 ? Shape{b, l} : Shape{l}, false, {b, l});
  mask_input(p, in, "mask", "attn_mask", {l, l}, true, {l, l});
  p.outputs["output"] = in.tensor("src").shape;
  return p;
}

Prepared prepare_decoder(const Model& m, const SafetensorsFile& in, bool need_weights) {
  const auto& c = m.transformer_config();
  only_inputs(in, {"tgt", "memory", "tgt_key_padding_mask", "memory_key_padding_mask", "tgt_mask", "memory_mask"},
              "transformer_decoder");
  const int rank = input_rank(in, "tgt", "[B, L, d_model] or [L, d_model]");
  Prepared p;
  In t = float_input(in, "tgt", rank, "tgt"), mem = float_input(in, "memory", rank, "tgt");
  features(in, t, "tgt", c.d_model, "d_model");
  features(in, mem, "memory", c.d_model, "d_model");
  if (mem.shape[0] != t.shape[0]) throw Error(in.path() + ": inputs 'tgt' and 'memory' differ in batch size");
  const int64_t b = t.shape[0], l = t.shape[1], s = mem.shape[1];
  p.inputs["tgt"] = std::move(t);
  p.inputs["memory"] = std::move(mem);
  auto pad = [&](int64_t n) { return rank == 3 ? Shape{b, n} : Shape{n}; };
  mask_input(p, in, "tgt_key_padding_mask", "tgt_pad", pad(l), false, {b, l});
  mask_input(p, in, "memory_key_padding_mask", "mem_pad", pad(s), false, {b, s});
  mask_input(p, in, "tgt_mask", "tgt_mask", {l, l}, true, {l, l});
  mask_input(p, in, "memory_mask", "mem_mask", {l, s}, true, {l, s});
  p.outputs["output"] = in.tensor("tgt").shape;
  if (need_weights && c.num_layers == 0)
    throw Error(m.path() + ": cross_attn_weights were asked for, but the decoder has no layers");
  if (need_weights) p.outputs["cross_attn_weights"] = rank == 3 ? Shape{b, l, s} : Shape{l, s};
  return p;
}

Prepared prepare_fusion(const Model& m, const SafetensorsFile& in, bool need_weights) {
  const auto& c = m.fusion_config();
  const std::string& path = in.path();
  only_inputs(in, {"image", "input_ids", "attention_mask"}, "vision_text_fusion");
  for (const char* name : {"image", "input_ids"})
    if (!in.contains(name)) throw Error(path + ": input '" + name + "' is missing");
  const auto& img = in.tensor("image");
  if (img.shape.size() != 4 || img.shape[1] != c.in_channels || img.shape[2] != c.image_size ||
      img.shape[3] != c.image_size)
    throw Error(path + ": input 'image' has shape " + shape_string(img.shape) + ", expected [B, " +
                std::to_string(c.in_channels) + ", " + std::to_string(c.image_size) + ", " +
                std::to_string(c.image_size) + "]");
  const int64_t b = img.shape[0];
  const auto& ids = in.tensor("input_ids");
  if (ids.shape.size() != 2 || ids.shape[0] != b)
    throw Error(path + ": input 'input_ids' has shape " + shape_string(ids.shape) + ", expected [" + std::to_string(b) +
                ", T]");
  const int64_t t = ids.shape[1], nv = c.image_tokens();
  if (t < 1 || t > c.max_text_len)
    throw Error(path + ": input 'input_ids' has " + std::to_string(t) + " tokens; the model takes 1 to " +
                std::to_string(c.max_text_len));
  std::vector<uint8_t> am;
  if (in.contains("attention_mask")) {
    const auto& a = in.tensor("attention_mask");
    if (a.shape != ids.shape)
      throw Error(path + ": input 'attention_mask' has shape " + shape_string(a.shape) + ", expected " +
                  shape_string(ids.shape));
    if (a.dtype == DType::I64 || a.dtype == DType::I32)
      for (int64_t v : in.to_i64("attention_mask")) am.push_back(v != 0);
    else
      am = in.to_mask("attention_mask");
  }
  FusionBatch batch;
  try {
    batch = FusionBatch::make(c, in.to_f32("image"), b, in.to_i64("input_ids"), t, am.empty() ? nullptr : &am);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  Prepared p;
  p.inputs["image"] = {img.shape, batch.image, {}};
  p.inputs["ids"] = {{b, t}, {}, batch.ids};
  p.inputs["text_pad"] = {{b, t}, batch.text_pad(), {}};
  p.inputs["joint_pad"] = {{b, t + nv}, batch.joint_pad(c), {}};
  p.inputs["pool_text"] = {{b, 1, t}, batch.pool_text(c), {}};
  p.inputs["pool_image"] = {{1, 1, nv}, batch.pool_image(c), {}};
  p.outputs["logits"] = {b, c.num_outputs};
  p.outputs["probs"] = {b, c.num_outputs};
  if (need_weights && c.fusion_layers == 0)
    throw Error(m.path() + ": cross_attn_weights were asked for, but the model has no fusion layers");
  if (need_weights) p.outputs["cross_attn_weights"] = {b, t, nv};
  return p;
}

const float* opt(const Prepared& p, const char* name) {
  auto it = p.inputs.find(name);
  return it == p.inputs.end() ? nullptr : it->second.f32.data();
}

}  // namespace

Prepared prepare(const Model& m, const SafetensorsFile& in, bool need_weights) {
  Prepared p = m.arch() == "transformer_encoder"   ? prepare_encoder(m, in)
               : m.arch() == "transformer_decoder" ? prepare_decoder(m, in, need_weights)
               : m.arch() == "vision_text_fusion"  ? prepare_fusion(m, in, need_weights)
                                                   : prepare_attention(m, in, need_weights);
  for (const auto& [name, x] : p.inputs) p.signature += name + shape_string(x.shape) + ";";
  for (const auto& [name, s] : p.outputs) p.signature += name + ";";
  return p;
}

HostTensors run_cpu(const Model& m, const Prepared& p) {
  HostTensors out;
  for (const auto& [name, shape] : p.outputs) out[name] = {shape, std::vector<float>(static_cast<size_t>(shape_numel(shape)))};
  auto o = [&](const char* name) { return out.count(name) ? out[name].data.data() : nullptr; };
  const std::string& arch = m.arch();
  if (arch == "vision_text_fusion") {
    const auto& c = m.fusion_config();
    FusionBatch f;
    f.b = p.inputs.at("ids").shape[0];
    f.t = p.inputs.at("ids").shape[1];
    f.image = p.inputs.at("image").f32;
    f.ids = p.inputs.at("ids").i32;
    const auto& pad = p.inputs.at("text_pad").f32;
    for (float x : pad) f.real.push_back(x == 0.f);
    FusionOutputs r = ref::vision_text_fusion(c, m.weights(), f, out.count("cross_attn_weights") != 0);
    out["logits"].data = r.logits;
    out["probs"].data = r.probs;
    if (out.count("cross_attn_weights")) out["cross_attn_weights"].data = r.cross_weights;
  } else if (arch == "transformer_encoder") {
    const auto& x = p.inputs.at("src");
    ref::transformer_encoder(m.transformer_config(), m.weights(), "", x.f32.data(), x.shape[0], x.shape[1],
                             opt(p, "key_pad"), opt(p, "attn_mask"), o("output"));
  } else if (arch == "transformer_decoder") {
    const auto& t = p.inputs.at("tgt");
    const auto& mem = p.inputs.at("memory");
    ref::transformer_decoder(m.transformer_config(), m.weights(), "", t.f32.data(), mem.f32.data(), t.shape[0],
                             t.shape[1], mem.shape[1], opt(p, "tgt_pad"), opt(p, "tgt_mask"), opt(p, "mem_pad"),
                             opt(p, "mem_mask"), o("output"), o("cross_attn_weights"));
  } else {
    const auto& q = p.inputs.at("query");
    const auto& k = p.inputs.at("key");
    ref::multihead_attention(m.attention_config(), m.weights(), q.f32.data(), k.f32.data(),
                             p.inputs.at("value").f32.data(), q.shape[0], q.shape[1], k.shape[1], opt(p, "key_pad"),
                             opt(p, "attn_mask"), o("output"), o("attn_weights"));
  }
  return out;
}

}  // namespace detail

struct Session::Impl {
  Context ctx;
  const Model& model;
  bool need_weights, profile;
  // The model's modules, made (and their weights uploaded) at the first recording.
  std::unique_ptr<MultiheadAttention> attention;
  std::unique_ptr<TransformerEncoder> encoder;
  std::unique_ptr<TransformerDecoder> decoder;
  std::unique_ptr<VisionTextFusion> fusion;
  // The current recording: its input and output tensors and the shapes it was made for.
  std::unique_ptr<Sequence> seq;
  std::map<std::string, Tensor> in, out;
  std::string signature;
  size_t recordings = 0;
  // Inputs set by name, and the outputs of the last run.
  struct Pending {
    DType dtype;
    Shape shape;
    std::vector<uint8_t> bytes;
  };
  std::map<std::string, Pending> pending;
  HostTensors last;
  uint64_t weight_bytes = 0, io_bytes = 0;

  Impl(Context& c, const Model& m, bool nw, bool prof) : ctx(c), model(m), need_weights(nw), profile(prof) {}

  const Tensor* maybe(const char* name) const {
    auto it = in.find(name);
    return it == in.end() ? nullptr : &it->second;
  }

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
    for (const auto& [name, x] : p.inputs) {
      in[name] = ctx.tensor(x.shape, x.i32.empty() ? DType::F32 : DType::I32);
      seq->upload(in[name]);
    }
    const std::string& arch = model.arch();
    const auto& out_shapes = p.outputs;
    const uint64_t before = ctx.memory_in_use();
    auto output = [&](const std::string& name, const Shape& device_shape) -> const Tensor* {
      if (!out_shapes.count(name)) return nullptr;
      out[name] = ctx.tensor(device_shape);
      return &out[name];
    };
    if (arch == "vision_text_fusion") {
      const auto& c = model.fusion_config();
      if (!fusion) fusion = std::make_unique<VisionTextFusion>(ctx, c, model.weights());
      weight_bytes += ctx.memory_in_use() - before;
      const int64_t b = p.inputs.at("ids").shape[0], t = p.inputs.at("ids").shape[1];
      VisionTextFusion::Inputs fi{in["image"], in["ids"], in["text_pad"], in["joint_pad"], in["pool_text"],
                                  in["pool_image"]};
      const Tensor* logits = output("logits", {b, c.num_outputs});
      const Tensor* probs = output("probs", {b, c.num_outputs});
      fusion->record(*seq, fi, *logits, *probs, output("cross_attn_weights", {b, t, c.image_tokens()}));
    } else if (arch == "transformer_encoder") {
      if (!encoder) encoder = std::make_unique<TransformerEncoder>(ctx, model.transformer_config(), model.weights());
      weight_bytes += ctx.memory_in_use() - before;
      AttentionMasks mk{maybe("key_pad"), maybe("attn_mask")};
      encoder->record(*seq, in["src"], *output("output", in["src"].shape()), mk);
    } else if (arch == "transformer_decoder") {
      if (!decoder) decoder = std::make_unique<TransformerDecoder>(ctx, model.transformer_config(), model.weights());
      weight_bytes += ctx.memory_in_use() - before;
      DecoderMasks mk;
      mk.self = {maybe("tgt_pad"), maybe("tgt_mask")};
      mk.cross = {maybe("mem_pad"), maybe("mem_mask")};
      const Shape& ts = in["tgt"].shape();
      const Tensor* o = output("output", ts);
      decoder->record(*seq, in["tgt"], in["memory"], *o, mk,
                      output("cross_attn_weights", {ts[0], ts[1], in["memory"].dim(1)}));
    } else {
      if (!attention) attention = std::make_unique<MultiheadAttention>(ctx, model.attention_config(), model.weights());
      weight_bytes += ctx.memory_in_use() - before;
      AttentionMasks mk{maybe("key_pad"), maybe("attn_mask")};
      const Shape& qs = in["query"].shape();
      const Tensor* o = output("output", {qs[0], qs[1], model.attention_config().embed_dim});
      attention->record(*seq, in["query"], in["key"], in["value"], *o, mk,
                        output("attn_weights", {qs[0], qs[1], in["key"].dim(1)}));
    }
    for (const auto& [name, t] : out) seq->download(t);
    io_bytes = 0;
    for (const auto* m : {&in, &out})
      for (const auto& [name, t] : *m) io_bytes += uint64_t(t.numel()) * dtype_size(t.dtype());
    signature = p.signature;
    ++recordings;
  }
};

Session::Session(Context& ctx, const Model& model, bool need_weights, bool profile)
    : impl_(std::make_unique<Impl>(ctx, model, need_weights, profile)) {}
Session::~Session() = default;
Session::Session(Session&&) noexcept = default;

void Session::set_input(const std::string& name, DType dtype, const Shape& shape, const void* data) {
  for (int64_t d : shape)
    if (d < 0) throw Error("input '" + name + "': negative dimension in shape " + shape_string(shape));
  const size_t bytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
  if (bytes && !data) throw Error("input '" + name + "': no data");
  const auto* p = static_cast<const uint8_t*>(data);
  impl_->pending[name] = {dtype, shape, std::vector<uint8_t>(p, p + bytes)};
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
  std::vector<std::pair<std::string, TensorBytes>> tensors;
  for (const auto& [name, x] : impl_->pending) tensors.push_back({name, {x.dtype, x.shape, x.bytes.data()}});
  return run(SafetensorsFile::from_tensors("session inputs", tensors));
}

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
  m.weights = impl_->weight_bytes;
  if (impl_->seq) {
    m.inputs_outputs = impl_->io_bytes;
    m.intermediates = impl_->seq->intermediate_bytes();
    m.intermediates_unshared = impl_->seq->intermediate_bytes_unshared();
  }
  return m;
}

HostTensors Session::run(const SafetensorsFile& inputs) {
  Impl& s = *impl_;
  detail::Prepared p = detail::prepare(s.model, inputs, s.need_weights);
  if (!s.seq || p.signature != s.signature) s.record(p);
  for (const auto& [name, x] : p.inputs) {
    Tensor& t = s.in.at(name);
    if (x.i32.empty())
      t.write_host(x.f32.data(), x.f32.size() * sizeof(float));
    else
      t.write_host(x.i32.data(), x.i32.size() * sizeof(int32_t));
  }
  s.seq->run();
  HostTensors out;
  for (const auto& [name, shape] : p.outputs) {
    HostTensor& h = out[name];
    h.shape = shape;
    h.data.resize(static_cast<size_t>(shape_numel(shape)));
    s.out.at(name).read_host(h.data.data(), h.data.size() * sizeof(float));
  }
  s.last = out;
  return out;
}

size_t Session::recordings() const { return impl_->recordings; }
size_t Session::dispatch_count() const { return impl_->seq ? impl_->seq->dispatch_count() : 0; }
std::vector<DispatchTiming> Session::timings() const {
  return impl_->seq ? impl_->seq->timings() : std::vector<DispatchTiming>{};
}

}  // namespace vkfuse
