// libFuzzer target: the first byte picks what the rest is. 0: a tokenizer's metadata JSON
// (vkfuse.tokenizer), which Tokenizer::from_json refuses with one vkfuse::Error or accepts,
// and then encodes a few texts with; otherwise: a text, encoded by the committed CLIP and
// BERT test tokenizers (tests/data/tokenizer), which either refuse it (invalid UTF-8) or give
// ids inside their vocabularies.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "vkfuse/error.hpp"
#include "vkfuse/tokenizer.hpp"

namespace {
vkfuse::Tokenizer load(const char* name) {
  std::ifstream f(std::string(VKFUSE_TEST_DATA) + "/tokenizer/" + name);
  std::stringstream s;
  s << f.rdbuf();
  return vkfuse::Tokenizer::from_json(s.str(), name);
}

void check(const vkfuse::Tokenizer& t, const std::string& text) {
  for (int64_t id : t.encode(text))
    if (id < 0 || id >= t.vocab_size()) std::abort();  // an id outside the vocabulary is a bug
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const std::vector<vkfuse::Tokenizer> fixed = {load("clip.json"), load("bert_uncased.json"),
                                                        load("bert_cased.json")};
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    if (data[0] == 0) {
      const auto t = vkfuse::Tokenizer::from_json(rest, "fuzz");
      for (const char* text : {"", "a photo of a cat", "Café naïve, 12 toys!", "\xe4\xb8\xad\xe6\x96\x87 [UNK]"}) check(t, text);
    } else {
      for (const auto& t : fixed) {
        try {
          check(t, rest);
        } catch (const vkfuse::Error&) {
        }
      }
    }
  } catch (const vkfuse::Error&) {
  }
  return 0;
}
