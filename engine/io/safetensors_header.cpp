// The header as SAX events: {"name": {"dtype": s, "shape": [n...], "data_offsets": [b, e]},
// "__metadata__": {k: s}}. A structure other than that stops the parse at once with the
// message, so nothing nested deeper is ever read.
#include "io/safetensors_header.h"

#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "io/convert.h"
#include "io/message_text.h"
#include "vkfuse/error.hpp"

namespace vkfuse::detail {

namespace {

using json = nlohmann::json;

std::optional<DType> dtype_from_name(const std::string& s) {
  static const std::pair<const char*, DType> table[] = {
      {"F32", DType::F32}, {"F16", DType::F16}, {"BF16", DType::BF16}, {"I64", DType::I64},
      {"I32", DType::I32}, {"BOOL", DType::Bool}, {"U8", DType::U8}};
  for (const auto& [name, t] : table)
    if (s == name) return t;
  return std::nullopt;
}

class Reader : public nlohmann::json_sax<json> {
 public:
  Reader(uint64_t data_size, std::vector<SafetensorsFile::TensorInfo>& t, std::map<std::string, size_t>& index,
         std::map<std::string, std::string>& meta)
      : data_size_(data_size), tensors_(t), index_(index), meta_(meta) {}

  std::string error;  // set when the parse stopped on a fault of the header's structure

  bool null() override { return scalar("null", "null"); }
  bool boolean(bool v) override { return scalar("boolean", v ? "true" : "false"); }
  bool number_integer(number_integer_t v) override { return scalar("number", std::to_string(v)); }
  bool number_unsigned(number_unsigned_t v) override {
    if (at_ == At::Shape) {
      if (v > uint64_t(std::numeric_limits<int64_t>::max())) return fail_shape(std::to_string(v));
      if (cur_.shape.size() == kMaxRank)
        return fail(entry() + "shape has more than " + std::to_string(kMaxRank) + " dimensions");
      cur_.shape.push_back(int64_t(v));
      return true;
    }
    if (at_ == At::Offsets) {
      if (offsets_.size() == 2) return fail(entry() + "data_offsets holds more than [begin, end]");
      offsets_.push_back(v);
      offsets_text_ += (offsets_text_.size() > 1 ? "," : "") + std::to_string(v);
      return true;
    }
    return scalar("number", std::to_string(v));
  }
  bool number_float(number_float_t, const string_t& s) override { return scalar("number", s); }
  bool string(string_t& s) override {
    if (at_ == At::Metadata) {
      meta_[key_] = s;
      return true;
    }
    if (at_ == At::Entry && key_ == "dtype") {
      const auto d = dtype_from_name(s);
      if (!d) return fail(entry() + "dtype " + quote(s) + " is not one vkfuse reads (F32, F16, BF16, I64, I32, BOOL, U8)");
      cur_.dtype = *d;
      return true;
    }
    return scalar("string", clipped(quote(s), 40));
  }
  bool binary(binary_t&) override { return scalar("binary", "binary"); }

  bool start_object(std::size_t) override {
    switch (at_) {
      case At::Start: at_ = At::Top; return true;
      case At::Top:
        if (key_ == "__metadata__") {
          at_ = At::Metadata;
          seen_.clear();
          return true;
        }
        at_ = At::Entry;
        cur_ = {key_, DType::F32, {}, 0, 0, nullptr};
        seen_.clear();
        have_dtype_ = have_shape_ = have_offsets_ = false;
        return true;
      default: return scalar("object", "an object");
    }
  }
  bool start_array(std::size_t) override {
    if (at_ == At::Entry && key_ == "shape") {
      at_ = At::Shape;
      have_shape_ = true;
      return true;
    }
    if (at_ == At::Entry && key_ == "data_offsets") {
      at_ = At::Offsets;
      have_offsets_ = true;
      offsets_.clear();
      offsets_bad_ = false;
      offsets_text_ = "[";
      return true;
    }
    return scalar("array", "an array");
  }
  bool end_array() override {
    if (at_ == At::Shape) {
      at_ = At::Entry;
      return true;
    }
    // At::Offsets: arrays anywhere else stop the parse at their start.
    at_ = At::Entry;
    if (offsets_.size() != 2 || offsets_bad_) return fail(entry() + "data_offsets is " + offsets_text_ + "], not [begin, end] in bytes");
    cur_.offset = offsets_[0];  // checked against the end and the data in end_entry()
    cur_.bytes = offsets_[1];
    return true;
  }
  bool end_object() override {
    switch (at_) {
      case At::Metadata: at_ = At::Top; return true;
      case At::Entry: at_ = At::Top; return end_entry();
      default: at_ = At::Done; return true;
    }
  }
  bool key(string_t& k) override {
    if (at_ == At::Top) {
      if (tensors_.size() == kMaxTensors && k != "__metadata__")
        return fail("header holds more than " + std::to_string(kMaxTensors) + " tensors");
      if (index_.count(k) || (k == "__metadata__" && metadata_seen_))
        return fail(k == "__metadata__" ? "__metadata__ appears twice" : "duplicate tensor name " + quote(k));
      if (k == "__metadata__") metadata_seen_ = true;
    } else {
      if (!seen_.insert(k).second)
        return fail((at_ == At::Metadata ? std::string("__metadata__") : "tensor " + quote(cur_.name)) +
                    ": duplicate key " + quote(k));
      if (at_ == At::Entry) {
        if (k == "dtype") have_dtype_ = true;
        else if (k != "shape" && k != "data_offsets")
          return fail(entry() + "unexpected key " + quote(k) + " (an entry holds dtype, shape and data_offsets)");
      }
    }
    key_ = k;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    syntax = e.what();
    return false;
  }
  std::string syntax;  // the JSON parser's own message

