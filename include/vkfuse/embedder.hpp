#pragma once
// A model as an embedding function: pictures and texts in, one row per item out, through
// the model's own preprocessing (Preprocessor) and its forward pass on a GPU session or the
// CPU reference. Image rows are `image_embeds` (arch clip) or `pooled` (arch vit); text rows
// `text_embeds` (clip) or `sentence_embedding` (bert).
#include <memory>
#include <string>
#include <vector>

#include "vkfuse/preprocessor.hpp"
#include "vkfuse/session.hpp"

namespace vkfuse {

class Embedder {
 public:
  // ctx null: the CPU reference. The context must outlive the embedder. profile: time every
  // dispatch with timestamp queries (where the device has them), read by device_ms().
  Embedder(const Model& model, Context* ctx, bool profile = false);
  ~Embedder();

  // [items, dim] row-major; `dim` is set. Errors name the model when it has no such tower.
  std::vector<float> images(const std::vector<Image>& pictures, int64_t& dim,
                            const std::vector<std::string>& names = {});
  std::vector<float> texts(const std::vector<std::string>& texts, int64_t& dim);

  const Preprocessor& preprocessor() const { return pre_; }
  // Device time of the last images() or texts() call in ms: the sum of its dispatches'
  // timestamps; 0 on the CPU reference or without profile.
  double device_ms() const;

 private:
  std::vector<float> run(const SafetensorsFile& inputs, std::initializer_list<const char*> outputs, const char* what,
                         int64_t& dim);
  Model model_;
  Preprocessor pre_;
  std::unique_ptr<Session> session_;
};

}  // namespace vkfuse
