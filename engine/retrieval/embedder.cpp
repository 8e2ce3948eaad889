// Pictures and texts to embedding rows through a model's preprocessing and forward pass.
#include "vkfuse/embedder.hpp"

#include "vkfuse/error.hpp"

namespace vkfuse {

Embedder::Embedder(const Model& model, Context* ctx, bool profile) : model_(model), pre_(model) {
  if (ctx) session_ = std::make_unique<Session>(*ctx, model, false, profile);
}

double Embedder::device_ms() const {
  double ms = 0;
  if (session_)
    for (const auto& t : session_->timings()) ms += t.ms;
  return ms;
}

Embedder::~Embedder() = default;

std::vector<float> Embedder::run(const SafetensorsFile& inputs, std::initializer_list<const char*> outputs,
                                 const char* what, int64_t& dim) {
  HostTensors out = session_ ? session_->run(inputs) : model_.run(inputs, false, nullptr);
  for (const char* name : outputs) {
    auto it = out.find(name);
    if (it == out.end()) continue;
    if (it->second.shape.size() != 2) throw Error(model_.path() + ": output '" + name + "' is not [items, dim]");
    dim = it->second.shape[1];
    return std::move(it->second.data);
  }
  std::string list;
  for (const char* name : outputs) list += std::string(list.empty() ? "" : " or ") + name;
  throw Error(model_.path() + ": arch " + model_.arch() + " gives no " + what + " embedding (" + list + ")");
}

std::vector<float> Embedder::images(const std::vector<Image>& pictures, int64_t& dim,
                                    const std::vector<std::string>& names) {
  return run(pre_.inputs({}, pictures, names), {"image_embeds", "pooled"}, "image", dim);
}

std::vector<float> Embedder::texts(const std::vector<std::string>& texts, int64_t& dim) {
  return run(pre_.inputs(texts, {}), {"text_embeds", "sentence_embedding"}, "text", dim);
}

}  // namespace vkfuse
