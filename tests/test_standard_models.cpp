// The standard archs' checks (vit, clip, bert): every config key Hugging Face writes is
// either read, ignored because it cannot change the math, or refused by name; tensors the
// converter should have dropped are named with the reason; bad inputs get one clear error;
// and the retrieval index finds what a brute-force search finds, on the GPU and the CPU.
#include <cmath>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>

#include "gpu_test.hpp"
#include "temp_dir.hpp"
#include "vkfuse/embedding_index.hpp"
#include "vkfuse/model.hpp"
#include "vkfuse/preprocessor.hpp"
#include "vkfuse/tokenizer.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A model file in memory with random weights for `config` (and `extra` tensors).
struct RandomModel {
  std::vector<std::vector<float>> values;
  std::vector<std::pair<std::string, vkfuse::TensorBytes>> tensors;
  vkfuse::SafetensorsFile file(const json& config, const std::vector<std::pair<std::string, vkfuse::Shape>>& extra = {},
                               const std::vector<std::string>& drop = {}) {
    auto names = vkfuse::Model::tensors_for(config.dump());
    names.insert(names.end(), extra.begin(), extra.end());
    values.clear();
    tensors.clear();
    values.reserve(names.size());
    uint32_t seed = 3;
    for (const auto& [name, shape] : names) {
      if (std::find(drop.begin(), drop.end(), name) != drop.end()) continue;
      values.push_back(vkt::random_vec(vkfuse::shape_numel(shape), seed++, -0.3f, 0.3f));
      tensors.push_back({name, {vkfuse::DType::F32, shape, values.back().data()}});
    }
    return vkfuse::SafetensorsFile::from_tensors("m.safetensors", tensors, {{"vkfuse.config", config.dump()}});
  }
  vkfuse::Model model(const json& config) { return vkfuse::Model::load(file(config)); }
};

json bert() {
  return {{"arch", "bert"},       {"vocab_size", 20},        {"hidden_size", 12}, {"num_hidden_layers", 1},
          {"num_attention_heads", 3}, {"intermediate_size", 16}, {"max_position_embeddings", 8}};
}

json clip() {
  return {{"arch", "clip"},
          {"projection_dim", 6},
          {"vision_config", {{"hidden_size", 8}, {"intermediate_size", 12}, {"num_attention_heads", 2},
                             {"num_hidden_layers", 1}, {"image_size", 8}, {"patch_size", 4}}},
          {"text_config", {{"hidden_size", 8}, {"intermediate_size", 12}, {"num_attention_heads", 2},
                           {"num_hidden_layers", 1}, {"vocab_size", 10}, {"max_position_embeddings", 6},
                           {"eos_token_id", 9}}}};
}

