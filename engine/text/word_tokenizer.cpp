// The word-level tokenizer of vkfuse's own models (metadata vkfuse.vocab; tools/train_shapes.py
// trains with it): lower-case ASCII, drop '?', ',' and '.', split at white space, "<cls>"
// first, "<unk>" for a word the vocabulary lacks, no end token.
#include <unordered_map>

#include "io/message_text.h"
#include "text/tokenizer_impl.h"
#include "text/utf8.h"
#include "vkfuse/error.hpp"

namespace vkfuse::text {

namespace {

class WordTokenizer final : public Tokenizer::Impl {
 public:
  WordTokenizer(const nlohmann::json& j, const std::string& where) {
    if (!j.is_array()) throw Error(where + ": the vocabulary is not a JSON list of words");
    static const char* const specials[] = {"<pad>", "<unk>", "<cls>"};
    for (size_t i = 0; i < j.size(); ++i) {
      const std::string at = where + ": vocabulary entry " + std::to_string(i);
      if (!j[i].is_string()) throw Error(at + " is not a string");
      const std::string& w = j[i].get_ref<const std::string&>();
      if (i < 3 && w != specials[i]) throw Error(at + " must be \"" + std::string(specials[i]) + "\"");
      if (w.empty()) throw Error(at + " is empty");
      for (unsigned char c : w)
        if (c <= ' ') throw Error(at + " " + detail::quote(detail::clipped(w, 80)) + " holds white space");
      if (!ids_.emplace(w, int64_t(i)).second)
        throw Error(at + " " + detail::quote(detail::clipped(w, 80)) + " is there twice");
    }
    if (j.size() < 3) throw Error(where + ": the vocabulary must start with \"<pad>\", \"<unk>\", \"<cls>\"");
    pad_id = 0;
    first_id = 2;
    has_last = false;
  }

  const char* type() const override { return "words"; }
  int64_t vocab_size() const override { return int64_t(ids_.size()); }

  void text_ids(const std::u32string& text, std::vector<int64_t>& out) const override {
    std::string word;
    auto flush = [&] {
      if (word.empty()) return;
      auto it = ids_.find(word);
      out.push_back(it == ids_.end() ? 1 : it->second);  // "<unk>"
      word.clear();
    };
    for (char32_t c : text) {
      if (c == U'?' || c == U',' || c == U'.') continue;
      if (c == U' ' || (c >= U'\t' && c <= U'\r')) {
        flush();
      } else {
        append_utf8(word, c >= U'A' && c <= U'Z' ? c + (U'a' - U'A') : c);
      }
    }
    flush();
  }

 private:
  std::unordered_map<std::string, int64_t> ids_;
};

}  // namespace

std::shared_ptr<const Tokenizer::Impl> make_words(const nlohmann::json& words, const std::string& where) {
  return std::make_shared<WordTokenizer>(words, where);
}

}  // namespace vkfuse::text
