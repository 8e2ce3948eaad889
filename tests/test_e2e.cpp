// A user's three paths end to end (tests/data/e2e, written by tools/gen_e2e_cases.py): a
// Hugging Face CLIP folder and a BERT folder converted by tools/vkfuse_export.py from-hf,
// then `vkfuse tokenize`, `vkfuse run --text/--image`, `vkfuse index` and `vkfuse search`
// on the GPU and with --cpu, against what Hugging Face's tokenizers, CLIPImageProcessor
// (PIL) and the HF-named PyTorch references give for the same texts and pictures.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "gpu_test.hpp"
#include "temp_dir.hpp"
#include "vkfuse/image.hpp"
#include "vkfuse/model.hpp"
#include "vkfuse/preprocessor.hpp"
#include "vkfuse/safetensors.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path kE2e = fs::path(VKFUSE_TEST_DATA) / "e2e";

json expected_json(const char* model) {
  std::ifstream f((kE2e / model / "expected.json").string());
  return json::parse(f);
}

std::string quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string texts_args(const json& e) {
  std::string a;
  for (const auto& t : e["texts"]) a += " --text " + quoted(t.get<std::string>());
  return a;
}

// Relative to the largest magnitude of the tensor (the issue's 3e-4), rows where `keep` is
// 0 skipped.
::testing::AssertionResult close(const std::vector<float>& got, const std::vector<float>& want, float rel,
                                 const std::vector<uint8_t>& keep = {}) {
  if (got.size() != want.size()) return ::testing::AssertionFailure() << got.size() << " values, expected " << want.size();
  float scale = 0, worst = 0;
  for (float w : want) scale = std::max(scale, std::abs(w));
  const size_t row = keep.empty() ? 1 : want.size() / keep.size();
  for (size_t i = 0; i < want.size(); ++i)
    if (keep.empty() || keep[i / row]) worst = std::max(worst, std::abs(got[i] - want[i]));
  if (worst > rel * scale) return ::testing::AssertionFailure() << "max error " << worst << " over " << rel * scale;
  return ::testing::AssertionSuccess();
}

TEST(EndToEnd, TokenizeMatchesHuggingFace) {
  for (const char* m : {"clip", "bert"}) {
    const json e = expected_json(m);
    std::string args = "tokenize " + (kE2e / m / "model.safetensors").string();
    for (const auto& t : e["texts"]) args += " " + quoted(t.get<std::string>());
    auto r = vkt::cli(args);
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(json::parse(r.out), e["ids"]) << m;
  }
}

TEST(EndToEnd, PreprocessorGivesTheInputsHuggingFaceGives) {
  const json e = expected_json("clip");
  vkfuse::Model model = vkfuse::Model::load((kE2e / "clip" / "model.safetensors").string());
  std::vector<vkfuse::Image> pics;
  for (const auto& p : e["pictures"]) pics.push_back(vkfuse::read_image((kE2e / "clip" / "pictures" / p.get<std::string>()).string()));
  std::vector<std::string> texts = e["texts"].get<std::vector<std::string>>();
  auto in = vkfuse::Preprocessor(model).inputs(texts, pics);
  auto want = vkfuse::SafetensorsFile::open((kE2e / "clip" / "expected.safetensors").string());
  EXPECT_EQ(in.to_i64("input_ids"), want.to_i64("input_ids"));
  EXPECT_EQ(in.to_i64("attention_mask"), want.to_i64("attention_mask"));
  EXPECT_EQ(in.tensor("pixel_values").shape, want.tensor("pixel_values").shape);
  EXPECT_TRUE(close(in.to_f32("pixel_values"), want.to_f32("pixel_values"), 1e-6f));
}

class EndToEndRun : public ::testing::TestWithParam<bool> {};  // --cpu or the GPU

TEST_P(EndToEndRun, ClipFromTextsAndPictures) {
  const json e = expected_json("clip");
  const fs::path out = vkt::temp_dir() / (GetParam() ? "clip_cpu.safetensors" : "clip_gpu.safetensors");
  std::string args = "run " + (kE2e / "clip" / "model.safetensors").string() + texts_args(e);
  for (const auto& p : e["pictures"]) args += " --image " + (kE2e / "clip" / "pictures" / p.get<std::string>()).string();
  args += " --output " + out.string() + (GetParam() ? " --cpu" : "");
  auto r = vkt::cli(args, "VKFUSE_VALIDATION=1");
  ASSERT_EQ(r.status, 0) << r.out;
  auto got = vkfuse::SafetensorsFile::open(out.string());
  auto want = vkfuse::SafetensorsFile::open((kE2e / "clip" / "expected.safetensors").string());
  for (const char* name : {"image_embeds", "text_embeds", "logits_per_image", "logits_per_text"}) {
    EXPECT_EQ(got.tensor(name).shape, want.tensor(name).shape) << name;
    EXPECT_TRUE(close(got.to_f32(name), want.to_f32(name), 3e-4f)) << name;
  }
}

TEST_P(EndToEndRun, BertSentenceEmbeddings) {
  const json e = expected_json("bert");
  const fs::path out = vkt::temp_dir() / (GetParam() ? "bert_cpu.safetensors" : "bert_gpu.safetensors");
  auto r = vkt::cli("run " + (kE2e / "bert" / "model.safetensors").string() + texts_args(e) + " --output " +
                        out.string() + (GetParam() ? " --cpu" : ""),
                    "VKFUSE_VALIDATION=1");
  ASSERT_EQ(r.status, 0) << r.out;
  auto got = vkfuse::SafetensorsFile::open(out.string());
  auto want = vkfuse::SafetensorsFile::open((kE2e / "bert" / "expected.safetensors").string());
  EXPECT_TRUE(close(got.to_f32("sentence_embedding"), want.to_f32("sentence_embedding"), 3e-4f));
  EXPECT_TRUE(close(got.to_f32("pooler_output"), want.to_f32("pooler_output"), 3e-4f));
  EXPECT_TRUE(close(got.to_f32("last_hidden_state"), want.to_f32("last_hidden_state"), 3e-4f,
                    want.to_mask("compare_mask")));
}

