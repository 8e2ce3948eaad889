// BERT's WordPiece (HF's slow BertTokenizer): with do_lower_case the text is first
// lower-cased one character at a time outside the special tokens (PreTrainedTokenizer.tokenize),
// then split at the special tokens, then the BasicTokenizer, then greedy longest-match-first
// word pieces ("##" inside a word; a word of more than 100 characters, or one with a part no
// piece matches, is [UNK]).
#include <set>
#include <unordered_map>

#include "io/message_text.h"
#include "text/basic_tokenizer.h"
#include "text/metadata_fields.h"
#include "text/special_tokens.h"
#include "text/tokenizer_impl.h"
#include "text/unicode.h"
#include "text/utf8.h"
#include "vkfuse/error.hpp"

namespace vkfuse::text {

namespace {

constexpr size_t kMaxCharsPerWord = 100;  // WordpieceTokenizer.max_input_chars_per_word

class WordPiece final : public Tokenizer::Impl {
 public:
  explicit WordPiece(const MetadataFields& f)
      : specials_({f.string("unk"), f.string("sep"), f.string("pad"), f.string("cls"), f.string("mask")}, f.where()) {
    const auto& v = f.at("vocab");
    if (!v.is_array() || v.empty())
      throw Error(f.where("vocab") + " must be a non-empty array of tokens (it is a " + json_kind(v) + ")");
    vocab_.reserve(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_string())
        throw Error(f.where("vocab") + " entry " + std::to_string(i) + " is a " + json_kind(v[i]) + ", not a string");
      const std::string& t = v[i].get_ref<const std::string&>();
      auto [it, fresh] = vocab_.emplace(t, int64_t(i));
      if (!fresh)
        throw Error(f.where("vocab") + ": token " + detail::quote(detail::clipped(t, 80)) + " is entry " +
                    std::to_string(it->second) + " and entry " + std::to_string(i));
      // A piece longer than every token cannot match: the longest bounds the search.
      max_token_chars_ = std::max(max_token_chars_, decode_utf8(t, f.where("vocab")).size());
    }
    basic_.lower_case = f.boolean("do_lower_case");
    basic_.strip_accents = f.optional_boolean("strip_accents");
    basic_.space_cjk = f.boolean("tokenize_chinese_chars");
    const auto& ns = f.at("never_split");
    if (!ns.is_array()) throw Error(f.where("never_split") + " is a " + json_kind(ns) + ", not an array of strings");
    for (size_t i = 0; i < ns.size(); ++i) {
      if (!ns[i].is_string())
        throw Error(f.where("never_split") + " entry " + std::to_string(i) + " is a " + json_kind(ns[i]) + ", not a string");
      never_split_.insert(decode_utf8(ns[i].get<std::string>(), f.where("never_split")));
    }
    basic_never_split_ = never_split_;
    for (const char* k : {"unk", "sep", "pad", "cls", "mask"}) basic_never_split_.insert(decode_utf8(f.string(k), f.where(k)));
    unk_ = token_id(f, "unk");
    first_id = token_id(f, "cls");
    last_id = token_id(f, "sep");
    pad_id = token_id(f, "pad");
    token_id(f, "mask");
    max_length = f.max_length("max_length");
  }

  const char* type() const override { return "wordpiece"; }
  int64_t vocab_size() const override { return int64_t(vocab_.size()); }

  void text_ids(const std::u32string& text, std::vector<int64_t>& out) const override {
    for (const auto& piece : specials_.split(basic_.lower_case ? lower_outside_specials(text) : text)) {
      if (piece.special) {
        out.push_back(find(encode_utf8(piece.text)));
        continue;
      }
      for (const auto& word : basic_tokenize(piece.text, basic_, basic_never_split_)) {
        if (never_split_.count(word)) {
          const int64_t id = find(encode_utf8(word));
          out.push_back(id < 0 ? unk_ : id);
        } else {
          word_pieces(word, out);
        }
      }
    }
  }

 private:
  int64_t find(const std::string& token) const { return vocab_find(vocab_, token); }
  int64_t token_id(const MetadataFields& f, const std::string& key) const { return special_id(vocab_, f, key); }

  // re.sub("(special|...)|(.+?)", lower) of PreTrainedTokenizer.tokenize: one character at a
  // time, so a capital sigma is always U+03C3 (no final sigma); '.' skips newlines, which
  // lower-casing leaves as they are anyway.
  std::u32string lower_outside_specials(const std::u32string& text) const {
    std::u32string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
      if (const std::u32string* s = specials_.match_at(text, i)) {
        out += *s;
        i += s->size();
      } else {
        append_lower(text[i++], out);
      }
    }
    return out;
  }

  void word_pieces(const std::u32string& token, std::vector<int64_t>& out) const {
    for (const auto& word : split_whitespace(token)) {
      if (word.size() > kMaxCharsPerWord) {
        out.push_back(unk_);
        continue;
      }
      const size_t mark = out.size();
      for (size_t start = 0; start < word.size();) {
        int64_t id = -1;
        size_t end = std::min(word.size(), start + max_token_chars_);
        for (; end > start; --end) {
          std::string piece = start > 0 ? "##" : "";
          piece += encode_utf8(word.substr(start, end - start));
          id = find(piece);
          if (id >= 0) break;
        }
        if (id < 0) {
          out.resize(mark);
          out.push_back(unk_);
          break;
        }
        out.push_back(id);
        start = end;
      }
    }
  }

  SpecialTokens specials_;
  std::unordered_map<std::string, int64_t> vocab_;
  size_t max_token_chars_ = 0;
  BasicTokenizerOptions basic_;
  std::set<std::u32string> never_split_, basic_never_split_;
  int64_t unk_ = 0;
};

}  // namespace

std::shared_ptr<const Tokenizer::Impl> make_wordpiece(const nlohmann::json& j, const std::string& where) {
  const MetadataFields f(j, where,
                         {"type", "vocab", "do_lower_case", "strip_accents", "tokenize_chinese_chars", "never_split", "unk",
                          "cls", "sep", "pad", "mask", "max_length"});
  return std::make_shared<WordPiece>(f);
}

}  // namespace vkfuse::text
