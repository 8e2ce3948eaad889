#include "text/metadata_fields.h"

#include <algorithm>

#include "io/message_text.h"
#include "vkfuse/error.hpp"

namespace vkfuse::text {

std::string json_kind(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::null: return "JSON null";
    case nlohmann::json::value_t::boolean: return "JSON boolean";
    case nlohmann::json::value_t::string: return "JSON string";
    case nlohmann::json::value_t::array: return "JSON array";
    case nlohmann::json::value_t::object: return "JSON object";
    case nlohmann::json::value_t::number_float: return "JSON number with a fraction or exponent";
    default: return "JSON number";
  }
}

MetadataFields::MetadataFields(const nlohmann::json& obj, std::string where, const std::vector<std::string>& keys)
    : obj_(obj), where_(std::move(where)) {
  if (!obj.is_object()) throw Error(where_ + ": tokenizer is a " + json_kind(obj) + ", not an object");
  std::string list;
  for (const auto& k : keys) list += (list.empty() ? "" : ", ") + k;
  for (const auto& item : obj.items())
    if (std::find(keys.begin(), keys.end(), item.key()) == keys.end())
      throw Error(where_ + ": tokenizer field " + detail::quote(detail::clipped(item.key(), 80)) +
                  " is not one of the format's (" + list + "); vkfuse does not ignore fields");
  for (const auto& k : keys)
    if (!obj.contains(k)) throw Error(where_ + ": tokenizer field '" + k + "' is missing (the fields: " + list + ")");
}

std::string MetadataFields::where(const std::string& key) const { return where_ + ": tokenizer field '" + key + "'"; }

std::string MetadataFields::string(const std::string& key) const {
  const auto& v = obj_.at(key);
  if (!v.is_string()) throw Error(where(key) + " is a " + json_kind(v) + ", not a string");
  return v.get<std::string>();
}

bool MetadataFields::boolean(const std::string& key) const {
  const auto& v = obj_.at(key);
  if (!v.is_boolean()) throw Error(where(key) + " is a " + json_kind(v) + ", not true or false");
  return v.get<bool>();
}

std::optional<bool> MetadataFields::optional_boolean(const std::string& key) const {
  const auto& v = obj_.at(key);
  if (v.is_null()) return std::nullopt;
  if (!v.is_boolean()) throw Error(where(key) + " is a " + json_kind(v) + ", not true, false or null");
  return v.get<bool>();
}

std::optional<int64_t> MetadataFields::max_length(const std::string& key) const {
  const auto& v = obj_.at(key);
  if (v.is_null()) return std::nullopt;
  constexpr int64_t kMax = 2147483647;
  const bool in_range = (v.is_number_unsigned() && v.get<uint64_t>() >= 3 && v.get<uint64_t>() <= uint64_t(kMax)) ||
                        (v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() >= 3 &&
                         v.get<int64_t>() <= kMax);
  if (!in_range)
    throw Error(where(key) + " must be null (no limit) or an integer from 3 to 2147483647 (it is " +
                detail::clipped(v.dump(), 40) + ")");
  return v.get<int64_t>();
}

std::string not_in_vocab(const MetadataFields& f, const std::string& key) {
  return f.where(key) + ": " + detail::quote(detail::clipped(f.string(key), 80)) + " is not in the vocab";
}

}  // namespace vkfuse::text
