// Config keys read with their types and ranges checked, and the unknown ones refused.
#include "models/config.h"

#include <cmath>

#include "io/message_text.h"
#include "vkfuse/error.hpp"

namespace vkfuse::detail {

using nlohmann::json;

namespace {
// A value as a message shows it: scalars as JSON, containers by kind alone (a value nested
// a million levels deep is not dumped into a message, or onto the stack).
std::string shown(const json& v) {
  if (v.is_object()) return "an object";
  if (v.is_array()) return "an array";
  return clipped(escaped(v.dump(-1, ' ', true, json::error_handler_t::replace), false), 80);
}
}  // namespace

ConfigReader::ConfigReader(const json& config, std::string where, int64_t tensor_count)
    : j_(config), where_(std::move(where)), tensor_count_(tensor_count) {}

const json* ConfigReader::value(const char* key) {
  read_.insert(key);
  auto it = j_.find(key);
  return it == j_.end() ? nullptr : &*it;
}

void ConfigReader::fail(const char* key, const std::string& what, const json& v) const {
  throw Error(where_ + ": '" + key + "' must be " + what + ", got " + shown(v));
}

int64_t ConfigReader::integer(const char* key, int64_t fallback) {
  const json* v = value(key);
  if (!v) return fallback;
  if (!v->is_number_integer() || (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX)))
    fail(key, "an integer", *v);
  return v->get<int64_t>();
}

int64_t ConfigReader::size(const char* key, std::optional<int64_t> fallback) {
  const json* v = value(key);
  if (!v) {
    if (!fallback) throw Error(where_ + ": '" + key + "' is missing");
    return *fallback;
  }
  if (!v->is_number_integer() || v->get<int64_t>() < 1 || v->get<int64_t>() >= (int64_t(1) << 31) ||
      (v->is_number_unsigned() && v->get<uint64_t>() >= (uint64_t(1) << 31)))
    fail(key, "an integer from 1 to 2^31 - 1", *v);
  return v->get<int64_t>();
}

int64_t ConfigReader::size_or_default(const char* key) {
  const json* v = value(key);
  if (!v || (v->is_number_integer() && v->get<int64_t>() == 0)) return 0;
  return size(key);  // the value's type and range
}

int64_t ConfigReader::layers(const char* key) {
  const json* v = value(key);
  if (!v) throw Error(where_ + ": '" + key + "' is missing");
  if (!v->is_number_integer() || v->get<int64_t>() < 0 ||
      (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX)))
    fail(key, "a layer count (an integer, 0 or more)", *v);
  const int64_t n = v->get<int64_t>();
  if (n > tensor_count_)
    throw Error(where_ + ": '" + key + "' is " + std::to_string(n) + " layers, but the file holds only " +
                std::to_string(tensor_count_) + " tensors");
  return n;
}

bool ConfigReader::boolean(const char* key, bool fallback) {
  const json* v = value(key);
  if (!v) return fallback;
  if (!v->is_boolean()) fail(key, "true or false", *v);
  return v->get<bool>();
}

double ConfigReader::number(const char* key, double fallback) {
  const json* v = value(key);
  if (!v) return fallback;
  if (!v->is_number() || !std::isfinite(v->get<double>()) || !(v->get<double>() > 0)) fail(key, "a positive number", *v);
  return v->get<double>();
}

std::string ConfigReader::string(const char* key, const std::string& fallback) {
  const json* v = value(key);
  if (!v) return fallback;
  if (!v->is_string()) fail(key, "a string", *v);
  return v->get<std::string>();
}

std::string ConfigReader::choice(const char* key, std::initializer_list<const char*> options, const char* fallback) {
  std::string list;
  for (const char* o : options) list += std::string(list.empty() ? "" : " or ") + "\"" + o + "\"";
  const json* v = value(key);
  if (!v) {
    if (!*fallback) throw Error(where_ + ": '" + key + "' is missing (" + list + ")");
    return fallback;
  }
  if (v->is_string())
    for (const char* o : options)
      if (v->get<std::string>() == o) return o;
  fail(key, list, *v);
}

std::optional<int64_t> ConfigReader::optional_size(const char* key) {
  const json* v = value(key);
  if (!v || v->is_null()) return std::nullopt;
  return size(key);
}

void ConfigReader::require_value(const char* key, const json& expected, const std::string& what) {
  const json* v = value(key);
  if (v && !v->is_null() && *v != expected)
    throw Error(where_ + ": '" + key + "' is " + shown(*v) + ": vkfuse does not implement " + what +
                " (only " + shown(expected) + ")");
}

ConfigReader ConfigReader::child(const char* key) {
  static const json kEmpty = json::object();
  const json* v = value(key);
  if (v && !v->is_null() && !v->is_object()) fail(key, "an object", *v);
  return ConfigReader(v && v->is_object() ? *v : kEmpty, where_ + "." + key, tensor_count_);
}

ConfigReader ConfigReader::child(const char* key, const char* legacy, json& merged) {
  merged = json::object();
  for (const char* k : {key, legacy}) {
    const json* v = value(k);
    if (!v || v->is_null()) continue;
    if (!v->is_object()) fail(k, "an object", *v);
    for (auto it = v->begin(); it != v->end(); ++it) merged[it.key()] = it.value();
  }
  return ConfigReader(merged, where_ + "." + key, tensor_count_);
}

void ConfigReader::finish(const std::string& arch) const {
  if (!j_.is_object()) return;
  for (auto it = j_.begin(); it != j_.end(); ++it) {
    if (read_.count(it.key())) continue;
    std::string list;
    for (const auto& k : read_) list += (list.empty() ? "" : ", ") + k;
    throw Error(where_ + ": " + clipped(quote(it.key()), 80) + " is not a config key of arch " + arch + " (its keys: " + list +
                "); vkfuse does not ignore keys it does not implement");
  }
}

}  // namespace vkfuse::detail
