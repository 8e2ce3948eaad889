// Model files: the config read through the arch the registry names, the tensors checked
// against what the arch's config implies, the weights widened to F32 once.
#include "vkfuse/model.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "io/message_text.h"
#include "io/strict_json.h"
#include "io/onnx_file.h"
#include "models/graph_arch.h"
#include "models/model_state.h"
#include "vkfuse/session.hpp"

namespace vkfuse {

namespace {

// Every tensor of `file` is exactly the expected set, with the expected shapes.
void check_tensors(const SafetensorsFile& file, const detail::Arch& arch, const std::string& arch_name) {
  const detail::TensorList expected = arch.tensors();
  std::set<std::string> names;
  for (const auto& [name, shape] : expected) {
    names.insert(name);
    if (!file.contains(name))
      throw Error(file.path() + ": tensor " + detail::quote(name) + " is missing (arch " + arch_name + " needs it)");
    const auto& t = file.tensor(name);
    if (t.dtype != DType::F32 && t.dtype != DType::F16 && t.dtype != DType::BF16)
      throw Error(file.path() + ": tensor '" + name + "' is " + dtype_name(t.dtype) + "; weights must be F32, F16 or BF16");
    if (t.shape != shape)
      throw Error(file.path() + ": tensor '" + name + "' has shape " + shape_string(t.shape) + ", the config needs " +
                  shape_string(shape));
  }
  for (const auto& name : file.names()) {
    if (names.count(name)) continue;
    const std::string why = arch.unsupported(name);
    throw Error(file.path() + ": tensor " + detail::quote(name) +
                (why.empty() ? " is not expected for arch " + arch_name : ": " + why));
  }
}

}  // namespace

namespace {
std::string duplicate_in_config(const detail::DuplicateKey& d) {
  std::string in;
  for (const auto& k : d.path) in += "'" + k + "': ";
  return "config: " + in + "key '" + d.key + "' appears twice";
}
}  // namespace

namespace {

// Whether the file at `path` reads as ONNX rather than safetensors: a safetensors file starts
// with its header's length (8 bytes, little-endian) and the header's '{'; a ModelProto with a
// protobuf field tag (onnx_file.h).
bool is_onnx_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;  // open() says why
  uint8_t head[9] = {};
  const size_t n = std::fread(head, 1, sizeof(head), f);
  std::fclose(f);
  if (n == sizeof(head) && head[8] == '{') return false;
  return detail::onnx::looks_like_onnx(head, n);
}

}  // namespace

Model Model::load(const std::string& path) {
  if (!is_onnx_file(path)) return load(SafetensorsFile::open(path));
  std::shared_ptr<const detail::graph::Graph> g = detail::graph::import_onnx(detail::onnx::read_file(path), path);
  auto m = std::make_shared<State>(SafetensorsFile::from_tensors(path, {}, {{"vkfuse.format", "onnx"}}));
  m->arch_name = "onnx";
  m->config_json = "{}";
  m->arch = detail::graph_arch(std::move(g));
  Model model;
  model.state_ = std::move(m);
  return model;
}

Model Model::load(SafetensorsFile file) {
  const std::string path = file.path();
  auto it = file.metadata().find("vkfuse.config");
  if (it == file.metadata().end())
    throw Error(path + ": no 'vkfuse.config' in the metadata; is this a vkfuse model file?");
  std::string config_json = it->second;
  auto m = std::make_shared<State>(std::move(file));
  m->config_json = std::move(config_json);
  const nlohmann::json j = detail::parse_strict_json(m->config_json.data(), m->config_json.size(), path, "config",
                                                     duplicate_in_config);
  const std::string where = path + ": config";
  if (!j.is_object()) throw Error(where + " is not a JSON object");
  detail::ConfigReader config(j, where, static_cast<int64_t>(m->file.names().size()));
  if (!j.contains("arch")) throw Error(where + ": 'arch' is missing");
  m->arch_name = config.string("arch", "");
  m->arch = detail::parse_arch(m->arch_name, config);
  config.finish(m->arch_name);
  {
    std::set<std::string> present;
    for (const auto& [name, shape] : m->arch->optional_tensors())
      if (m->file.contains(name)) present.insert(name);
    m->arch->found_optional(present);
  }
  m->config = m->arch->config();
  check_tensors(m->file, *m->arch, m->arch_name);
  Model model;
  model.state_ = std::move(m);
  return model;
}

const std::string& Model::path() const { return state_->file.path(); }
std::vector<std::pair<std::string, Shape>> Model::tensors_for(const std::string& config_json) {
  const nlohmann::json j =
      detail::parse_strict_json(config_json.data(), config_json.size(), "config", "config", duplicate_in_config);
  if (!j.is_object()) throw Error("config is not a JSON object");
  if (!j.contains("arch")) throw Error("config: 'arch' is missing");
  // No file bounds the layer counts here; 65,536 layers bound the list the caller makes.
  detail::ConfigReader config(j, "config", int64_t(1) << 16);
  const std::string name = config.string("arch", "");
  auto arch = detail::parse_arch(name, config);
  config.finish(name);
  return arch->tensors();
}

