#pragma once
// UTF-8 to code points and back. Text handed to a tokenizer comes from a caller (argv bytes,
// a file): bytes that are not UTF-8 are refused, not replaced, so no input is silently
// tokenized as something else.
#include <string>

namespace vkfuse::text {

// The code points of `bytes`; Error "<where>: not valid UTF-8: <fault> at byte <offset>" for
// a stray continuation byte, a truncated sequence, an overlong form, a surrogate or a value
// past U+10FFFF (the forms Python's strict decoder refuses).
std::u32string decode_utf8(const std::string& bytes, const std::string& where);

void append_utf8(std::string& out, char32_t cp);
std::string encode_utf8(const std::u32string& text);

}  // namespace vkfuse::text
