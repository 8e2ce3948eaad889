#pragma once
// A model file's config (the JSON of `vkfuse.config`) read by an arch: each key checked for
// its type and range as it is read, and, once the arch has read all it knows, every key it
// did not read refused by name: a key vkfuse does not implement is never silently ignored.
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "vkfuse/error.hpp"

namespace vkfuse::detail {

class ConfigReader {
 public:
  // where: "<file>: config", the start of every message. tensor_count: the tensors the file
  // holds, which bounds any layer count (each layer holds several tensors).
  ConfigReader(const nlohmann::json& config, std::string where, int64_t tensor_count);

  const std::string& where() const { return where_; }
  bool has(const char* key) const { return j_.contains(key); }

  int64_t integer(const char* key, int64_t fallback);
  // A size: an integer in [1, 2^31) (shader indices are 32-bit); required without a fallback.
  int64_t size(const char* key, std::optional<int64_t> fallback = std::nullopt);
  // A size where 0 (or absence) means "the default": an integer in [0, 2^31).
  int64_t size_or_default(const char* key);
  // A layer count: a required integer in [0, tensor_count].
  int64_t layers(const char* key);
  bool boolean(const char* key, bool fallback);
  double number(const char* key, double fallback);  // must be finite and positive
  std::string string(const char* key, const std::string& fallback);
  // One of `options`; an empty fallback means the key is required.
  std::string choice(const char* key, std::initializer_list<const char*> options, const char* fallback = "");
  // Marks a key as known without reading it (the arch name, read by the loader).
  void known(const char* key) { read_.insert(key); }
  // Keys that do not change the math (names, library versions, training-only settings):
  // known, whatever their value.
  void ignore(std::initializer_list<const char*> keys) {
    for (const char* k : keys) read_.insert(k);
  }
  // A size that may be absent or null (nullopt then).
  std::optional<int64_t> optional_size(const char* key);
  // A key that, when present and not null, must equal `expected`: any other value asks for a
  // computation vkfuse does not implement, named by `what`.
  void require_value(const char* key, const nlohmann::json& expected, const std::string& what);
  // A nested object (absent or null: every key at its default), read by its own reader,
  // which the caller finish()es too.
  ConfigReader child(const char* key);
  // The same, with the keys of the object `legacy` (when present and not null) taking
  // precedence key by key, as transformers' CLIPConfig folds text_config_dict into
  // text_config; the merged object is kept in `merged`, which must outlive the reader.
  ConfigReader child(const char* key, const char* legacy, nlohmann::json& merged);

  // c.validate(), its Error prefixed with where().
  template <class C> void validate(const C& c) const {
    try {
      c.validate();
    } catch (const Error& e) {
      throw Error(where_ + ": " + e.what());
    }
  }

  // Every key of the config was read; else an Error naming the first other one and listing
  // the keys `arch` knows.
  void finish(const std::string& arch) const;

 private:
  const nlohmann::json* value(const char* key);  // null when absent; marks the key as read
  [[noreturn]] void fail(const char* key, const std::string& what, const nlohmann::json& v) const;

  const nlohmann::json& j_;
  std::string where_;
  int64_t tensor_count_;
  std::set<std::string> read_;
};

}  // namespace vkfuse::detail
