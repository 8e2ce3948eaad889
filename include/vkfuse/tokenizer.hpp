#pragma once
// Text to token ids as Hugging Face's Python (slow) tokenizers make them: CLIP's byte-level
// BPE and BERT's WordPiece, from the JSON that a model file carries under metadata key
// vkfuse.tokenizer (docs/model-format.md; tools/hf_tokenizers.py writes it from a Hugging
// Face checkpoint's tokenizer files).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vkfuse {

class Tokenizer {
 public:
  // Error naming `where` (e.g. "model.safetensors: metadata vkfuse.tokenizer") and the field
  // for JSON that is not the format: bad JSON, a missing or unknown field, a wrong type, an id
  // out of range, a token twice, a merge of tokens the vocabulary lacks.
  static Tokenizer from_json(const std::string& json, const std::string& where);
  // A word-level vocabulary (metadata vkfuse.vocab: a JSON list, "<pad>", "<unk>", "<cls>"
  // first), as vkfuse's own models are trained: lower-cased, '?', ',' and '.' dropped, split
  // at white space, "<cls>" first, unknown words "<unk>", no end token, padded with "<pad>".
  static Tokenizer from_word_vocab(const std::string& json, const std::string& where);

  // The ids of one UTF-8 text, with the special tokens around it ([CLS] ... [SEP],
  // <|startoftext|> ... <|endoftext|>) and, when the tokenizer has a max_length, the text's
  // ids cut so that the whole fits, the final special token kept (HF's truncation=True).
  // Error for text that is not valid UTF-8.
  std::vector<int64_t> encode(const std::string& utf8) const;

  // Rows of encode(), padded to the longest with pad_id(); mask 1 = a real token, 0 = padding.
  struct Batch {
    std::vector<int64_t> ids, mask;  // [rows, length], row-major
    int64_t rows = 0, length = 0;
  };
  Batch encode_batch(const std::vector<std::string>& texts) const;

  int64_t pad_id() const;
  std::string type() const;  // "clip_bpe", "wordpiece" or "words"
  int64_t vocab_size() const;

  class Impl;

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;  // immutable: one Tokenizer may encode on many threads
};

}  // namespace vkfuse
