#include "text/special_tokens.h"

#include <algorithm>

#include "io/message_text.h"
#include "text/utf8.h"
#include "vkfuse/error.hpp"

namespace vkfuse::text {

SpecialTokens::SpecialTokens(const std::vector<std::string>& utf8_tokens, const std::string& where) {
  for (const auto& t : utf8_tokens) {
    if (t.empty()) throw Error(where + ": a special token is empty");
    std::u32string u = decode_utf8(t, where);
    if (std::find(tokens_.begin(), tokens_.end(), u) == tokens_.end()) tokens_.push_back(std::move(u));
  }
  for (const auto& a : tokens_)
    for (const auto& b : tokens_)
      if (&a != &b && a.find(b) != std::u32string::npos)
        throw Error(where + ": special token " + detail::quote(encode_utf8(b)) + " is inside special token " +
                    detail::quote(encode_utf8(a)) + "; vkfuse does not implement overlapping special tokens");
}

const std::u32string* SpecialTokens::match_at(const std::u32string& text, size_t i) const {
  for (const auto& t : tokens_)
    if (text.compare(i, t.size(), t) == 0) return &t;
  return nullptr;
}

std::vector<SpecialTokens::Piece> SpecialTokens::split(const std::u32string& text) const {
  std::vector<Piece> out;
  size_t start = 0;
  for (size_t i = 0; i < text.size();) {
    const std::u32string* hit = match_at(text, i);
    if (!hit) {
      ++i;
      continue;
    }
    if (start < i) out.push_back({false, text.substr(start, i - start)});
    out.push_back({true, *hit});
    i += hit->size();
    start = i;
  }
  if (start < text.size()) out.push_back({false, text.substr(start)});
  return out;
}

}  // namespace vkfuse::text