void expect_error(const std::function<void()>& f, std::initializer_list<const char*> parts) {
  try {
    f();
    ADD_FAILURE() << "no error";
  } catch (const vkfuse::Error& e) {
    for (const char* p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what() << " lacks " << p;
  }
}

TEST(StandardModels, HarmlessHuggingFaceKeysAreIgnored) {
  RandomModel r;
  json c = bert();
  for (const char* k : {"_name_or_path", "architectures", "transformers_version", "torch_dtype", "model_type"})
    c[k] = "x";
  c["initializer_range"] = 0.02;
  c["hidden_dropout_prob"] = 0.1;
  c["attention_probs_dropout_prob"] = 0.1;
  c["pad_token_id"] = 0;
  c["use_cache"] = true;
  c["is_decoder"] = false;
  c["position_embedding_type"] = "absolute";
  c["id2label"] = {{"0", "LABEL_0"}};
  EXPECT_NO_THROW(r.model(c));
  json k = clip();
  k["text_config"]["bos_token_id"] = 8;
  k["text_config"]["dropout"] = 0.0;
  k["vision_config"]["initializer_factor"] = 1.0;
  k["logit_scale_init_value"] = 2.6592;
  k["text_config_dict"] = nullptr;
  EXPECT_NO_THROW(r.model(k));
}

TEST(StandardModels, KeysThatChangeTheMathAreRefusedByName) {
  RandomModel r;
  auto with = [](json c, const char* key, json v) {
    c[key] = v;
    return c;
  };
  expect_error([&] { r.model(with(bert(), "hidden_act", "silu")); }, {"'hidden_act'", "silu"});
  expect_error([&] { r.model(with(bert(), "position_embedding_type", "relative_key")); },
               {"'position_embedding_type'", "relative position embeddings"});
  expect_error([&] { r.model(with(bert(), "is_decoder", true)); }, {"'is_decoder'"});
  expect_error([&] { r.model(with(bert(), "add_cross_attention", true)); }, {"'add_cross_attention'"});
  expect_error([&] { r.model(with(bert(), "pruned_heads", {{"0", {1}}})); }, {"'pruned_heads'"});
  expect_error([&] { r.model(with(bert(), "rotary_dim", 4)); }, {"rotary_dim", "does not ignore"});
  json c = clip();
  c["text_config"]["hidden_act"] = "relu";
  expect_error([&] { r.model(c); }, {"text_config", "'hidden_act'"});
  c = clip();
  c["vision_config"]["interpolate_pos_encoding"] = true;
  expect_error([&] { r.model(c); }, {"vision_config", "interpolate_pos_encoding"});
  // A legacy text_config_dict wins over text_config key by key, as in CLIPConfig.
  c = clip();
  c["text_config_dict"] = {{"hidden_act", "silu"}};
  expect_error([&] { r.model(c); }, {"text_config", "'hidden_act'", "silu"});
  c = clip();
  c["vision_config"]["image_size"] = 10;
  expect_error([&] { r.model(c); }, {"image_size 10", "patch_size 4"});
}

TEST(StandardModels, TensorsTheConverterDropsAreNamedWithTheReason) {
  RandomModel r;
  expect_error([&] { vkfuse::Model::load(r.file(clip(), {{"text_model.embeddings.position_ids", {1, 6}}})); },
               {"position_ids", "buffer"});
  expect_error([&] { vkfuse::Model::load(r.file(bert(), {{"cls.predictions.bias", {20}}})); }, {"cls.", "pretraining"});
  // BERT's pooler is optional, but as a whole.
  EXPECT_NO_THROW(vkfuse::Model::load(r.file(bert(), {{"pooler.dense.weight", {12, 12}}, {"pooler.dense.bias", {12}}})));
  expect_error([&] { vkfuse::Model::load(r.file(bert(), {{"pooler.dense.weight", {12, 12}}})); },
               {"pooler.dense.bias", "missing"});
}

vkfuse::SafetensorsFile inputs(std::vector<std::pair<std::string, vkfuse::TensorBytes>> t) {
  return vkfuse::SafetensorsFile::from_tensors("in.safetensors", t);
}

TEST(StandardModels, BadInputsGetOneClearError) {
  RandomModel r;
  vkfuse::Model m = r.model(clip());
  std::vector<float> img(2 * 3 * 8 * 8, 0.1f), small(3 * 4 * 4, 0.1f);
  std::vector<int64_t> ids = {1, 2, 9, 0}, no_eos = {1, 2, 3, 4}, big = {1, 2, 10, 9};
  expect_error([&] { m.run(inputs({{"pixel_values", {vkfuse::DType::F32, {1, 3, 4, 4}, small.data()}}}), false, nullptr); },
               {"pixel_values", "[1,3,4,4]", "[B, 3, 8, 8]"});
  expect_error([&] { m.run(inputs({{"input_ids", {vkfuse::DType::I64, {1, 4}, no_eos.data()}}}), false, nullptr); },
               {"row 0", "end-of-text", "9"});
  expect_error([&] { m.run(inputs({{"input_ids", {vkfuse::DType::I64, {1, 4}, big.data()}}}), false, nullptr); },
               {"id 10", "position 2", "vocabulary of 10"});
  expect_error([&] { m.run(inputs({{"attention_mask", {vkfuse::DType::I64, {1, 4}, ids.data()}}}), false, nullptr); },
               {"attention_mask", "without input_ids"});
  expect_error([&] { m.run(inputs({}), false, nullptr); }, {"pixel_values, input_ids or both"});
  std::vector<int64_t> seven(7, 9);
  expect_error([&] { m.run(inputs({{"input_ids", {vkfuse::DType::I64, {1, 7}, seven.data()}}}), false, nullptr); },
               {"7 tokens", "1 to 6"});
  // Texts or pictures for a model file that carries no tokenizer or preprocessing.
  vkfuse::Preprocessor pre(m);
  expect_error([&] { pre.inputs({"a cat"}, {}); }, {"m.safetensors", "no tokenizer"});
  expect_error([&] { pre.inputs({}, {vkfuse::Image{2, 2, std::vector<uint8_t>(12)}}); },
               {"m.safetensors", "no image preprocessing"});
}

TEST(StandardModels, EveryTowerAloneGivesTheSameEmbeddingsAsBoth) {
  RandomModel r;
  vkfuse::Model m = r.model(clip());
  std::vector<float> img = vkt::random_vec(2 * 3 * 8 * 8, 5);
  std::vector<int64_t> ids = {1, 2, 9, 0, 3, 9, 0, 0, 4, 5, 6, 9};
  std::vector<int64_t> mask = {1, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 1};
  auto both = m.run(inputs({{"pixel_values", {vkfuse::DType::F32, {2, 3, 8, 8}, img.data()}},
                            {"input_ids", {vkfuse::DType::I64, {3, 4}, ids.data()}},
                            {"attention_mask", {vkfuse::DType::I64, {3, 4}, mask.data()}}}),
                    false, &vkt::context(vkt::Mode::Normal));
  auto image = m.run(inputs({{"pixel_values", {vkfuse::DType::F32, {2, 3, 8, 8}, img.data()}}}), false,
                     &vkt::context(vkt::Mode::Normal));
  auto text = m.run(inputs({{"input_ids", {vkfuse::DType::I64, {3, 4}, ids.data()}},
                            {"attention_mask", {vkfuse::DType::I64, {3, 4}, mask.data()}}}),
                    false, nullptr);
  EXPECT_EQ(image.count("text_embeds"), 0u);
  EXPECT_EQ(text.count("image_embeds"), 0u);
  EXPECT_TRUE(vkt::near_all(both.at("image_embeds").data, image.at("image_embeds").data, 0.f, 0.f));
  EXPECT_TRUE(vkt::near_all(both.at("text_embeds").data, text.at("text_embeds").data, 2e-6f, 0.f));
  // logits_per_text is logits_per_image transposed; both are exp(logit_scale)·cosine.
  const auto& lpi = both.at("logits_per_image").data;
  const auto& lpt = both.at("logits_per_text").data;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) EXPECT_NEAR(lpi[i * 3 + j], lpt[j * 2 + i], 1e-5f);
}

