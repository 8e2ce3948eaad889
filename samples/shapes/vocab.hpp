#pragma once
// The word-level vocabulary of the shapes questions and the tokenizer (samples/shapes/README.md,
// "Questions and vocabulary").
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace shapes {

// Token sequence length of the model's text input, <cls> included.
constexpr int kMaxTextLen = 12;

class Vocab {
 public:
  static constexpr int64_t kPad = 0, kUnk = 1, kCls = 2;

  // "<pad>", "<unk>", "<cls>", then every word the question templates use.
  static Vocab standard();

  // words[i] is token i. vkfuse::Error unless words starts with "<pad>", "<unk>", "<cls>" and
  // every word is non-empty, unique and free of white space (the tokenizer could never
  // produce it otherwise).
  explicit Vocab(std::vector<std::string> words);

  // A JSON list of strings (the model file's `vkfuse.vocab`), checked as above.
  static Vocab from_json(const std::string& text);
  std::string to_json() const;

  const std::vector<std::string>& words() const { return words_; }
  size_t size() const { return words_.size(); }
  int64_t id(const std::string& word) const;  // -1 if absent

  // The tokenizer's words: lower-cased (ASCII), "?", "," and "." dropped, split on white space.
  static std::vector<std::string> split(const std::string& text);

  struct Encoded {
    std::vector<int64_t> ids;                // max_len ids: <cls>, the words, then <pad>
    int length = 0;                          // real tokens, <cls> included
    std::vector<std::string> unknown_words;  // each one became <unk>, in text order
  };
  // vkfuse::Error if <cls> plus the words are more than max_len tokens.
  Encoded encode(const std::string& text, int max_len = kMaxTextLen) const;

 private:
  std::vector<std::string> words_;
  std::unordered_map<std::string, int64_t> index_;
};

}  // namespace shapes