TEST_P(EndToEndRun, IndexAndSearchFindPicturesByText) {
  const json e = expected_json("clip");
  // The PNGs only: stb decodes JPEG a little differently from PIL, so the JPEG's rank is not
  // exact (tests/data/e2e/README.md).
  const fs::path dir = vkt::temp_dir() / (GetParam() ? "pngs_cpu" : "pngs_gpu");
  fs::create_directories(dir);
  for (const auto& p : e["pictures"])
    fs::copy_file(kE2e / "clip" / "pictures" / p.get<std::string>(), dir / p.get<std::string>(),
                  fs::copy_options::overwrite_existing);
  const std::string model = (kE2e / "clip" / "model.safetensors").string(), cpu = GetParam() ? " --cpu" : "";
  const fs::path idx = dir / "index.safetensors";
  auto r = vkt::cli("index " + model + " --images " + dir.string() + " --out " + idx.string() + " --batch 2" + cpu,
                    "VKFUSE_VALIDATION=1");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("5/5 pictures"), std::string::npos) << r.out;  // the progress line
  auto file = vkfuse::SafetensorsFile::open(idx.string());
  EXPECT_EQ(json::parse(file.metadata().at("vkfuse.names")), e["pictures"]);
  auto want = vkfuse::SafetensorsFile::open((kE2e / "clip" / "expected.safetensors").string());
  EXPECT_TRUE(close(file.to_f32("embeddings"), want.to_f32("image_embeds"), 3e-4f));
  for (const auto& t : e["rankings"]) {
    auto s = vkt::cli("search " + model + " " + idx.string() + " --text " + quoted(t["text"].get<std::string>()) +
                      " --top 3 --json" + cpu);
    ASSERT_EQ(s.status, 0) << s.out;
    json got = json::parse(s.out);
    ASSERT_EQ(got.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(got[i]["name"], t["ranking"][i]["name"]) << t["text"] << " rank " << i;
      EXPECT_NEAR(got[i]["score"].get<double>(), t["ranking"][i]["score"].get<double>(), 1e-4);
    }
  }
  // Search by picture: a picture of the index is its own best match, cosine 1.
  auto s = vkt::cli("search " + model + " " + idx.string() + " --image " + (dir / "red_tower_25x60.png").string() +
                    " --top 1 --json" + cpu);
  ASSERT_EQ(s.status, 0) << s.out;
  json got = json::parse(s.out);
  EXPECT_EQ(got[0]["name"], "red_tower_25x60.png");
  EXPECT_NEAR(got[0]["score"].get<double>(), 1.0, 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Cli, EndToEndRun, ::testing::Values(false, true),
                         [](const auto& pi) { return pi.param ? "Cpu" : "Gpu"; });

TEST(EndToEnd, BadTextsAndPicturesGiveOneClearError) {
  const std::string clip = (kE2e / "clip" / "model.safetensors").string();
  const std::string plain = (fs::path(VKFUSE_TEST_DATA) / "clip" / "both_towers_quick_gelu" / "model.safetensors").string();
  const fs::path bad = vkt::temp_dir() / "not_a_picture.png";
  std::ofstream(bad.string()) << "hello";
  EXPECT_TRUE(vkt::one_line_error(vkt::cli("run " + clip + " --image " + bad.string() + " --cpu"), "not a picture"));
  EXPECT_TRUE(vkt::one_line_error(vkt::cli("run " + clip + " --image /nonexistent.png --cpu"), "cannot open"));
  EXPECT_TRUE(vkt::one_line_error(vkt::cli("run " + plain + " --text 'a cat' --cpu"), "carries no tokenizer"));
  EXPECT_TRUE(vkt::one_line_error(vkt::cli("tokenize " + plain + " 'a cat'"), "tokenizer"));
  EXPECT_TRUE(vkt::one_line_error(vkt::cli("run " + clip + " --text 'a cat' --input x.safetensors"), "either --input"));
  // A model file whose preprocessing has no resize or crop: a 30x30 picture stays 30x30,
  // and the model takes 24x24.
  auto src = vkfuse::SafetensorsFile::open(clip);
  std::vector<std::pair<std::string, vkfuse::TensorBytes>> t;
  for (const auto& n : src.names()) {
    const auto& info = src.tensor(n);
    t.push_back({n, {info.dtype, info.shape, info.data}});
  }
  auto md = src.metadata();
  md["vkfuse.image_preprocess"] = R"({"mean":[0.5,0.5,0.5],"std":[0.5,0.5,0.5]})";
  const fs::path nocrop = vkt::temp_dir() / "clip_nocrop.safetensors";
  vkfuse::write_safetensors(nocrop.string(), t, md);
  EXPECT_TRUE(vkt::one_line_error(vkt::cli("run " + nocrop.string() + " --image " +
                                           (kE2e / "clip" / "pictures" / "diagonal_30x30.jpg").string() + " --cpu"),
                                  "expected [B, 3, 24, 24] (the model's image size)"));
  EXPECT_TRUE(vkt::one_line_error(vkt::cli("search " + clip + " " + clip + " --text 'a cat' --cpu"),
                                  "not an embedding index"));
}

}  // namespace