TEST(StandardModels, IndexSearchMatchesBruteForce) {
  const int64_t n = 300, d = 24, q = 4, k = 7;
  std::vector<std::string> names;
  for (int64_t i = 0; i < n; ++i) names.push_back("pic" + std::to_string(i) + ".png");
  auto rows = vkt::random_vec(n * d, 21);
  std::fill(rows.begin() + 5 * d, rows.begin() + 6 * d, 0.f);  // a zero embedding stays zero
  vkfuse::EmbeddingIndex idx(names, rows, d);
  const fs::path file = vkt::temp_dir() / "index.safetensors";
  idx.save(file.string());
  vkfuse::EmbeddingIndex back = vkfuse::EmbeddingIndex::load(file.string());
  EXPECT_EQ(back.names(), idx.names());
  EXPECT_EQ(back.embeddings(), idx.embeddings());
  auto queries = vkt::random_vec(q * d, 22);
  auto gpu = back.search(queries, q, k, &vkt::context(vkt::Mode::Portable));
  auto cpu = back.search(queries, q, k, nullptr);
  for (int64_t r = 0; r < q; ++r) {
    // Brute force in double.
    std::vector<std::pair<double, int64_t>> all;
    double qn = 0;
    for (int64_t j = 0; j < d; ++j) qn += double(queries[r * d + j]) * queries[r * d + j];
    for (int64_t i = 0; i < n; ++i) {
      double dot = 0, rn = 0;
      for (int64_t j = 0; j < d; ++j) {
        dot += double(queries[r * d + j]) * rows[i * d + j];
        rn += double(rows[i * d + j]) * rows[i * d + j];
      }
      all.push_back({rn > 0 ? -dot / std::sqrt(qn * rn) : 0.0, i});
    }
    std::sort(all.begin(), all.end());
    ASSERT_EQ(gpu[r].size(), size_t(k));
    for (int64_t i = 0; i < k; ++i) {
      EXPECT_EQ(gpu[r][i].index, all[i].second) << "query " << r << " rank " << i;
      EXPECT_EQ(cpu[r][i].index, all[i].second) << "query " << r << " rank " << i;
      EXPECT_NEAR(gpu[r][i].score, -all[i].first, 1e-5);
      EXPECT_EQ(gpu[r][i].name, names[all[i].second]);
    }
  }
  // An index longer than one top_k dispatch may walk k times is searched in chunks whose
  // best are merged: the same answer as the CPU.
  {
    const int64_t big = 3000, kb = 2000;
    std::vector<std::string> many;
    for (int64_t i = 0; i < big; ++i) many.push_back(std::to_string(i));
    vkfuse::EmbeddingIndex wide(many, vkt::random_vec(big * d, 23), d);
    auto& ctx = vkt::context(vkt::Mode::Normal);
    ASSERT_LT(vkfuse::ops::top_k_max_columns(ctx, kb), big);
    const std::vector<float> two(queries.begin(), queries.begin() + 2 * d);
    auto g = wide.search(two, 2, kb, &ctx), c = wide.search(two, 2, kb, nullptr);
    for (int r = 0; r < 2; ++r) {
      ASSERT_EQ(g[r].size(), size_t(kb));
      for (int64_t i = 0; i < kb; ++i) ASSERT_EQ(g[r][i].index, c[r][i].index) << "query " << r << " rank " << i;
    }
  }
  // k above the index size is capped; a query of the wrong width is refused.
  EXPECT_EQ(back.search(queries, q, n + 5, nullptr)[0].size(), size_t(n));
  expect_error([&] { back.search(std::vector<float>(d + 1), 1, 3, nullptr); }, {"dimension 24"});
  expect_error([&] { vkfuse::EmbeddingIndex({"\xff.png"}, std::vector<float>(d, 1.f), d); }, {"UTF-8"});
  expect_error([&] { vkfuse::EmbeddingIndex::load((fs::path(VKFUSE_TEST_DATA) / "image" / "expected.safetensors").string()); },
               {"not an embedding index"});
}

}  // namespace

