#pragma once
// A model's own preprocessing of texts and pictures, from its file's metadata
// (vkfuse.tokenizer, vkfuse.image_preprocess; docs/model-format.md): what turns "a photo of
// a cat" and cat.png into the named inputs of the model's forward pass.
#include <memory>
#include <string>
#include <vector>

#include "vkfuse/image.hpp"
#include "vkfuse/model.hpp"
#include "vkfuse/safetensors.hpp"
#include "vkfuse/tokenizer.hpp"

namespace vkfuse {

class Preprocessor {
 public:
  // Reads whichever of the two the file carries (a tokenizer: vkfuse.tokenizer, or the
  // word-level vkfuse.vocab); an Error naming the file and the key when one is malformed.
  explicit Preprocessor(const Model& model);

  bool has_tokenizer() const { return tokenizer_ != nullptr; }
  bool has_image_preprocess() const { return images_ != nullptr; }
  // Errors naming the model file when it carries none.
  const Tokenizer& tokenizer() const;
  const ImagePreprocess& image_preprocess() const;

  // The model's inputs: input_ids and attention_mask I64 [B, T] of the texts (padded to the
  // longest), the picture input (Model::image_input()) F32 [B, 3, H, W] of the pictures (each the same H, W after the
  // preprocessing, else an Error naming the picture). Either list may be empty.
  SafetensorsFile inputs(const std::vector<std::string>& texts, const std::vector<Image>& images,
                         const std::vector<std::string>& image_names = {}) const;

 private:
  std::string path_, image_input_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  std::shared_ptr<const ImagePreprocess> images_;
};

}  // namespace vkfuse
