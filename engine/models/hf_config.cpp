// Hugging Face config keys shared by the clip and bert archs.
#include "models/hf_config.h"

#include <string>

namespace vkfuse::detail {

void read_hf_common(ConfigReader& c) {
  // The same list as tools/vkfuse_export.py's HF_HARMLESS_KEYS (which also names the keys an
  // arch reads); "dtype" is newer transformers' name for torch_dtype.
  c.ignore({"_name_or_path", "architectures", "auto_map", "model_type", "transformers_version", "torch_dtype",
            "dtype", "use_return_dict", "_commit_hash",
            "_attn_implementation", "_attn_implementation_autoset", "attn_implementation", "return_dict",
            "output_hidden_states", "output_attentions", "torchscript", "use_bfloat16", "tf_legacy_loss",
            "tie_word_embeddings", "chunk_size_feed_forward", "cross_attention_hidden_size", "tie_encoder_decoder",
            "max_length", "min_length", "do_sample", "early_stopping", "num_beams", "num_beam_groups",
            "diversity_penalty", "temperature", "top_k", "top_p", "typical_p", "repetition_penalty",
            "length_penalty", "no_repeat_ngram_size", "encoder_no_repeat_ngram_size", "bad_words_ids",
            "num_return_sequences", "output_scores", "return_dict_in_generate", "forced_bos_token_id",
            "forced_eos_token_id", "remove_invalid_values", "exponential_decay_length_penalty", "suppress_tokens",
            "begin_suppress_tokens", "finetuning_task", "id2label", "label2id", "num_labels", "tokenizer_class",
            "prefix", "bos_token_id", "pad_token_id", "sep_token_id", "decoder_start_token_id",
            "task_specific_params", "problem_type", "gradient_checkpointing", "use_cache", "output_past",
            "xla_device", "initializer_range", "initializer_factor", "hidden_dropout_prob",
            "attention_probs_dropout_prob", "attention_dropout", "dropout", "classifier_dropout"});
  c.require_value("is_decoder", false, "a decoder (is_decoder)");
  c.require_value("add_cross_attention", false, "cross-attention layers (add_cross_attention)");
  c.require_value("is_encoder_decoder", false, "an encoder-decoder model");
  c.require_value("pruned_heads", nlohmann::json::object(), "pruned attention heads");
}

ops::Activation hf_activation(ConfigReader& c, std::initializer_list<const char*> allowed, const char* fallback) {
  const std::string name = c.choice("hidden_act", allowed, fallback);
  if (name == "relu") return ops::Activation::Relu;
  if (name == "quick_gelu") return ops::Activation::QuickGelu;
  if (name == "gelu_new") return ops::Activation::GeluTanh;
  return ops::Activation::Gelu;
}

}  // namespace vkfuse::detail
