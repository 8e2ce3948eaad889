// Tokenizer: the JSON read strictly, its "type" choosing the implementation.
#include "vkfuse/tokenizer.hpp"

#include <algorithm>

#include "io/message_text.h"
#include "io/strict_json.h"
#include "text/metadata_fields.h"
#include "text/tokenizer_impl.h"
#include "text/utf8.h"
#include "vkfuse/error.hpp"

namespace vkfuse {

namespace {

std::string duplicate_key(const detail::DuplicateKey& d) {
  std::string in;
  for (const auto& k : d.path) in += (in.empty() ? "" : ".") + k;
  return "tokenizer has key " + detail::quote(detail::clipped(d.key, 80)) + " twice" +
         (in.empty() ? "" : " in " + detail::quote(detail::clipped(in, 80)));
}

}  // namespace

Tokenizer::Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

Tokenizer Tokenizer::from_word_vocab(const std::string& json, const std::string& where) {
  const nlohmann::json j = detail::parse_strict_json(json.data(), json.size(), where, "vocabulary", duplicate_key);
  return Tokenizer(text::make_words(j, where));
}

Tokenizer Tokenizer::from_json(const std::string& json, const std::string& where) {
  const nlohmann::json j = detail::parse_strict_json(json.data(), json.size(), where, "tokenizer", duplicate_key);
  if (!j.is_object()) throw Error(where + ": tokenizer is a " + text::json_kind(j) + ", not an object");
  auto type = j.find("type");
  if (type == j.end()) throw Error(where + ": tokenizer field 'type' is missing (\"clip_bpe\" or \"wordpiece\")");
  if (!type->is_string()) throw Error(where + ": tokenizer field 'type' is a " + text::json_kind(*type) + ", not a string");
  const std::string& t = type->get_ref<const std::string&>();
  if (t == "clip_bpe") return Tokenizer(text::make_clip_bpe(j, where));
  if (t == "wordpiece") return Tokenizer(text::make_wordpiece(j, where));
  throw Error(where + ": tokenizer type " + detail::quote(detail::clipped(t, 80)) +
              " is not one vkfuse implements (\"clip_bpe\", \"wordpiece\")");
}

std::vector<int64_t> Tokenizer::encode(const std::string& utf8) const {
  return impl_->encode(text::decode_utf8(utf8, "text"));
}

Tokenizer::Batch Tokenizer::encode_batch(const std::vector<std::string>& texts) const {
  std::vector<std::vector<int64_t>> rows;
  rows.reserve(texts.size());
  Batch b;
  for (const auto& t : texts) {
    rows.push_back(encode(t));
    b.length = std::max(b.length, int64_t(rows.back().size()));
  }
  b.rows = int64_t(rows.size());
  b.ids.assign(size_t(b.rows * b.length), impl_->pad_id);
  b.mask.assign(size_t(b.rows * b.length), 0);
  for (size_t r = 0; r < rows.size(); ++r) {
    std::copy(rows[r].begin(), rows[r].end(), b.ids.begin() + std::ptrdiff_t(r * size_t(b.length)));
    std::fill_n(b.mask.begin() + std::ptrdiff_t(r * size_t(b.length)), rows[r].size(), 1);
  }
  return b;
}

int64_t Tokenizer::pad_id() const { return impl_->pad_id; }
std::string Tokenizer::type() const { return impl_->type(); }
int64_t Tokenizer::vocab_size() const { return impl_->vocab_size(); }

}  // namespace vkfuse
