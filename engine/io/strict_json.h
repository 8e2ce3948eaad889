#pragma once
// JSON from files vkfuse did not write (a safetensors header, a model's config), parsed
// strictly and in linear time: UTF-8 text with no byte-order mark and no NUL byte, one value
// and nothing after it but white space, no key twice in one object, nesting bounded. What is
// refused is one Error: "<where>: <what is wrong>".
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace vkfuse::detail {

// Deeper than any header or config vkfuse reads (a header is 3 levels, a Hugging Face config
// 3 or 4): a value nested deeper is refused before any tree is built for it.
constexpr int kMaxJsonDepth = 64;

// A key found twice: the key and the keys of the objects it is nested in, outermost first.
struct DuplicateKey {
  std::string key;
  std::vector<std::string> path;
};

// The checks on the text itself: no byte-order mark, no NUL byte.
void check_json_text(const char* text, size_t size, const std::string& where, const std::string& what);

// `duplicate` turns a repeated key into the message (the caller knows what the objects are);
// `what` names the text in the other messages ("header", "config").
nlohmann::json parse_strict_json(const char* text, size_t size, const std::string& where, const std::string& what,
                                 std::string (*duplicate)(const DuplicateKey&));

}  // namespace vkfuse::detail
