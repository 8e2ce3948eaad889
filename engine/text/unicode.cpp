// Lookups in the generated tables: sorted ranges, binary search.
#include "text/unicode.h"

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <utility>
#include <vector>

namespace vkfuse::text {

namespace {

struct PropRange {
  char32_t first;
  uint16_t flags;
};
struct LowerRun {
  char32_t first, last;
  int32_t delta;
  uint8_t stride;
};
struct LowerMulti {
  char32_t cp;
  char32_t out[3];
};
struct CccRange {
  char32_t first, last;
  uint8_t ccc;
};
struct Decomposition {
  char32_t cp, first, second;  // second 0: a singleton
  uint8_t composes;
};
struct CjkRange {
  char32_t first, last;
};

#include "text/unicode_tables.inc"

// Hangul syllables decompose and compose by arithmetic (Unicode 3.12), not by table.
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount,
                   kSCount = kLCount * kNCount;

template <class Range, size_t N>
const Range* last_not_after(const Range (&table)[N], char32_t c) {
  const Range* it = std::upper_bound(std::begin(table), std::end(table), c,
                                     [](char32_t v, const Range& r) { return v < r.first; });
  return it == std::begin(table) ? nullptr : it - 1;
}

const Decomposition* find_decomposition(char32_t c) {
  const Decomposition* it =
      std::lower_bound(std::begin(kDecompositions), std::end(kDecompositions), c,
                       [](const Decomposition& d, char32_t v) { return d.cp < v; });
  return it != std::end(kDecompositions) && it->cp == c ? it : nullptr;
}

void decompose(char32_t c, std::u32string& out) {
  if (c >= kSBase && c < kSBase + kSCount) {
    const char32_t s = c - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount) out.push_back(kTBase + s % kTCount);
    return;
  }
  const Decomposition* d = find_decomposition(c);
  if (!d) {
    out.push_back(c);
    return;
  }
  decompose(d->first, out);  // at most a few levels deep (the data's longest chain is 4)
  if (d->second) decompose(d->second, out);
}

// The primary composites, by (first, second): every decomposition into two that NFC
// composes back.
using PairKey = uint64_t;
PairKey pair_key(char32_t a, char32_t b) { return (PairKey(a) << 32) | b; }

const std::vector<std::pair<PairKey, char32_t>>& compositions() {
  static const std::vector<std::pair<PairKey, char32_t>> table = [] {
    std::vector<std::pair<PairKey, char32_t>> t;
    for (const Decomposition& d : kDecompositions)
      if (d.composes) t.push_back({pair_key(d.first, d.second), d.cp});
    std::sort(t.begin(), t.end());
    return t;
  }();
  return table;
}

bool compose(char32_t a, char32_t b, char32_t& out) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount) {
    out = kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
    return true;
  }
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount) {
    out = a + (b - kTBase);
    return true;
  }
  const auto& t = compositions();
  const PairKey k = pair_key(a, b);
  auto it = std::lower_bound(t.begin(), t.end(), k, [](const auto& e, PairKey v) { return e.first < v; });
  if (it == t.end() || it->first != k) return false;
  out = it->second;
  return true;
}

// CPython's final_sigma(): the sigma at i ends a word.
bool final_sigma(const std::u32string& t, size_t i) {
  size_t j = i;
  while (j > 0 && has(t[j - 1], kCaseIgnorable)) --j;
  if (j == 0 || !has(t[j - 1], kCased)) return false;
  size_t k = i + 1;
  while (k < t.size() && has(t[k], kCaseIgnorable)) ++k;
  return k == t.size() || !has(t[k], kCased);
}

}  // namespace

uint16_t props(char32_t c) {
  const PropRange* r = last_not_after(kPropRanges, c);
  return r ? r->flags : 0;
}

int combining_class(char32_t c) {
  const CccRange* r = last_not_after(kCccRanges, c);
  return r && c <= r->last ? r->ccc : 0;
}

const char* unicode_version() { return kUnicodeVersion; }

bool is_bert_whitespace(char32_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || has(c, kSpaceSeparator);
}

bool is_bert_control(char32_t c) {
  return c != '\t' && c != '\n' && c != '\r' && has(c, kOther);
}

bool is_bert_punctuation(char32_t c) {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return true;
  return has(c, kPunctuation);
}

bool is_cjk(char32_t c) {
  for (const CjkRange& r : kCjkRanges)
    if (c >= r.first && c <= r.last) return true;
  return false;
}

void append_lower(char32_t c, std::u32string& out) {
  for (const LowerMulti& m : kLowerMulti)
    if (m.cp == c) {
      for (char32_t x : m.out)
        if (x) out.push_back(x);
      return;
    }
  const LowerRun* r = last_not_after(kLowerRuns, c);
  if (r && c <= r->last && (c - r->first) % r->stride == 0)
    out.push_back(char32_t(int64_t(c) + r->delta));
  else
    out.push_back(c);
}

std::u32string lower(const std::u32string& text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == 0x03A3)
      out.push_back(final_sigma(text, i) ? 0x03C2 : 0x03C3);
    else
      append_lower(text[i], out);
  }
  return out;
}

std::u32string nfd(const std::u32string& text) {
  std::u32string out;
  out.reserve(text.size());
  for (char32_t c : text) decompose(c, out);
  // Canonical ordering: each run of non-starters sorted by class, equal classes keeping
  // their order. A stable sort keeps a run of many marks O(n log n).
  for (size_t i = 0; i < out.size();) {
    if (combining_class(out[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < out.size() && combining_class(out[j]) != 0) ++j;
    if (j - i > 1)
      std::stable_sort(out.begin() + std::ptrdiff_t(i), out.begin() + std::ptrdiff_t(j),
                       [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
    i = j;
  }
  return out;
}

std::u32string nfc(const std::u32string& text) {
  const std::u32string d = nfd(text);
  std::u32string out;
  out.reserve(d.size());
  // A mark composes with the last starter unless blocked: some character between them has a
  // class of 0 or at least its own. In canonical order the last one kept between them has
  // the largest class there, and a starter that does not compose becomes the new starter.
  size_t starter = std::u32string::npos;
  int between = -1;  // class of the last character kept after the starter; -1: none
  for (char32_t c : d) {
    const int cc = combining_class(c);
    char32_t composite;
    if (starter != std::u32string::npos && !(between != -1 && between >= cc) && compose(out[starter], c, composite)) {
      out[starter] = composite;
      continue;
    }
    if (cc == 0) {
      starter = out.size();
      between = -1;
    } else {
      between = cc;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace vkfuse::text
