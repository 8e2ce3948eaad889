#pragma once
// HF's BasicTokenizer (tokenization_bert.py), which both BERT and CLIP (without ftfy) run
// first: drop NUL, U+FFFD and control characters, turn white space into spaces, space out
// CJK characters, NFC, split at white space, then per word (unless in never_split):
// lower-case, strip accents (NFD, drop Mn), split off each punctuation character.
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace vkfuse::text {

struct BasicTokenizerOptions {
  bool lower_case = true;
  // HF's strip_accents: null strips when lower-casing, true always, false never.
  std::optional<bool> strip_accents;
  bool space_cjk = true;
  bool split_punctuation = true;
};

std::vector<std::u32string> basic_tokenize(const std::u32string& text, const BasicTokenizerOptions& options,
                                           const std::set<std::u32string>& never_split);

// Python's str.split(): the runs of text between white space (str.isspace()).
std::vector<std::u32string> split_whitespace(const std::u32string& text);

}  // namespace vkfuse::text
