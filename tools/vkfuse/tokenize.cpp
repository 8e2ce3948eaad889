// vkfuse tokenize MODEL TEXT...: the ids of each text, with the model's own tokenizer (its
// metadata key vkfuse.tokenizer), as one JSON list of lists on one line.
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "vkfuse/error.hpp"
#include "vkfuse/safetensors.hpp"
#include "vkfuse/tokenizer.hpp"

namespace {

struct TokenizeArgs {
  std::string model;
  std::vector<std::string> texts;
};

void tokenize(const TokenizeArgs& a) {
  const vkfuse::SafetensorsFile file = vkfuse::SafetensorsFile::open(a.model);
  auto it = file.metadata().find("vkfuse.tokenizer");
  if (it == file.metadata().end())
    throw vkfuse::Error(a.model + ": carries no tokenizer (no metadata key vkfuse.tokenizer); write the model with "
                        "its Hugging Face tokenizer files (tools/hf_tokenizers.py)");
  const vkfuse::Tokenizer tok = vkfuse::Tokenizer::from_json(it->second, a.model + ": metadata vkfuse.tokenizer");
  std::string out = "[";
  for (size_t i = 0; i < a.texts.size(); ++i) {
    std::vector<int64_t> ids;
    try {
      ids = tok.encode(a.texts[i]);
    } catch (const vkfuse::Error& e) {
      throw vkfuse::Error("TEXT " + std::to_string(i + 1) + " of " + std::to_string(a.texts.size()) + ": " + e.what());
    }
    out += i ? ",[" : "[";
    for (size_t k = 0; k < ids.size(); ++k) out += (k ? "," : "") + std::to_string(ids[k]);
    out += "]";
  }
  out += "]\n";
  std::fputs(out.c_str(), stdout);
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
  auto a = std::make_shared<TokenizeArgs>();
  auto* cmd = app.add_subcommand("tokenize", "Print the token ids of each TEXT with the model's tokenizer, as JSON");
  cmd->add_option("model", a->model, "Model file (safetensors with metadata vkfuse.tokenizer)")->required();
  cmd->add_option("text", a->texts, "Texts (UTF-8), one argument each")->required();
  cmd->callback([a] { tokenize(*a); });
}
