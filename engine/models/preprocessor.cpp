// Texts and pictures to a model's named inputs, as its metadata says.
#include "vkfuse/preprocessor.hpp"

#include "io/message_text.h"
#include "vkfuse/error.hpp"

namespace vkfuse {

Preprocessor::Preprocessor(const Model& model) : path_(model.path()), image_input_(model.image_input()) {
  const auto& md = model.metadata();
  if (auto it = md.find("vkfuse.tokenizer"); it != md.end())
    tokenizer_ = std::make_shared<const Tokenizer>(Tokenizer::from_json(it->second, path_ + ": metadata vkfuse.tokenizer"));
  else if (auto v = md.find("vkfuse.vocab"); v != md.end())
    tokenizer_ = std::make_shared<const Tokenizer>(Tokenizer::from_word_vocab(v->second, path_ + ": metadata vkfuse.vocab"));
  if (auto it = md.find("vkfuse.image_preprocess"); it != md.end())
    images_ = std::make_shared<const ImagePreprocess>(
        ImagePreprocess::from_json(it->second, path_ + ": metadata vkfuse.image_preprocess"));
}

const Tokenizer& Preprocessor::tokenizer() const {
  if (!tokenizer_)
    throw Error(path_ + ": the model file carries no tokenizer (metadata vkfuse.tokenizer); convert it with "
                "tools/vkfuse_export.py from-hf from a folder that holds the tokenizer files");
  return *tokenizer_;
}

const ImagePreprocess& Preprocessor::image_preprocess() const {
  if (!images_)
    throw Error(path_ + ": the model file carries no image preprocessing (metadata vkfuse.image_preprocess); "
                "convert it from a folder that holds preprocessor_config.json");
  return *images_;
}

SafetensorsFile Preprocessor::inputs(const std::vector<std::string>& texts, const std::vector<Image>& images,
                                     const std::vector<std::string>& image_names) const {
  std::vector<std::pair<std::string, TensorBytes>> t;
  Tokenizer::Batch batch;
  if (!texts.empty()) {
    batch = tokenizer().encode_batch(texts);
    t.push_back({"input_ids", {DType::I64, {batch.rows, batch.length}, batch.ids.data()}});
    t.push_back({"attention_mask", {DType::I64, {batch.rows, batch.length}, batch.mask.data()}});
  }
  std::vector<float> pixels;
  if (!images.empty()) {
    const ImagePreprocess& pre = image_preprocess();
    int h0 = 0, w0 = 0;
    for (size_t i = 0; i < images.size(); ++i) {
      int h = 0, w = 0;
      std::vector<float> one = pre.apply(images[i], h, w);
      const std::string name = i < image_names.size() ? detail::quote(image_names[i]) : "picture " + std::to_string(i);
      if (i == 0) {
        h0 = h;
        w0 = w;
        pixels.reserve(one.size() * images.size());
      } else if (h != h0 || w != w0) {
        throw Error(name + " is " + std::to_string(w) + "x" + std::to_string(h) + " after preprocessing, the first " +
                    std::to_string(w0) + "x" + std::to_string(h0) +
                    ": without a resize and crop in the preprocessing, pictures of one batch must share a size");
      }
      pixels.insert(pixels.end(), one.begin(), one.end());
    }
    t.push_back({image_input_, {DType::F32, {int64_t(images.size()), 3, h0, w0}, pixels.data()}});
  }
  return SafetensorsFile::from_tensors(path_ + " inputs", t);
}

}  // namespace vkfuse
