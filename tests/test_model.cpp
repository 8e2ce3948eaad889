// Model files through the arch registry: every arch reads all its keys and refuses any other
// (a key vkfuse does not implement must never be silently ignored), and the typed config.
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "temp_dir.hpp"
#include "vkfuse/model.hpp"

namespace {

const std::string kData = VKFUSE_TEST_DATA;

// One fixture model per arch: the files PyTorch wrote (tools/gen_*_cases.py).
const std::vector<std::pair<std::string, std::string>> kArchModels = {
    {"multihead_attention", kData + "/attention/key_padding_mask/model.safetensors"},
    {"transformer_encoder", kData + "/transformer_encoder/post_norm_relu/model.safetensors"},
    {"transformer_decoder", kData + "/transformer_decoder/post_norm_relu/model.safetensors"},
    {"vision_text_fusion", kData + "/vision_text_fusion/cls_bidirectional_sigmoid/model.safetensors"},
};

// A copy of `src` whose config `edit` changed; the tensors stay as they are.
std::string with_config(const std::string& src, const std::string& name,
                        const std::function<void(nlohmann::json&)>& edit) {
  auto f = vkfuse::SafetensorsFile::open(src);
  auto meta = f.metadata();
  auto cfg = nlohmann::json::parse(meta.at("vkfuse.config"));
  edit(cfg);
  meta["vkfuse.config"] = cfg.dump();
  std::vector<std::pair<std::string, vkfuse::TensorBytes>> tensors;
  for (const auto& n : f.names()) {
    const auto& t = f.tensor(n);
    tensors.push_back({n, {t.dtype, t.shape, t.data}});
  }
  const std::string path = (vkt::temp_dir() / name).string();
  vkfuse::write_safetensors(path, tensors, meta);
  return path;
}

std::string load_error(const std::string& path) {
  try {
    vkfuse::Model::load(path);
  } catch (const vkfuse::Error& e) {
    return e.what();
  }
  return "";
}

TEST(Model, EveryArchLoadsItsFixture) {
  for (const auto& [arch, path] : kArchModels) EXPECT_EQ(vkfuse::Model::load(path).arch(), arch);
}

// batch_first=false would make every arch a sequence-first model: running it batch-first
// gives exit 0 and a wrong answer, so the key must be refused, as must a misspelt one.
TEST(Model, UnknownConfigKeyIsAnErrorForEveryArch) {
  for (const auto& [arch, path] : kArchModels) {
    for (const auto& [key, value] : std::vector<std::pair<std::string, nlohmann::json>>{
             {"batch_first", false}, {"batch_first", true}, {"dropout", 0.1}, {"num_head", 8}}) {
      const std::string bad = with_config(path, arch + "_" + key + ".safetensors", [&, k = key, v = value](auto& c) {
        c[k] = v;
      });
      const std::string e = load_error(bad);
      EXPECT_NE(e.find("'" + key + "' is not a config key of arch " + arch), std::string::npos) << arch << ": " << e;
      EXPECT_NE(e.find(bad), std::string::npos) << "names the file: " << e;
    }
  }
}

TEST(Model, UnknownKeyMessageListsTheArchsKeys) {
  const std::string bad = with_config(kArchModels[1].second, "listed.safetensors", [](auto& c) { c["d_modle"] = 16; });
  const std::string e = load_error(bad);
  for (const char* key : {"d_model", "nhead", "dim_feedforward", "num_layers", "activation", "layer_norm_eps",
                          "norm_first", "final_norm"})
    EXPECT_NE(e.find(key), std::string::npos) << key << " is not listed in: " << e;
}

TEST(Model, KnownKeysWithBadValuesNameTheKey) {
  const auto& enc = kArchModels[1].second;
  EXPECT_NE(load_error(with_config(enc, "act.safetensors", [](auto& c) { c["activation"] = "swish"; })).find("'activation'"),
            std::string::npos);
  EXPECT_NE(load_error(with_config(enc, "eps.safetensors", [](auto& c) { c["layer_norm_eps"] = -1; }))
                .find("'layer_norm_eps' must be a positive number"),
            std::string::npos);
  EXPECT_NE(load_error(with_config(enc, "dm.safetensors", [](auto& c) { c["d_model"] = 1LL << 40; })).find("'d_model'"),
            std::string::npos);
  // A nested value is named by its kind, not dumped.
  const std::string nested = load_error(with_config(enc, "nested.safetensors", [](auto& c) {
    nlohmann::json v = 1;
    for (int i = 0; i < 30; ++i) v = nlohmann::json::array({v});
    c["nhead"] = v;
  }));
  EXPECT_NE(nested.find("'nhead' must be an integer from 1 to 2^31 - 1, got an array"), std::string::npos) << nested;
}

// kdim/vdim 0 mean embed_dim, as PyTorch's kdim=None; a negative one is refused.
TEST(Model, ZeroKdimMeansEmbedDim) {
  const auto& mha = kArchModels[0].second;
  auto m = vkfuse::Model::load(with_config(mha, "kdim0.safetensors", [](auto& c) {
    c["kdim"] = 0;
    c["vdim"] = 0;
  }));
  EXPECT_EQ(m.config<vkfuse::MultiheadAttentionConfig>().k_dim(), 16);
  EXPECT_NE(load_error(with_config(mha, "kdimneg.safetensors", [](auto& c) { c["kdim"] = -3; })).find("'kdim'"),
            std::string::npos);
}

TEST(Model, UnknownArchListsTheRegistry) {
  const std::string e =
      load_error(with_config(kArchModels[0].second, "arch.safetensors", [](auto& c) { c["arch"] = "gpt2"; }));
  EXPECT_NE(e.find("arch 'gpt2' is not supported"), std::string::npos) << e;
  for (const auto& [arch, path] : kArchModels) EXPECT_NE(e.find(arch), std::string::npos) << arch << ": " << e;
}

TEST(Model, TypedConfigOfTheArch) {
  auto fusion = vkfuse::Model::load(kArchModels[3].second);
  EXPECT_GT(fusion.config<vkfuse::FusionConfig>().vocab_size, 0);
  EXPECT_THROW(fusion.config<vkfuse::TransformerConfig>(), vkfuse::Error);
  auto enc = vkfuse::Model::load(kArchModels[1].second);
  EXPECT_EQ(enc.config<vkfuse::TransformerConfig>().num_layers, 2);
  // Copies share what was loaded.
  vkfuse::Model copy = enc;
  EXPECT_EQ(&copy.weights(), &enc.weights());
}

}  // namespace
