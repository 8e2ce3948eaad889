#include "text/basic_tokenizer.h"

#include "text/unicode.h"

namespace vkfuse::text {

std::vector<std::u32string> split_whitespace(const std::u32string& text) {
  std::vector<std::u32string> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && has(text[i], kPySpace)) ++i;
    size_t j = i;
    while (j < text.size() && !has(text[j], kPySpace)) ++j;
    if (j > i) out.push_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

namespace {

std::u32string strip_accents(const std::u32string& word) {
  std::u32string out;
  for (char32_t c : nfd(word))
    if (!has(c, kMarkNonspacing)) out.push_back(c);
  return out;
}

void split_on_punctuation(const std::u32string& word, std::vector<std::u32string>& out) {
  bool new_word = true;
  for (char32_t c : word) {
    if (is_bert_punctuation(c)) {
      out.push_back(std::u32string(1, c));
      new_word = true;
    } else {
      if (new_word) out.emplace_back();
      new_word = false;
      out.back().push_back(c);
    }
  }
}

}  // namespace

std::vector<std::u32string> basic_tokenize(const std::u32string& text, const BasicTokenizerOptions& o,
                                           const std::set<std::u32string>& never_split) {
  std::u32string clean;
  clean.reserve(text.size());
  for (char32_t c : text) {
    if (c == 0 || c == 0xFFFD || is_bert_control(c)) continue;
    if (o.space_cjk && is_cjk(c)) {
      clean += U' ';
      clean += c;
      clean += U' ';
    } else {
      clean.push_back(is_bert_whitespace(c) ? U' ' : c);
    }
  }
  std::vector<std::u32string> split;
  for (std::u32string& word : split_whitespace(nfc(clean))) {
    if (!never_split.count(word)) {
      if (o.lower_case) {
        word = lower(word);
        if (o.strip_accents != false) word = strip_accents(word);
      } else if (o.strip_accents == true) {
        word = strip_accents(word);
      }
    }
    // HF checks never_split again on the lower-cased word before splitting punctuation.
    if (!o.split_punctuation || never_split.count(word))
      split.push_back(std::move(word));
    else
      split_on_punctuation(word, split);
  }
  // HF joins the words with spaces and splits again: a word that stripping emptied is gone.
  std::vector<std::u32string> out;
  for (const auto& w : split)
    for (auto& piece : split_whitespace(w)) out.push_back(std::move(piece));
  return out;
}

}  // namespace vkfuse::text