 private:
  enum class At { Start, Top, Metadata, Entry, Shape, Offsets, Done };

  std::string entry() const { return "tensor " + quote(cur_.name) + ": "; }
  bool fail(const std::string& m) {
    error = m;
    return false;
  }
  bool fail_shape(const std::string& shown) {
    return fail(entry() + "shape[" + std::to_string(cur_.shape.size()) + "] is " + shown + ", not a non-negative integer");
  }
  // A value of the wrong kind where it stands (`shown`: how a message shows it).
  bool scalar(const char* type, const std::string& shown) {
    const std::string kind = std::string("a JSON ") + type;
    switch (at_) {
      case At::Start: return fail(std::string("header is a JSON ") + type + ", not an object");
      case At::Top:
        if (key_ == "__metadata__") return fail("__metadata__ is a JSON " + std::string(type) + ", not an object of strings");
        cur_.name = key_;
        return fail(entry() + "entry is a JSON " + type + ", not an object with dtype, shape and data_offsets");
      case At::Metadata: return fail("__metadata__ " + quote(key_) + " is a JSON " + type + ", not a string");
      case At::Entry:
        if (key_ == "dtype") return fail(entry() + "dtype is a JSON " + type + ", not a string");
        return fail(entry() + key_ + " is a JSON " + type + ", not an array");
      case At::Shape: return fail_shape(std::string(type) == "number" ? shown : kind);
      case At::Offsets:
        offsets_bad_ = true;
        if (offsets_text_.size() > 40) return fail(entry() + "data_offsets is " + offsets_text_ + "..., not [begin, end] in bytes");
        if (std::string(type) == "array" || std::string(type) == "object")
          return fail(entry() + "data_offsets holds " + kind + ", not [begin, end] in bytes");
        offsets_text_ += (offsets_text_.size() > 1 ? "," : "") + shown;
        return true;
      case At::Done: return fail("header has a value after its object");
    }
    return false;
  }
  bool end_entry() {
    for (auto [have, name] : {std::pair{have_dtype_, "dtype"}, {have_shape_, "shape"}, {have_offsets_, "data_offsets"}})
      if (!have) return fail(entry() + "missing \"" + name + "\"");
    const uint64_t begin = cur_.offset, end = cur_.bytes;
    const std::string offsets = "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "]";
    if (begin > end) return fail(entry() + offsets + " end before they begin");
    if (end > data_size_)
      return fail(entry() + offsets + " run past the end of the data section (" + std::to_string(data_size_) + " bytes)");
    const auto need = byte_count(cur_.shape, cur_.dtype);
    const std::string what = std::string(dtype_name(cur_.dtype)) + " " + shape_string(cur_.shape);
    if (!need) return fail(entry() + what + " is over 2^64 bytes");
    if (*need != end - begin)
      return fail(entry() + offsets + " hold " + std::to_string(end - begin) + " bytes, but " + what + " needs " +
                  std::to_string(*need));
    cur_.offset = size_t(begin);
    cur_.bytes = size_t(end - begin);
    index_[cur_.name] = tensors_.size();
    tensors_.push_back(std::move(cur_));
    return true;
  }

  uint64_t data_size_;
  std::vector<SafetensorsFile::TensorInfo>& tensors_;
  std::map<std::string, size_t>& index_;
  std::map<std::string, std::string>& meta_;
  At at_ = At::Start;
  std::string key_;
  std::set<std::string> seen_;  // keys of the object being read (a handful)
  SafetensorsFile::TensorInfo cur_{};
  bool have_dtype_ = false, have_shape_ = false, have_offsets_ = false, metadata_seen_ = false, offsets_bad_ = false;
  std::vector<uint64_t> offsets_;
  std::string offsets_text_;
};

}  // namespace

void read_header(const char* text, size_t size, uint64_t data_size, const std::string& path,
                 std::vector<SafetensorsFile::TensorInfo>& tensors, std::map<std::string, size_t>& index,
                 std::map<std::string, std::string>& metadata) {
  Reader r(data_size, tensors, index, metadata);
  const bool ok = json::sax_parse(text, text + size, &r, json::input_format_t::json, true);
  if (!r.error.empty()) throw Error(path + ": " + r.error);
  if (!ok) throw Error(path + ": header is not valid UTF-8 JSON: " + json_error(r.syntax));
}

}  // namespace vkfuse::detail
