#pragma once
// What the tokenizers need of Unicode, as Python's unicodedata and str methods define it (the
// tables are generated from them: tools/gen_unicode_tables.py), so that vkfuse splits, cases
// and normalizes text exactly as Hugging Face's Python tokenizers do on that Unicode version.
#include <cstdint>
#include <string>

namespace vkfuse::text {

// Property flags of one code point.
enum Prop : uint16_t {
  kLetter = 1,           // general category L*
  kNumber = 2,           // N*
  kMarkNonspacing = 4,   // Mn
  kPunctuation = 8,      // P*
  kOther = 16,           // C*: Cc Cf Cs Co and Cn (unassigned), as BERT's _is_control takes them
  kSpaceSeparator = 32,  // Zs
  kPySpace = 64,         // Python's str.isspace(): what str.split() and strip() cut at
  kRegexSpace = 128,     // the regex module's \s
  kCased = 256,          // cased and not case-ignorable (CPython's final-sigma test)
  kCaseIgnorable = 512,
  kClipOther = 1024,     // CLIP's [^\s\p{L}\p{N}] under IGNORECASE: no case variant is one of those
};

uint16_t props(char32_t c);
inline bool has(char32_t c, uint16_t p) { return (props(c) & p) != 0; }
int combining_class(char32_t c);
const char* unicode_version();

// BERT's predicates (tokenization_utils.py): white space is " \t\n\r" and Zs; a control is
// any C* but "\t\n\r"; punctuation is P* and every ASCII character that is not a letter or
// digit; CJK is BasicTokenizer._is_chinese_char's ranges.
bool is_bert_whitespace(char32_t c);
bool is_bert_control(char32_t c);
bool is_bert_punctuation(char32_t c);
bool is_cjk(char32_t c);

// Python's str.lower(): full lower-case mappings (U+0130 becomes two code points) and the
// final sigma (capital sigma after a cased letter, not followed by one, skipping
// case-ignorable characters both ways, becomes U+03C2).
std::u32string lower(const std::u32string& text);
// str.lower() of the one character c alone (so a capital sigma gives U+03C3), appended.
void append_lower(char32_t c, std::u32string& out);
// unicodedata.normalize("NFD"/"NFC"): canonical decomposition (recursive, Hangul
// algorithmic) and canonical ordering, then for NFC canonical composition.
std::u32string nfd(const std::u32string& text);
std::u32string nfc(const std::u32string& text);

}  // namespace vkfuse::text
