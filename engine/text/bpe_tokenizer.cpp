// CLIP's byte-level BPE (HF's CLIPTokenizer without ftfy): special tokens split off, the
// BasicTokenizer (lower-case, accents kept, punctuation not split), CLIP's pattern, each piece
// as the characters bytes_to_unicode gives its UTF-8 bytes, "</w>" on the last, then BPE.
#include <algorithm>
#include <array>
#include <cstdint>
#include <queue>
#include <set>
#include <unordered_map>

#include "io/message_text.h"
#include "text/basic_tokenizer.h"
#include "text/metadata_fields.h"
#include "text/special_tokens.h"
#include "text/tokenizer_impl.h"
#include "text/unicode.h"
#include "text/utf8.h"
#include "vkfuse/error.hpp"

namespace vkfuse::text {

namespace {

// GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68 for
// U+0100.. in byte order, so no piece holds a space or a control character.
const std::array<std::string, 256>& byte_symbols() {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      append_utf8(t[size_t(b)], printable ? char32_t(b) : next++);
    }
    return t;
  }();
  return table;
}

// CLIP's pattern's literals, tried in order before its classes, with IGNORECASE: each
// letter matches its two ASCII cases, and 's' also U+017F LATIN SMALL LETTER LONG S (the
// generator checks that these are all the regex module's case variants).
constexpr const char* kLiterals[] = {"<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};

bool same_ignoring_case(char pattern, char32_t c) {
  if (c == char32_t(pattern)) return true;
  if (pattern >= 'a' && pattern <= 'z') return c == char32_t(pattern - 'a' + 'A') || (pattern == 's' && c == 0x17F);
  return false;
}

size_t literal_at(const std::u32string& w, size_t i) {
  for (const char* lit : kLiterals) {
    size_t k = 0;
    while (lit[k] && i + k < w.size() && same_ignoring_case(lit[k], w[i + k])) ++k;
    if (!lit[k]) return k;
  }
  return 0;
}

// re.findall(<|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+)
// on one word: no match crosses white space, so matching word by word is matching the
// space-joined text. What matches no alternative (white space, U+0345) is skipped.
template <class Emit>
void pre_tokenize(const std::u32string& w, Emit emit) {
  size_t i = 0;
  while (i < w.size()) {
    size_t len = literal_at(w, i);
    if (!len) {
      const uint16_t p = props(w[i]);
      uint16_t run = 0;
      if (p & kLetter)
        run = kLetter;
      else if (p & kNumber)
        len = 1;
      else if (p & kClipOther)
        run = kClipOther;
      if (run) {
        len = 1;
        while (i + len < w.size() && has(w[i + len], run)) ++len;
      }
    }
    if (!len) {
      ++i;
      continue;
    }
    emit(w.substr(i, len));
    i += len;
  }
}

class ClipBpe final : public Tokenizer::Impl {
 public:
  explicit ClipBpe(const MetadataFields& f)
      : specials_({f.string("bos"), f.string("eos"), f.string("unk"), f.string("pad")}, f.where()) {
    read_vocab(f);
    read_merges(f);
    first_id = token_id(f, "bos");
    last_id = token_id(f, "eos");
    unk_ = token_id(f, "unk");
    pad_id = token_id(f, "pad");
    max_length = f.max_length("max_length");
    const auto& bytes = byte_symbols();
    for (size_t b = 0; b < 256; ++b) {
      byte_id_[b] = find(bytes[b]);
      byte_end_id_[b] = find(bytes[b] + "</w>");
    }
  }

  const char* type() const override { return "clip_bpe"; }
  int64_t vocab_size() const override { return int64_t(vocab_.size()); }

  // CLIPTokenizer without ftfy: BasicTokenizer(strip_accents=False, do_split_on_punc=False),
  // so lower-cased, CJK spaced, accents kept, punctuation left to the pattern.
  void text_ids(const std::u32string& text, std::vector<int64_t>& out) const override {
    static const std::set<std::u32string> kNone;
    BasicTokenizerOptions basic;
    basic.strip_accents = false;
    basic.split_punctuation = false;
    for (const auto& piece : specials_.split(text)) {
      if (piece.special) {
        out.push_back(find(encode_utf8(piece.text)));
        continue;
      }
      for (const auto& word : basic_tokenize(piece.text, basic, kNone))
        pre_tokenize(word, [&](const std::u32string& token) { bpe(encode_utf8(token), out); });
    }
  }

 private:
  int64_t find(const std::string& token) const { return vocab_find(vocab_, token); }
  int64_t token_id(const MetadataFields& f, const std::string& key) const { return special_id(vocab_, f, key); }

  void read_vocab(const MetadataFields& f) {
    const auto& v = f.at("vocab");
    if (!v.is_object() || v.empty())
      throw Error(f.where("vocab") + " must be a non-empty object of token -> id (it is a " + json_kind(v) + ")");
    const uint64_t n = v.size();
    std::vector<bool> seen(n, false);
    vocab_.reserve(n);
    for (const auto& item : v.items()) {
      const auto& id = item.value();
      const std::string token = detail::quote(detail::clipped(item.key(), 80));
      if (!id.is_number_integer() || (!id.is_number_unsigned() && id.get<int64_t>() < 0) || id.get<uint64_t>() >= n)
        throw Error(f.where("vocab") + ": " + token + " has id " + detail::clipped(id.dump(), 40) +
                    "; the ids must be the integers 0 .. " + std::to_string(n - 1) + ", each once");
      const uint64_t i = id.get<uint64_t>();
      if (seen[i]) throw Error(f.where("vocab") + ": id " + std::to_string(i) + " is given twice (again for " + token + ")");
      seen[i] = true;
      vocab_.emplace(item.key(), int32_t(i));
    }
  }

  void read_merges(const MetadataFields& f) {
    const auto& m = f.at("merges");
    if (!m.is_array()) throw Error(f.where("merges") + " is a " + json_kind(m) + ", not an array of \"a b\" strings");
    merges_.reserve(m.size());
    for (size_t r = 0; r < m.size(); ++r) {
      const std::string at = f.where("merges") + " entry " + std::to_string(r);
      if (!m[r].is_string()) throw Error(at + " is a " + json_kind(m[r]) + ", not a string");
      const std::string s = m[r].get<std::string>();
      const size_t space = s.find(' ');
      if (space == 0 || space == std::string::npos || space + 1 == s.size() || s.find(' ', space + 1) != std::string::npos)
        throw Error(at + " " + detail::quote(detail::clipped(s, 80)) + " is not two tokens joined by one space");
      const std::string a = s.substr(0, space), b = s.substr(space + 1);
      const int64_t ia = find(a), ib = find(b), iab = find(a + b);
      for (const auto& [id, tok] : {std::pair{ia, a}, std::pair{ib, b}, std::pair{iab, a + b}})
        if (id < 0) throw Error(at + " " + detail::quote(detail::clipped(s, 80)) + ": " + detail::quote(detail::clipped(tok, 80)) + " is not in the vocab");
      if (!merges_.emplace(key(ia, ib), Merge{int32_t(r), int32_t(iab)}).second)
        throw Error(at + " " + detail::quote(detail::clipped(s, 80)) + " is a pair listed before");
    }
  }

  static uint64_t key(int64_t a, int64_t b) { return (uint64_t(a) << 32) | uint64_t(b); }

  // HF's bpe(): repeatedly the pair of lowest rank is merged at every place it occurs, left
  // to right (of "x x x" only the first two). The same on a linked list with a heap of
  // (rank, position): all entries of the lowest rank are taken as one round, in position
  // order; a merge can only make pairs of other ranks, which wait for later rounds, so the
  // result is HF's in O(n log n) rather than HF's O(n^2) per word.
  void bpe(const std::string& token, std::vector<int64_t>& out) const {
    // HF's cache starts with these two, as themselves: no "</w>", no merges.
    if (token == "<|startoftext|>" || token == "<|endoftext|>") {
      const int64_t id = find(token);
      out.push_back(id < 0 ? unk_ : id);
      return;
    }
    struct Node {
      int64_t id;  // -1: a symbol the vocab lacks (it takes part in no merge)
      int32_t prev, next;
    };
    const size_t n = token.size();
    std::vector<Node> nodes(n);
    for (size_t i = 0; i < n; ++i) {
      const auto b = static_cast<unsigned char>(token[i]);
      nodes[i] = {i + 1 == n ? byte_end_id_[b] : byte_id_[b], int32_t(i) - 1, i + 1 == n ? -1 : int32_t(i + 1)};
    }
    struct Entry {
      int32_t rank, pos;
      int64_t left, right, merged;
      bool operator>(const Entry& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
    auto push = [&](int32_t pos) {
      if (pos < 0 || nodes[size_t(pos)].next < 0) return;
      const Node& l = nodes[size_t(pos)];
      const Node& r = nodes[size_t(l.next)];
      if (l.id < 0 || r.id < 0) return;
      auto it = merges_.find(key(l.id, r.id));
      if (it != merges_.end()) heap.push({it->second.rank, pos, l.id, r.id, it->second.id});
    };
    for (size_t i = 0; i + 1 < n; ++i) push(int32_t(i));
    std::vector<int32_t> merged;
    while (!heap.empty()) {
      const int32_t rank = heap.top().rank;
      merged.clear();
      while (!heap.empty() && heap.top().rank == rank) {
        const Entry e = heap.top();
        heap.pop();
        Node& l = nodes[size_t(e.pos)];
        // Stale: the left symbol was merged away or changed, or its right neighbour did.
        if (l.id != e.left || l.next < 0 || nodes[size_t(l.next)].id != e.right) continue;
        Node& r = nodes[size_t(l.next)];
        l.id = e.merged;
        r.id = -2;  // gone: never equal to an entry's symbol
        l.next = r.next;
        if (r.next >= 0) nodes[size_t(r.next)].prev = e.pos;
        merged.push_back(e.pos);
      }
      for (int32_t pos : merged) {
        if (nodes[size_t(pos)].id == -2) continue;
        push(nodes[size_t(pos)].prev);
        push(pos);
      }
    }
    for (int32_t i = 0; i >= 0; i = nodes[size_t(i)].next) out.push_back(nodes[size_t(i)].id < 0 ? unk_ : nodes[size_t(i)].id);
  }

  struct Merge {
    int32_t rank, id;
  };
  SpecialTokens specials_;
  std::unordered_map<std::string, int32_t> vocab_;
  std::unordered_map<uint64_t, Merge> merges_;
  std::array<int64_t, 256> byte_id_{}, byte_end_id_{};
  int64_t unk_ = 0;
};

}  // namespace

std::shared_ptr<const Tokenizer::Impl> make_clip_bpe(const nlohmann::json& j, const std::string& where) {
  const MetadataFields f(j, where, {"type", "vocab", "merges", "bos", "eos", "unk", "pad", "max_length"});
  return std::make_shared<ClipBpe>(f);
}

}  // namespace vkfuse::text
