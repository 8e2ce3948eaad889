#pragma once
// A tokenizer's special tokens in a text: HF splits the text on them before anything else
// (PreTrainedTokenizer.tokenize's trie of added tokens), and each becomes its own id.
#include <string>
#include <vector>

namespace vkfuse::text {

class SpecialTokens {
 public:
  struct Piece {
    bool special;
    std::u32string text;
  };

  // Distinct non-empty tokens, none inside another (`where` names them in the Error). HF's trie
  // cuts at the match that ends first; with no token inside another, that is the one that
  // starts first, so a left-to-right scan cuts where the trie does.
  SpecialTokens(const std::vector<std::string>& utf8_tokens, const std::string& where);

  // The token that starts at text[i], or nullptr.
  const std::u32string* match_at(const std::u32string& text, size_t i) const;
  std::vector<Piece> split(const std::u32string& text) const;

 private:
  std::vector<std::u32string> tokens_;
};

}  // namespace vkfuse::text