namespace {
// The word-level vocabulary of vkfuse's own models (vkfuse.vocab) as a library tokenizer:
// <pad> 0, <unk> 1, <cls> 2, then the words; lower-cased, '?' ',' '.' dropped.
TEST(WordTokenizer, HandWorkedAndErrors) {
  const std::string vocab = R"(["<pad>","<unk>","<cls>","is","there","a","red","circle"])";
  auto t = vkfuse::Tokenizer::from_word_vocab(vocab, "v");
  EXPECT_EQ(t.type(), "words");
  EXPECT_EQ(t.encode("Is there a RED circle?"), (std::vector<int64_t>{2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(t.encode("  a purple, circle. "), (std::vector<int64_t>{2, 5, 1, 7}));
  EXPECT_EQ(t.encode(""), (std::vector<int64_t>{2}));
  auto b = t.encode_batch({"a red circle", "is"});
  EXPECT_EQ(b.ids, (std::vector<int64_t>{2, 5, 6, 7, 2, 3, 0, 0}));
  EXPECT_EQ(b.mask, (std::vector<int64_t>{1, 1, 1, 1, 1, 1, 0, 0}));
  expect_error([] { vkfuse::Tokenizer::from_word_vocab(R"(["<unk>","<pad>","<cls>"])", "v"); }, {"entry 0", "<pad>"});
  expect_error([] { vkfuse::Tokenizer::from_word_vocab(R"(["<pad>","<unk>","<cls>","a","a"])", "v"); }, {"twice"});
  expect_error([] { vkfuse::Tokenizer::from_word_vocab(R"({"a":1})", "v"); }, {"not a JSON list"});
}
}  // namespace
