// The tokenizers (CLIP's byte-level BPE, BERT's WordPiece) against Hugging Face's slow Python
// tokenizers: hand-worked examples, the cases tools/gen_tokenizer_cases.py wrote with the port
// in tools/hf_tokenizers.py, the Unicode tables against Python's unicodedata (digests written
// by tools/gen_unicode_tables.py), hostile metadata and text, and `vkfuse tokenize`. No GPU,
// no Python.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_runner.hpp"
#include "temp_dir.hpp"
#include "text/unicode.h"
#include "text/utf8.h"
#include "vkfuse/error.hpp"
#include "vkfuse/safetensors.hpp"
#include "vkfuse/tokenizer.hpp"

namespace {

using Ids = std::vector<int64_t>;
using vkfuse::Tokenizer;
using json = nlohmann::json;
using namespace std::string_literals;

std::string data_path(const std::string& name) { return std::string(VKFUSE_TEST_DATA) + "/tokenizer/" + name; }

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  EXPECT_TRUE(f) << path;
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string metadata(const std::string& name) { return read_file(data_path(name + ".json")); }

Tokenizer load(const std::string& name) { return Tokenizer::from_json(metadata(name), name + ".json"); }

// The JSON of `name` with one change, for the error tests.
template <class Edit>
std::string edited(const std::string& name, Edit edit) {
  json j = json::parse(metadata(name));
  edit(j);
  return j.dump();
}

::testing::AssertionResult refused(const std::string& json_text, const std::string& needle) {
  try {
    Tokenizer::from_json(json_text, "model.safetensors: metadata vkfuse.tokenizer");
  } catch (const vkfuse::Error& e) {
    const std::string what = e.what();
    if (what.find("model.safetensors: metadata vkfuse.tokenizer") == std::string::npos)
      return ::testing::AssertionFailure() << "does not say where: " << what;
    if (what.find(needle) == std::string::npos)
      return ::testing::AssertionFailure() << "'" << needle << "' not in: " << what;
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "accepted";
}

// --- CLIP, worked by hand -----------------------------------------------------------------
// tests/data/tokenizer/hf/clip: ids 0..255 are bytes_to_unicode's symbols in its order (the
// printable bytes '!'..'~' first, so an ASCII character c is c - 33), 256..511 the same with
// "</w>", then one id per merge in rank order (t h = 512, th e</w> = 513, o f</w> = 514,
// c a = 515, ca t</w> = 516, ..., phot o</w> = 520, ' s</w> = 523, i t</w> = 524,
// kz k = 536, k z = 537, Ã ©</w> = 539), then <|startoftext|> = 552, <|endoftext|> = 553.

TEST(Tokenizer, ClipPhotoOfACat) {
  const Tokenizer t = load("clip");
  EXPECT_EQ(t.type(), "clip_bpe");
  EXPECT_EQ(t.vocab_size(), 554);
  EXPECT_EQ(t.pad_id(), 553);
  // "a" is one symbol: a</w> = 256 + 'a' - 33 = 320. "photo": p h o t o</w> -> (p, h) rank 5
  // -> ph o t o</w> -> (o, t) rank 6 -> ph ot o</w> -> (ph, ot) 7 -> phot o</w> -> 8: 520.
  // "of": o f</w> -> 514. "cat": c a t</w> -> (c, a) 3 -> ca t</w> -> 4: 516.
  EXPECT_EQ(t.encode("a photo of a cat"), (Ids{552, 320, 520, 514, 320, 516, 553}));
  // Lower-cased first: the same ids; "!!" is one piece of [^\s\p{L}\p{N}]+: ! !</w> -> 541.
  EXPECT_EQ(t.encode("A PHOTO OF A CAT!!"), (Ids{552, 320, 520, 514, 320, 516, 541, 553}));
}

TEST(Tokenizer, ClipContractionsAndDigits) {
  const Tokenizer t = load("clip");
  // "it" ([\p{L}]+, i t</w> -> 524) then the literal 's (' s</w> -> 523).
  EXPECT_EQ(t.encode("it's"), (Ids{552, 524, 523, 553}));
  // 's matches U+017F LONG S too (IGNORECASE): ' then C5 BF as Å (id 129) and ¿</w>
  // (0xBF: 106 + 0xBF - 0xAE = 123, + 256 = 379).
  EXPECT_EQ(t.encode("'\xc5\xbf"), (Ids{552, 6, 129, 379, 553}));
  // Digits one by one: '2' = 50 - 33 = 17, as a word 17 + 256 = 273; '0' 271, '3' 274.
  EXPECT_EQ(t.encode("2023"), (Ids{552, 273, 271, 273, 274, 553}));
}

TEST(Tokenizer, ClipMergesEveryOccurrenceOfTheBestPairFirst) {
  const Tokenizer t = load("clip");
  // k z k z q</w>: the only ranked pair is (k, z) (rank 25); both are merged before (kz, k)
  // (rank 24, lower) is looked at, and by then no k is left: kz kz q</w> = 537 537 336.
  // Merging one occurrence at a time would give kzk z q</w>.
  EXPECT_EQ(t.encode("kzkzq"), (Ids{552, 537, 537, 336, 553}));
}

TEST(Tokenizer, ClipBytesAndUnknownCharacters) {
  const Tokenizer t = load("clip");
  // é is C3 A9: Ã (0xC3: 106 + 0xC3 - 0xAE = 127) and ©</w> (0xA9: 94 + 8 = 102, + 256 =
  // 358), merged by Ã ©</w> into 539.
  EXPECT_EQ(t.encode("\xc3\xa9"), (Ids{552, 539, 553}));
  // ü is C3 BC: no merge, so the bytes' own symbols: Ã 127, ¼</w> 106 + 14 + 256 = 376.
  EXPECT_EQ(t.encode("\xc3\xbc"), (Ids{552, 127, 376, 553}));
  // Control and format characters go (\x07, U+200B), white space separates.
  EXPECT_EQ(t.encode("a\x07\xe2\x80\x8b\ta"), (Ids{552, 320, 320, 553}));
}

TEST(Tokenizer, ClipSpecialTokensAndEmptyText) {
  const Tokenizer t = load("clip");
  EXPECT_EQ(t.encode(""), (Ids{552, 553}));
  EXPECT_EQ(t.encode(" \t\n"), (Ids{552, 553}));
  EXPECT_EQ(t.encode("<|endoftext|>a"), (Ids{552, 553, 320, 553}));
}

TEST(Tokenizer, ClipTruncationKeepsTheEndToken) {
  // clip_short has max_length 8: <|startoftext|>, six of the text's ids, <|endoftext|>.
  const Tokenizer t = load("clip_short");
  EXPECT_EQ(t.encode("a a a a a a a a a a"), (Ids{552, 320, 320, 320, 320, 320, 320, 553}));
  EXPECT_EQ(t.encode("a a"), (Ids{552, 320, 320, 553}));
  EXPECT_EQ(load("clip").encode(std::string(400, 'x') + " of").size(), 77u);
}

// --- BERT, worked by hand -----------------------------------------------------------------
// tests/data/tokenizer/hf/bert/vocab.txt: [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4, the 5,
// a 6, photo 7, of 8, cat 9, dog 10, un 11, ##aff 12, ##able 13, hello 14, world 15, ", 16",
// ". 17", "! 18", cafe 29, café 30, Cafe 31, Café 32, 你 37, 好 38, 世 39, οδοσ 46, x 49,
// ##x 50, hello-world 54.

TEST(Tokenizer, BertPunctuationAndWordPieces) {
  const Tokenizer t = load("bert_uncased");
  EXPECT_EQ(t.type(), "wordpiece");
  EXPECT_EQ(t.vocab_size(), 60);
  EXPECT_EQ(t.pad_id(), 0);
  EXPECT_EQ(t.encode("Hello, world!"), (Ids{2, 14, 16, 15, 18, 3}));
  // Greedy longest match: un, then ##aff, then ##able.
  EXPECT_EQ(t.encode("unaffable"), (Ids{2, 11, 12, 13, 3}));
  // x then 99 times ##x; past 100 characters the word is [UNK].
  Ids hundred{2, 49};
  hundred.insert(hundred.end(), 99, 50);
  hundred.push_back(3);
  EXPECT_EQ(load("bert_cased").encode(std::string(100, 'x')), hundred);
  EXPECT_EQ(t.encode(std::string(101, 'x')), (Ids{2, 1, 3}));
  // No piece for "y" after "x": the whole word is [UNK].
  EXPECT_EQ(t.encode("xy"), (Ids{2, 1, 3}));
}

TEST(Tokenizer, BertAccentsByOption) {
  // do_lower_case with strip_accents null strips; strip_accents false keeps them; without
  // lower-casing only strip_accents true strips.
  EXPECT_EQ(load("bert_uncased").encode("Caf\xc3\xa9"), (Ids{2, 29, 3}));       // cafe
  EXPECT_EQ(load("bert_keep_accents").encode("Caf\xc3\xa9"), (Ids{2, 30, 3}));  // café
  EXPECT_EQ(load("bert_cased").encode("Caf\xc3\xa9"), (Ids{2, 32, 3}));         // Café
  EXPECT_EQ(load("bert_cased_strip").encode("Caf\xc3\xa9"), (Ids{2, 31, 3}));   // Cafe
  // e + U+0301 is NFC-composed to é first.
  EXPECT_EQ(load("bert_keep_accents").encode("cafe\xcc\x81"), (Ids{2, 30, 3}));
}

TEST(Tokenizer, BertCjkControlAndSpecials) {
  const Tokenizer t = load("bert_uncased");
  // Each CJK character is a word; 界 is not in the vocab.
  EXPECT_EQ(t.encode("\xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95\x8c"), (Ids{2, 37, 38, 39, 1, 3}));
  // Without CJK spacing the four are one word, and no piece starts ##好: [UNK].
  EXPECT_EQ(load("bert_no_cjk").encode("\xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95\x8c"), (Ids{2, 1, 3}));
  // NUL and BEL go; tab and no-break space separate.
  EXPECT_EQ(t.encode("hel\0lo\tworld\x07\xc2\xa0!"s), (Ids{2, 14, 15, 18, 3}));
  // Special tokens in the text are their own ids, wherever they are.
  EXPECT_EQ(t.encode("[CLS]hello [MASK]"), (Ids{2, 2, 14, 4, 3}));
  // never_split keeps "hello-world" whole (after the lower-casing of the text).
  EXPECT_EQ(t.encode("Hello-World"), (Ids{2, 54, 3}));
  // Lower-casing is one character at a time, so no final sigma: ΟΔΟΣ is οδοσ.
  EXPECT_EQ(t.encode("\xce\x9f\xce\x94\xce\x9f\xce\xa3"), (Ids{2, 46, 3}));
}

TEST(Tokenizer, BertTruncationAndBatch) {
  const Tokenizer t = load("bert_uncased");  // max_length 16
  const Ids ids = t.encode("a a a a a a a a a a a a a a a a a a a a");
  ASSERT_EQ(ids.size(), 16u);
  EXPECT_EQ(ids.front(), 2);
  EXPECT_EQ(ids[14], 6);
  EXPECT_EQ(ids.back(), 3);

  const Tokenizer::Batch b = t.encode_batch({"a photo", "a", ""});
  EXPECT_EQ(b.rows, 3);
  EXPECT_EQ(b.length, 4);
  EXPECT_EQ(b.ids, (Ids{2, 6, 7, 3, /**/ 2, 6, 3, 0, /**/ 2, 3, 0, 0}));
  EXPECT_EQ(b.mask, (Ids{1, 1, 1, 1, /**/ 1, 1, 1, 0, /**/ 1, 1, 0, 0}));
  const Tokenizer::Batch none = t.encode_batch({});
  EXPECT_EQ(none.rows, 0);
  EXPECT_EQ(none.length, 0);
  EXPECT_TRUE(none.ids.empty());
  // CLIP pads with <|endoftext|>.
  const Tokenizer::Batch c = load("clip").encode_batch({"a", "a a"});
  EXPECT_EQ(c.ids, (Ids{552, 320, 553, 553, /**/ 552, 320, 320, 553}));
  EXPECT_EQ(c.mask, (Ids{1, 1, 1, 0, /**/ 1, 1, 1, 1}));
}

// --- the oracle's cases -------------------------------------------------------------------

TEST(TokenizerCases, MatchTheHfPort) {
  const json cases = json::parse(read_file(data_path("cases.json")));
  std::map<std::string, Tokenizer> tokenizers;
  size_t n = 0;
  for (const auto& c : cases.at("cases")) {
    const std::string name = c.at("tokenizer");
    if (!tokenizers.count(name)) tokenizers.emplace(name, load(name));
    const std::string text = c.at("text");
    EXPECT_EQ(tokenizers.at(name).encode(text), c.at("ids").get<Ids>()) << name << ": " << json(text).dump();
    ++n;
  }
  EXPECT_GE(n, 140u);
  EXPECT_EQ(tokenizers.size(), 7u);
}

// --- Unicode against Python's unicodedata -------------------------------------------------

uint64_t fnv1a(const std::string& bytes, uint64_t h) {
  for (unsigned char b : bytes) h = (h ^ b) * 0x100000001B3ull;
  return h;
}

TEST(TokenizerUnicode, TablesAgreeWithPython) {
  namespace t = vkfuse::text;
  const json check = json::parse(read_file(data_path("unicode_check.json")));
  EXPECT_EQ(check.at("unicode_version").get<std::string>(), t::unicode_version());
  const uint32_t block = check.at("block");
  const auto& digests = check.at("digests");
  ASSERT_EQ(digests.size(), 0x110000u / block);
  for (uint32_t b = 0; b < digests.size(); ++b) {
    uint64_t h = 0xCBF29CE484222325ull;
    for (char32_t cp = b * block; cp < (b + 1) * block; ++cp) {
      if (cp >= 0xD800 && cp < 0xE000) continue;
      const uint16_t f = t::props(cp);
      std::string data{char(f & 0xFF), char(f >> 8)};
      const std::u32string one(1, cp);
      for (const auto& s : {t::lower(one), t::nfd(one), t::nfc(one)}) data += t::encode_utf8(s) + "\xff";
      h = fnv1a(data, h);
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    EXPECT_EQ(hex, digests[b].get<std::string>()) << "code points " << std::hex << b * block << ".." << (b + 1) * block - 1;
  }
  for (const auto& s : check.at("sequences")) {
    const std::u32string in = t::decode_utf8(s[0].get<std::string>(), "sequence");
    EXPECT_EQ(t::encode_utf8(t::nfc(in)), s[1].get<std::string>()) << s.dump();
    EXPECT_EQ(t::encode_utf8(t::nfd(in)), s[2].get<std::string>()) << s.dump();
    EXPECT_EQ(t::encode_utf8(t::lower(in)), s[3].get<std::string>()) << s.dump();
  }
  for (const auto& s : check.at("lower"))
    EXPECT_EQ(t::encode_utf8(t::lower(t::decode_utf8(s[0].get<std::string>(), "lower"))), s[1].get<std::string>())
        << s.dump();
}

TEST(TokenizerUnicode, HandPickedNormalization) {
  namespace t = vkfuse::text;
  auto nfc = [](const std::string& s) { return t::encode_utf8(t::nfc(t::decode_utf8(s, "s"))); };
  auto nfd = [](const std::string& s) { return t::encode_utf8(t::nfd(t::decode_utf8(s, "s"))); };
  EXPECT_EQ(nfc("e\xcc\x81"), "\xc3\xa9");  // e + acute -> é
  // a + dot below (class 220) + ring above (230) composes a with ring above (å), the dot
  // below (lower class, so not blocking) stays: U+00E5 U+0323 in canonical order is U+0323
  // first, and å + dot below has no composite.
  EXPECT_EQ(nfd("\xc3\xa5\xcc\xa3"), "a\xcc\xa3\xcc\x8a");
  EXPECT_EQ(nfc("a\xcc\x8a\xcc\xa3"), "\xe1\xba\xa1\xcc\x8a");  // ạ (a + dot below) then the ring
  EXPECT_EQ(nfc("\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8"), "\xea\xb0\x81");  // Hangul L V T -> 각
  EXPECT_EQ(nfd("\xea\xb0\x81"), "\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8");
  EXPECT_EQ(nfc("\xe2\x84\xab"), "\xc3\x85");  // ANGSTROM SIGN is a singleton: Å
}

// --- errors -------------------------------------------------------------------------------

TEST(TokenizerErrors, InvalidUtf8Text) {
  const Tokenizer t = load("clip");
  auto refuses = [&](const std::string& text, const std::string& needle) {
    try {
      t.encode(text);
    } catch (const vkfuse::Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("not valid UTF-8"), std::string::npos) << e.what();
      return;
    }
    ADD_FAILURE() << "accepted " << json(std::vector<uint8_t>(text.begin(), text.end())).dump();
  };
  refuses("ab\xff", "never occurs in UTF-8 at byte 2");
  refuses("\x80", "continuation byte without a lead byte at byte 0");
  refuses("a\xc3", "cut short by the end of the text at byte 1");
  refuses("\xc3(", "cut short by a byte that is not a continuation");
  refuses("\xc0\xaf", "never occurs");
  refuses("\xe0\x80\xaf", "overlong");
  refuses("\xed\xa0\x80", "surrogate");
  refuses("\xf4\x90\x80\x80", "past U+10FFFF");
  EXPECT_THROW(t.encode_batch({"ok", "\xff"}), vkfuse::Error);
}

TEST(TokenizerErrors, BadJson) {
  EXPECT_TRUE(refused("{", "not valid UTF-8 JSON"));
  EXPECT_TRUE(refused("[]", "tokenizer is a JSON array, not an object"));
  EXPECT_TRUE(refused("{\"type\":1}", "'type' is a JSON number"));
  EXPECT_TRUE(refused("{}", "'type' is missing"));
  EXPECT_TRUE(refused("{\"type\":\"sentencepiece\"}", "'sentencepiece' is not one vkfuse implements"));
  EXPECT_TRUE(refused("\xef\xbb\xbf{}", "byte-order mark"));
  EXPECT_TRUE(refused("{\"type\":\"clip_bpe\",\"type\":\"clip_bpe\"}", "key 'type' twice"));
  EXPECT_TRUE(refused("{\"type\":\"clip_bpe\",\"vocab\":{\"a\":0,\"a\":1}}", "key 'a' twice in 'vocab'"));
}

TEST(TokenizerErrors, ClipFields) {
  EXPECT_TRUE(refused(edited("clip", [](json& j) { j.erase("merges"); }), "field 'merges' is missing"));
  EXPECT_TRUE(refused(edited("clip", [](json& j) { j["lowercase"] = true; }), "field 'lowercase' is not one of"));
  EXPECT_TRUE(refused(edited("clip", [](json& j) { j["bos"] = 5; }), "field 'bos' is a JSON number, not a string"));
  EXPECT_TRUE(refused(edited("clip", [](json& j) { j["unk"] = "<unk>"; }), "field 'unk': '<unk>' is not in the vocab"));
  EXPECT_TRUE(refused(edited("clip", [](json& j) { j["vocab"]["zz"] = 1000; }), "'zz' has id 1000"));
  EXPECT_TRUE(refused(edited("clip", [](json& j) { j["vocab"]["zz"] = -1; }), "'zz' has id -1"));
  EXPECT_TRUE(refused(edited("clip", [](json& j) { j["vocab"]["zz"] = "1"; }), "'zz' has id \"1\""));
  EXPECT_TRUE(refused(edited("clip", [](json& j) { j["vocab"]["!"] = 1; }), "id 1 is given twice"));
  EXPECT_TRUE(refused(edited("clip", [](json& j) { j["vocab"] = json::object(); }), "non-empty object"));
  EXPECT_TRUE(refused(edited("clip", [](json& j) { j["merges"].push_back("q xyz"); }), "'xyz' is not in the vocab"));
  EXPECT_TRUE(refused(edited("clip", [](json& j) { j["merges"].push_back("q r"); }), "'qr' is not in the vocab"));
  EXPECT_TRUE(refused(edited("clip", [](json& j) { j["merges"].push_back("a b c"); }), "not two tokens joined by one space"));
  EXPECT_TRUE(refused(edited("clip", [](json& j) { j["merges"].push_back(" a"); }), "not two tokens joined"));
  EXPECT_TRUE(refused(edited("clip", [](json& j) { j["merges"].push_back(7); }), "entry 40 is a JSON number"));
  EXPECT_TRUE(refused(edited("clip", [](json& j) { j["merges"].push_back("t h"); }), "'t h' is a pair listed before"));
  EXPECT_TRUE(refused(edited("clip", [](json& j) { j["eos"] = "<|"; }), "'<|' is inside special token '<|startoftext|>'"));
}

TEST(TokenizerErrors, MaxLengthRange) {
  for (const char* bad : {"1e30", "2147483648", "1000000000000000019884624838656", "2", "-5", "77.5", "\"77\"", "true"}) {
    const std::string text = edited("clip", [&](json& j) { j["max_length"] = json::parse(bad); });
    EXPECT_TRUE(refused(text, "field 'max_length' must be null (no limit) or an integer from 3")) << bad;
  }
  EXPECT_NO_THROW(Tokenizer::from_json(edited("clip", [](json& j) { j["max_length"] = nullptr; }), "x"));
  EXPECT_NO_THROW(Tokenizer::from_json(edited("clip", [](json& j) { j["max_length"] = 3; }), "x"));
  EXPECT_NO_THROW(Tokenizer::from_json(edited("clip", [](json& j) { j["max_length"] = 2147483647; }), "x"));
}

TEST(TokenizerErrors, WordPieceFields) {
  EXPECT_TRUE(refused(edited("bert_uncased", [](json& j) { j["vocab"].push_back("the"); }),
                      "token 'the' is entry 5 and entry 60"));
  EXPECT_TRUE(refused(edited("bert_uncased", [](json& j) { j["vocab"].push_back(3); }), "entry 60 is a JSON number"));
  EXPECT_TRUE(refused(edited("bert_uncased", [](json& j) { j["vocab"] = json::array(); }), "non-empty array"));
  EXPECT_TRUE(refused(edited("bert_uncased", [](json& j) { j["mask"] = "[MSK]"; }), "'[MSK]' is not in the vocab"));
  EXPECT_TRUE(refused(edited("bert_uncased", [](json& j) { j["strip_accents"] = "yes"; }), "not true, false or null"));
  EXPECT_TRUE(refused(edited("bert_uncased", [](json& j) { j["do_lower_case"] = nullptr; }), "not true or false"));
  EXPECT_TRUE(refused(edited("bert_uncased", [](json& j) { j["never_split"] = {1}; }), "never_split' entry 0 is a JSON number"));
  EXPECT_TRUE(refused(edited("bert_uncased", [](json& j) { j.erase("mask"); }), "field 'mask' is missing"));
}

TEST(TokenizerErrors, AdversarialWordsStayFast) {
  // HF caches but bounds nothing; a 100 KB word of pairs that keep merging must not be
  // quadratic (HF's bpe would rescan the word once per merge: ~10^10 steps).
  const Tokenizer t = load("clip");
  std::string word;
  for (int i = 0; i < 25000; ++i) word += "kzaa";
  const auto t0 = std::chrono::steady_clock::now();
  const Ids ids = t.encode(word + " " + std::string(100000, 'a'));
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(s, 10.0);
  EXPECT_EQ(ids.size(), 77u);  // truncated to max_length
  // Marks pile up in one run: sorted in O(n log n).
  std::string marks = "a";
  for (int i = 0; i < 50000; ++i) marks += "\xcc\x81\xcc\xa3";  // acute (230), dot below (220)
  const auto t1 = std::chrono::steady_clock::now();
  EXPECT_EQ(load("bert_uncased").encode(marks), (Ids{2, 6, 3}));  // accents stripped: "a"
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count(), 10.0);
}

// --- vkfuse tokenize ----------------------------------------------------------------------

std::string model_with(const std::string& name, const std::map<std::string, std::string>& meta) {
  const std::string path = (vkt::temp_dir() / name).string();
  vkfuse::write_safetensors(path, {{"w", vkfuse::f32_bytes({1}, {0.0f})}}, meta);
  return path;
}

TEST(TokenizerCli, PrintsIdsAsJson) {
  const std::string model = model_with("clip_tok.safetensors", {{"vkfuse.tokenizer", metadata("clip")}});
  const vkt::CliResult r = vkt::cli("tokenize " + model + " 'a photo of a cat' \"it's\" ''");
  EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) << r.out;
  EXPECT_EQ(r.out, "[[552,320,520,514,320,516,553],[552,524,523,553],[552,553]]\n");
}

TEST(TokenizerCli, OneLineErrors) {
  const std::string plain = model_with("no_tok.safetensors", {{"other", "x"}});
  EXPECT_TRUE(vkt::one_line_error(vkt::cli("tokenize " + plain + " hello"), "carries no tokenizer"));
  const std::string broken = model_with("bad_tok.safetensors", {{"vkfuse.tokenizer", "{\"type\":\"clip_bpe\"}"}});
  EXPECT_TRUE(vkt::one_line_error(vkt::cli("tokenize " + broken + " hello"),
                                  "bad_tok.safetensors: metadata vkfuse.tokenizer: tokenizer field 'vocab' is missing"));
  const std::string model = model_with("bert_tok.safetensors", {{"vkfuse.tokenizer", metadata("bert_uncased")}});
  EXPECT_TRUE(vkt::one_line_error(vkt::cli("tokenize " + model + " ok \"$(printf 'a\\377')\""),
                                  "TEXT 2 of 2: text: not valid UTF-8: a byte that never occurs in UTF-8 at byte 1"));
}

}  // namespace
