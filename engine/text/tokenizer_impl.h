#pragma once
// What the two tokenizers share: the special tokens around a text and the truncation, as
// HF's build_inputs_with_special_tokens and truncation=True do them for one sequence.
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "vkfuse/tokenizer.hpp"

namespace vkfuse {

class Tokenizer::Impl {
 public:
  virtual ~Impl() = default;
  virtual const char* type() const = 0;
  virtual int64_t vocab_size() const = 0;
  // The ids of the text alone.
  virtual void text_ids(const std::u32string& text, std::vector<int64_t>& out) const = 0;

  std::vector<int64_t> encode(const std::u32string& text) const {
    std::vector<int64_t> ids{first_id};
    text_ids(text, ids);
    // HF's longest_first truncation of one sequence drops ids from the end of the text.
    const int64_t tail = has_last ? 1 : 0;
    if (max_length && int64_t(ids.size()) + tail > *max_length) ids.resize(size_t(*max_length - tail));
    if (has_last) ids.push_back(last_id);
    return ids;
  }

  int64_t first_id = 0, last_id = 0, pad_id = 0;
  bool has_last = true;  // the word-level vocabularies end a text with nothing
  std::optional<int64_t> max_length;
};

namespace text {
std::shared_ptr<const Tokenizer::Impl> make_clip_bpe(const nlohmann::json& j, const std::string& where);
std::shared_ptr<const Tokenizer::Impl> make_wordpiece(const nlohmann::json& j, const std::string& where);
std::shared_ptr<const Tokenizer::Impl> make_words(const nlohmann::json& words, const std::string& where);
}  // namespace text

}  // namespace vkfuse
