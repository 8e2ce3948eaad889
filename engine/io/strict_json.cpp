// Strict JSON: a SAX pass that checks duplicate keys and depth (sets per open object, so
// linear in the text), then the tree built without a callback. nlohmann's callback parser,
// used for the duplicate check before, was quadratic in the number of keys of one object.
#include "io/strict_json.h"

#include <cstring>
#include <set>

#include "io/message_text.h"
#include "vkfuse/error.hpp"

namespace vkfuse::detail {

namespace {

using json = nlohmann::json;

class Checker : public nlohmann::json_sax<json> {
 public:
  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(number_integer_t) override { return value(); }
  bool number_unsigned(number_unsigned_t) override { return value(); }
  bool number_float(number_float_t, const string_t&) override { return value(); }
  bool string(string_t&) override { return value(); }
  bool binary(binary_t&) override { return value(); }
  bool start_object(std::size_t) override { return open(true); }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(false); }
  bool end_array() override { return close(); }
  bool key(string_t& k) override {
    Frame& f = frames_.back();
    if (!f.keys.insert(k).second) {
      dup_ = DuplicateKey{k, {}};
      for (size_t i = 0; i + 1 < frames_.size(); ++i) dup_.path.push_back(frames_[i].key);
      found_dup_ = true;
      return false;
    }
    f.key = k;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    error_ = e.what();
    return false;
  }

  bool found_dup_ = false, too_deep_ = false;
  DuplicateKey dup_;
  std::string error_;

 private:
  struct Frame {
    bool object;
    std::set<std::string> keys;
    std::string key;  // the latest key, which owns what is nested under it
  };
  bool value() { return true; }
  bool open(bool object) {
    if (frames_.size() >= size_t(kMaxJsonDepth)) {
      too_deep_ = true;
      return false;
    }
    frames_.push_back({object, {}, {}});
    return true;
  }
  bool close() {
    frames_.pop_back();
    return true;
  }
  std::vector<Frame> frames_;
};

}  // namespace

void check_json_text(const char* text, size_t size, const std::string& where, const std::string& what) {
  // nlohmann skips a UTF-8 byte-order mark without a word; the format has none.
  if (size >= 3 && std::memcmp(text, "\xEF\xBB\xBF", 3) == 0)
    throw Error(where + ": " + what + " starts with a UTF-8 byte-order mark; it must be plain UTF-8 JSON");
  // JSON text holds no raw NUL, in a string or out of one: one there is corruption, and
  // parsers that stop at it would see a different document than the one checked here.
  if (const void* nul = std::memchr(text, 0, size))
    throw Error(where + ": " + what + " holds a NUL byte at offset " +
                std::to_string(static_cast<const char*>(nul) - text) + "; it must be UTF-8 JSON");
}

json parse_strict_json(const char* text, size_t size, const std::string& where, const std::string& what,
                       std::string (*duplicate)(const DuplicateKey&)) {
  check_json_text(text, size, where, what);
  Checker check;
  const bool ok = json::sax_parse(text, text + size, &check, json::input_format_t::json, true);
  if (check.found_dup_) throw Error(where + ": " + duplicate(check.dup_));
  if (check.too_deep_)
    throw Error(where + ": " + what + " nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  if (!ok) throw Error(where + ": " + what + " is not valid UTF-8 JSON: " + json_error(check.error_));
  try {
    return json::parse(text, text + size);
  } catch (const json::exception& e) {  // the SAX pass accepted it; this is not expected
    throw Error(where + ": " + what + " is not valid UTF-8 JSON: " + json_error(e.what()));
  }
}

}  // namespace vkfuse::detail