const std::string& Model::arch() const { return state_->arch_name; }
std::string Model::image_input() const { return state_->arch->picture_input(); }
const std::string& Model::config_json() const { return state_->config_json; }
const std::map<std::string, std::string>& Model::metadata() const { return state_->file.metadata(); }
const std::any& Model::config_any() const { return state_->config; }
std::string Model::graph_summary() const {
  const detail::graph::Graph* g = detail::graph_of(*state_->arch);
  return g ? detail::describe_graph(*g) : std::string();
}
std::vector<Model::GraphInput> Model::graph_inputs() const {
  std::vector<GraphInput> r;
  const detail::graph::Graph* g = detail::graph_of(*state_->arch);
  if (!g) return r;
  for (const detail::graph::Decl& d : g->inputs) {
    GraphInput x;
    x.name = d.name;
    x.dtype = detail::host_dtype(d.type);
    x.has_shape = d.has_shape;
    for (const detail::graph::DeclDim& dim : d.dims) x.shape.push_back(dim.symbol.empty() ? dim.value : -1);
    r.push_back(std::move(x));
  }
  return r;
}
const WeightMap& Model::weights() const {
  const State& m = *state_;
  std::call_once(m.converted, [&m] {
    WeightMap w;
    for (const auto& [name, shape] : m.arch->tensors()) w[name] = m.file.to_f32(name);
    m.weights = std::move(w);
    m.file.release_pages();  // the F32 copies are what is used from here on
  });
  return m.weights;
}

std::shared_ptr<const detail::HostArray> Model::State::array(const std::string& name, bool keep) const {
  std::lock_guard<std::recursive_mutex> lock(arrays_mu);
  auto it = arrays.find(name);
  if (it != arrays.end()) return it->second;
  // The file holds exactly the arch's tensors (checked at load), so a name it lacks is not one.
  if (!file.contains(name)) throw Error(file.path() + ": arch " + arch_name + " reads tensor " + detail::quote(name) +
                          ", which is not one of its tensors (a bug in vkfuse)");
  auto a = std::make_shared<detail::HostArray>();
  a->type = detail::Elem::Float;
  a->shape = file.tensor(name).shape;
  a->f = file.to_f32(name);
  if (keep) arrays[name] = a;
  return a;
}

detail::graph::WeightFn Model::State::weight_fn() const {
  detail::graph::WeightFn w;
  w.get = [this](const std::string& name) { return array(name); };
  w.made = [this](const std::string& key, const std::function<detail::HostArray(const detail::graph::WeightFn::Read&)>& make) {
    std::lock_guard<std::recursive_mutex> lock(arrays_mu);
    auto it = arrays.find(key);
    if (it != arrays.end()) return it->second;
    auto a = std::make_shared<const detail::HostArray>(make([this](const std::string& n) { return array(n, false); }));
    return arrays[key] = a;
  };
  return w;
}

DType Model::weight_dtype() const {
  const State& m = *state_;
  DType common = DType::F32;
  bool first = true;
  for (const auto& [name, shape] : m.arch->tensors()) {
    if (shape.size() < 2) continue;  // biases and norms; a conv weight goes through matrix() too
    const DType d = m.file.tensor(name).dtype;
    if (first) common = d;
    first = false;
    if (d != common) return DType::F32;
  }
  return common == DType::F16 || common == DType::BF16 ? common : DType::F32;
}

namespace detail {
HostTensors run_cpu(const Model& model, const Prepared& p) {
  HostTensors out;
  for (const auto& [name, o] : p.outputs) {
    HostTensor& h = out[name];
    h.shape = o.shape;
    h.dtype = o.dtype;
    (o.dtype == DType::F32 ? h.data.resize(size_t(shape_numel(o.shape))) : h.ints.resize(size_t(shape_numel(o.shape))));
  }
  if (p.outputs_empty()) return out;  // as PyTorch gives
  run_graph_cpu(graph_of(model, p), p, out);
  return out;
}

ArchGraph graph_of(const Model& model, const Prepared& p) {
  const Model::State& m = model.state();
  return m.arch->graph(p, m.weight_fn());
}
}  // namespace detail

HostTensors Model::run(const SafetensorsFile& inputs, bool need_weights, Context* gpu) const {
  if (gpu) return Session(*gpu, *this, need_weights).run(inputs);
  return detail::run_cpu(*this, state_->arch->prepare(detail::InputSet::of(inputs), need_weights));
}

}  // namespace vkfuse
