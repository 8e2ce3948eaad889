#pragma once
// The fields of a vkfuse.tokenizer object, read with their types: every field required, no
// field the format does not define (one not read would be one ignored), and each fault one
// Error naming where the JSON came from and the field.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

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

// "a JSON string", "a JSON number", ...: what a value is, for messages.
std::string json_kind(const nlohmann::json& v);

}  // namespace vkfuse::text
