#pragma once
// The fields of a vkfuse.tokenizer object, read with their types: every field required, no
// field the format does not define (one not read would be one ignored), and each fault one
// Error naming where the JSON came from and the field.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "vkfuse/error.hpp"

namespace vkfuse::text {

class MetadataFields {
 public:
  // `obj` must be an object with exactly `keys`.
  MetadataFields(const nlohmann::json& obj, std::string where, const std::vector<std::string>& keys);

  const nlohmann::json& at(const std::string& key) const { return obj_.at(key); }
  std::string string(const std::string& key) const;
  bool boolean(const std::string& key) const;
  std::optional<bool> optional_boolean(const std::string& key) const;  // null: not given
  // null (no limit) or an integer from 3 (two special tokens and one of the text) to 2^31 - 1.
  std::optional<int64_t> max_length(const std::string& key) const;
  // "<where>: tokenizer field 'key'"
  std::string where(const std::string& key) const;
  const std::string& where() const { return where_; }

 private:
  const nlohmann::json& obj_;
  std::string where_;
};

// A token's id in a vocabulary map (token -> id), or -1.
template <class Map> int64_t vocab_find(const Map& vocab, const std::string& token) {
  auto it = vocab.find(token);
  return it == vocab.end() ? -1 : int64_t(it->second);
}
// The id of the special token named by field `key`; an Error when it is not in the vocabulary.
std::string not_in_vocab(const MetadataFields& f, const std::string& key);
template <class Map> int64_t special_id(const Map& vocab, const MetadataFields& f, const std::string& key) {
  const int64_t id = vocab_find(vocab, f.string(key));
  if (id < 0) throw Error(not_in_vocab(f, key));
  return id;
}

// "a JSON string", "a JSON number", ...: what a value is, for messages.
std::string json_kind(const nlohmann::json& v);

}  // namespace vkfuse::text
