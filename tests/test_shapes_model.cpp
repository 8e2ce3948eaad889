// The flagship sample's parts: the evaluation's metrics on hand-checkable cases, the heat
// map's reduction of the attention weights, and the committed trained model
// (models/shapes_qa.safetensors) on committed questions against the CPU reference and the
// outputs PyTorch gave for the same file (tests/data/shapes/reference.safetensors, written by
// tools/train_shapes.py --fixture).
//
// Tolerances: the model is F16 on disk and F32 in every computation; PyTorch, the CPU
// reference and the GPU differ only in summation order over sums of at most 2E = 128 terms
// per layer through 7 layers, so probabilities (in [0, 1]) agree to well under 1e-4; the GPU
// and the CPU reference measured 3e-7 apart on 2,000 questions.
#include <algorithm>
#include <cmath>

#include "gpu_test.hpp"
#include "shapes/contact_sheet.hpp"
#include "shapes/heatmap.hpp"
#include "shapes/metrics.hpp"
#include "shapes/scene.hpp"

namespace {

TEST(ShapesMetrics, KnownConfusionMatrix) {
  // tp 3, fn 2, fp 1, tn 4.
  std::vector<float> p = {0.9f, 0.8f, 0.7f, 0.2f, 0.1f, 0.6f, 0.4f, 0.3f, 0.2f, 0.1f};
  std::vector<uint8_t> y = {1, 1, 1, 1, 1, 0, 0, 0, 0, 0};
  auto m = shapes::evaluate(p, y);
  EXPECT_EQ(m.tp, 3);
  EXPECT_EQ(m.fn, 2);
  EXPECT_EQ(m.fp, 1);
  EXPECT_EQ(m.tn, 4);
  EXPECT_DOUBLE_EQ(m.accuracy, 0.7);
  EXPECT_DOUBLE_EQ(m.precision, 0.75);
  EXPECT_DOUBLE_EQ(m.recall, 0.6);
  EXPECT_NEAR(m.f1, 2 * 0.75 * 0.6 / 1.35, 1e-12);
  // Pairs (yes, no) ranked right: the yeses 0.9, 0.8, 0.7 beat all five noes (15), 0.2
  // beats 0.1 and ties 0.2 (1.5), 0.1 ties 0.1 (0.5): 17 of 25.
  EXPECT_NEAR(m.roc_auc, 17.0 / 25.0, 1e-12);
}

TEST(ShapesMetrics, RocAucHandCases) {
  // scikit-learn's documented example: 0.75.
  EXPECT_DOUBLE_EQ(shapes::roc_auc({0.1f, 0.4f, 0.35f, 0.8f}, {0, 0, 1, 1}), 0.75);
  EXPECT_DOUBLE_EQ(shapes::roc_auc({0.5f, 0.5f}, {0, 1}), 0.5);            // a tie is half
  EXPECT_DOUBLE_EQ(shapes::roc_auc({0.1f, 0.2f, 0.9f}, {0, 1, 1}), 1.0);    // perfect
  EXPECT_DOUBLE_EQ(shapes::roc_auc({0.9f, 0.2f, 0.1f}, {0, 1, 1}), 0.0);    // inverted
  EXPECT_THROW(shapes::roc_auc({0.1f, 0.2f}, {1, 1}), vkfuse::Error);       // one class
  EXPECT_THROW(shapes::evaluate({0.1f}, {1, 0}), vkfuse::Error);            // sizes differ
  EXPECT_THROW(shapes::evaluate({}, {}), vkfuse::Error);
  // No yes predicted: precision and F1 are 0, not NaN; the threshold is inclusive.
  auto m = shapes::evaluate({0.1f, 0.2f}, {1, 0});
  EXPECT_EQ(m.precision, 0.0);
  EXPECT_EQ(m.f1, 0.0);
  EXPECT_EQ(shapes::evaluate({0.5f}, {1}).tp, 1);
}

TEST(ShapesMetrics, RecallAtKCountsAQueryWhenAnyOfItsFirstKFits) {
  // Query 0 fits ids {7}; query 1 fits {2, 9}; query 2 fits nothing listed.
  const std::vector<std::vector<int64_t>> ranked = {{7, 1, 2}, {5, 9, 2}, {1, 2, 3}};
  auto fits = [](size_t q, int64_t id) { return (q == 0 && id == 7) || (q == 1 && (id == 2 || id == 9)); };
  EXPECT_DOUBLE_EQ(shapes::recall_at(ranked, fits, 1), 1.0 / 3);
  EXPECT_DOUBLE_EQ(shapes::recall_at(ranked, fits, 2), 2.0 / 3);
  EXPECT_DOUBLE_EQ(shapes::recall_at(ranked, fits, 10), 2.0 / 3);  // k past the list
  EXPECT_THROW(shapes::recall_at({}, fits, 1), vkfuse::Error);
  EXPECT_THROW(shapes::recall_at(ranked, fits, 0), vkfuse::Error);
}

TEST(ShapesContactSheet, LayoutFramesAndBars) {
  shapes::Image red(20, 10, 0), blue(10, 10, 0);
  for (size_t i = 0; i < red.rgb.size(); i += 3) red.rgb[i] = 255;
  for (size_t i = 2; i < blue.rgb.size(); i += 3) blue.rgb[i] = 255;
  // Three entries, two columns, 16-pixel thumbnails: 2 * 22 + 6 wide, 2 * 32 + 6 high.
  const auto s = shapes::contact_sheet({{red, 1.f}, {blue, 0.5f}, {blue, 0.f}}, 16, 2, true);
  ASSERT_EQ(s.width, 50);
  ASSERT_EQ(s.height, 70);
  // The wide red picture fills its thumbnail's width and is centred in its height (16 x 8 at
  // y 10 to 17), framed (3 pixels around it, from y 7), the sheet's grey outside the frame.
  EXPECT_EQ(s.at(14, 12)[0], 255);
  EXPECT_EQ(s.at(14, 9)[1], 200);
  EXPECT_EQ(s.at(14, 5)[0], 40);
  EXPECT_EQ(s.at(28 + 8, 6 + 8)[2], 255);  // the blue one, second column
  const int bar_y = 6 + 16 + 6;            // score bars: full, half, empty
  EXPECT_EQ(s.at(6 + 15, bar_y)[1], 200);
  EXPECT_EQ(s.at(28 + 7, bar_y)[1], 200);
  EXPECT_EQ(s.at(28 + 9, bar_y)[1], 70);
  EXPECT_EQ(s.at(6 + 1, 38 + 16 + 6)[1], 70);
  EXPECT_THROW(shapes::contact_sheet({}, 16, 2, false), vkfuse::Error);
  EXPECT_THROW(shapes::contact_sheet({{red, 1.f}}, 4, 2, false), vkfuse::Error);
  std::vector<shapes::SheetEntry> many(1000, {blue, 1.f});
  EXPECT_THROW(shapes::contact_sheet(many, 1024, 6, false), vkfuse::Error);  // past kMaxSheetPixels
}

TEST(ShapesHeatMap, PatchAttentionAveragesRealTokensWithoutClass) {
  // T = 3 (2 real), Nv = 5 (class token + 2x2 patches).
  std::vector<float> w = {0.2f, 0.4f, 0.2f, 0.1f, 0.1f,   // token 0
                          0.6f, 0.0f, 0.0f, 0.0f, 0.4f,   // token 1
                          0.0f, 1.0f, 0.0f, 0.0f, 0.0f};  // padding: ignored
  auto p = shapes::patch_attention(w, 3, 5, 2, true);
  ASSERT_EQ(p.size(), 4u);
  // Sums 0.4, 0.2, 0.1, 0.5 over 1.2.
  EXPECT_NEAR(p[0], 0.4f / 1.2f, 1e-6);
  EXPECT_NEAR(p[1], 0.2f / 1.2f, 1e-6);
  EXPECT_NEAR(p[2], 0.1f / 1.2f, 1e-6);
  EXPECT_NEAR(p[3], 0.5f / 1.2f, 1e-6);
  EXPECT_THROW(shapes::patch_attention(w, 3, 4, 2, true), vkfuse::Error);
  EXPECT_THROW(shapes::patch_attention(w, 3, 5, 4, true), vkfuse::Error);
}

TEST(ShapesHeatMap, HottestPatchIsBrightest) {
  shapes::Image img(8, 8, 40);
  std::vector<float> p(16, 0.f);
  p[2 * 4 + 1] = 1.f;  // patch (x 1, y 2) of a 4x4 grid: pixels x 2-3, y 4-5
  auto h = shapes::heat_map(img, p, 4, 2);
  ASSERT_EQ(h.width, 32);
  ASSERT_EQ(h.height, 16);
  EXPECT_EQ(h.at(5, 9)[0], 40);  // the left half is the picture
  auto bright = [&](int x, int y) { return int(h.at(16 + x, y)[0]) + h.at(16 + x, y)[1] + h.at(16 + x, y)[2]; };
  int bx = 0, by = 0;
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x)
      if (bright(x, y) > bright(bx, by)) bx = x, by = y;
  // The brightest pixel lies on that patch (x 4-7, y 8-11 at scale 2) and is far brighter than
  // the dimmed picture; a far corner stays as dark as the dimmed picture.
  EXPECT_TRUE(bx >= 4 && bx < 8 && by >= 8 && by < 12) << bx << ", " << by;
  EXPECT_GT(bright(bx, by), 3 * 120);
  EXPECT_LT(bright(15, 0), 3 * 40);
}

std::string data(const char* f) { return std::string(VKFUSE_TEST_DATA) + "/shapes/" + f; }
std::string model_path() { return std::string(VKFUSE_SOURCE_DIR) + "/models/shapes_qa.safetensors"; }

class ShapesModel : public vkt::GpuTestP<vkt::Mode> {};

// The committed model on committed questions: the GPU against the CPU reference and against
// PyTorch's outputs for the same file, probabilities and the text-to-image attention.
TEST_P(ShapesModel, MatchesReferenceAndPyTorch) {
  auto model = vkfuse::Model::load(model_path());
  auto ref = vkfuse::SafetensorsFile::open(data("reference.safetensors"));
  auto in = vkfuse::SafetensorsFile::from_tensors(
      "reference questions", {{"image", {vkfuse::DType::F32, ref.tensor("image").shape, ref.to_f32("image").data()}},
                              {"input_ids", {vkfuse::DType::I64, ref.tensor("input_ids").shape, ref.to_i64("input_ids").data()}}});
  vkfuse::Session session(vkt::context(GetParam()), model, /*need_weights=*/true);
  auto gpu = session.run(in);
  auto cpu = model.run(in, true, nullptr);
  for (const char* name : {"probs", "logits", "cross_attn_weights"}) {
    EXPECT_TRUE(vkt::near_all(gpu.at(name).data, cpu.at(name).data, 2e-5f, 1e-5f)) << name << ": GPU vs CPU";
    EXPECT_TRUE(vkt::near_all(cpu.at(name).data, ref.to_f32(name), 1e-4f, 1e-4f)) << name << ": CPU vs PyTorch";
  }
}

// 16-bit weight files keep their weight matrices 16-bit on the device: about half the
// weight memory of an F32 file (embeddings, biases and norms stay F32), within 1e-2 of it.
// The F32 model is the committed one with each weight moved by up to 2^-10 of itself (so
// it is not exactly F16), its F16 and BF16 copies that rounded to nearest even.
TEST_P(ShapesModel, SixteenBitWeightsHalveTheWeightMemory) {
  auto file = vkfuse::SafetensorsFile::open(model_path());
  const std::vector<std::string> names = file.names();
  std::vector<std::vector<float>> f32(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    f32[i] = file.to_f32(names[i]);
    auto noise = vkt::random_vec(f32[i].size(), uint32_t(100 + i), -1.f / 1024, 1.f / 1024);
    for (size_t j = 0; j < f32[i].size(); ++j) f32[i][j] *= 1 + noise[j];
  }
  auto copy = [&](vkfuse::DType dt) {
    std::vector<std::vector<uint16_t>> words(names.size());
    std::vector<std::pair<std::string, vkfuse::TensorBytes>> t;
    for (size_t i = 0; i < names.size(); ++i) {
      const void* data = f32[i].data();
      if (dt != vkfuse::DType::F32) {
        for (float v : f32[i]) words[i].push_back(vkfuse::float_to_16bit(v, dt));
        data = words[i].data();
      }
      t.push_back({names[i], {dt, file.tensor(names[i]).shape, data}});
    }
    return vkfuse::Model::load(vkfuse::SafetensorsFile::from_tensors(std::string("shapes_qa ") + vkfuse::dtype_name(dt),
                                                                     t, file.metadata()));
  };
  auto m32 = copy(vkfuse::DType::F32), m16 = copy(vkfuse::DType::F16), mb16 = copy(vkfuse::DType::BF16);
  EXPECT_EQ(m32.weight_dtype(), vkfuse::DType::F32);
  EXPECT_EQ(m16.weight_dtype(), vkfuse::DType::F16);
  EXPECT_EQ(mb16.weight_dtype(), vkfuse::DType::BF16);
  EXPECT_EQ(vkfuse::Model::load(model_path()).weight_dtype(), vkfuse::DType::F16);
  auto ref = vkfuse::SafetensorsFile::open(data("reference.safetensors"));
  auto in = vkfuse::SafetensorsFile::from_tensors(
      "reference questions", {{"image", {vkfuse::DType::F32, ref.tensor("image").shape, ref.to_f32("image").data()}},
                              {"input_ids", {vkfuse::DType::I64, ref.tensor("input_ids").shape, ref.to_i64("input_ids").data()}}});
  auto& ctx = vkt::context(GetParam());
  vkfuse::Session s32(ctx, m32), s16(ctx, m16), sb16(ctx, mb16);
  auto o32 = s32.run(in), o16 = s16.run(in), ob16 = sb16.run(in);
  EXPECT_EQ(ctx.weight_dtype(), vkfuse::DType::F32) << "a session restores the context's weight dtype";
  const double ratio = double(s16.memory().weights) / double(s32.memory().weights);
  EXPECT_GT(ratio, 0.5);
  EXPECT_LT(ratio, 0.6) << s16.memory().weights << " bytes F16 vs " << s32.memory().weights << " F32";
  EXPECT_EQ(sb16.memory().weights, s16.memory().weights);
  for (const char* name : {"probs", "logits"})
    EXPECT_TRUE(vkt::near_all(o16.at(name).data, o32.at(name).data, 1e-2f, 1e-2f)) << name << ": F16 vs F32";
  // BF16 keeps 8 significant bits: its logits move by a few percent, its answers by less.
  EXPECT_TRUE(vkt::near_all(ob16.at("probs").data, o32.at("probs").data, 1e-2f, 1e-2f)) << "probs: BF16 vs F32";
  // Each against its own CPU reference, which widens the same 16-bit values.
  for (auto* pair : {&m16, &mb16}) {
    auto cpu = pair->run(in, false, nullptr);
    const auto& gpu = pair == &m16 ? o16 : ob16;
    EXPECT_TRUE(vkt::near_all(gpu.at("probs").data, cpu.at("probs").data, 2e-5f, 1e-5f)) << "GPU vs CPU";
  }
}

// The file carries what the sample needs: a vocabulary that tokenizes every question the
// generator asks, and the image preprocessing.
TEST(ShapesModelFile, CarriesVocabularyAndPreprocessing) {
  auto model = vkfuse::Model::load(model_path());
  auto vocab = shapes::Vocab::from_json(model.metadata().at("vkfuse.vocab"));
  EXPECT_EQ(int64_t(vocab.size()), model.config<vkfuse::FusionConfig>().vocab_size);
  shapes::Normalization::from_json(model.metadata().at("vkfuse.image_preprocess"));
  for (shapes::Look look : {shapes::Look::Classic, shapes::Look::Varied}) {
    shapes::Generator gen(5, look);
    for (int i = 0; i < 100; ++i) {
      auto scene = gen.scene();
      for (const auto& q : gen.questions(scene, 4)) {
        auto e = vocab.encode(q.text, int(model.config<vkfuse::FusionConfig>().max_text_len));
        EXPECT_TRUE(e.unknown_words.empty()) << q.text;
      }
    }
  }
}

std::string clip_path() { return std::string(VKFUSE_SOURCE_DIR) + "/models/shapes_clip.safetensors"; }

class ShapesClip : public vkt::GpuTestP<vkt::Mode> {};

// The committed shapes CLIP on committed pictures and captions: the GPU against the CPU
// reference and against PyTorch's CLIPModel (tools/hf_models.py) for the same file
// (tests/data/shapes_clip/reference.safetensors, tools/train_shapes_clip.py --fixture).
TEST_P(ShapesClip, MatchesReferenceAndPyTorch) {
  auto model = vkfuse::Model::load(clip_path());
  auto ref = vkfuse::SafetensorsFile::open(std::string(VKFUSE_TEST_DATA) + "/shapes_clip/reference.safetensors");
  auto in = vkfuse::SafetensorsFile::from_tensors(
      "reference pictures and captions",
      {{"pixel_values", {vkfuse::DType::F32, ref.tensor("pixel_values").shape, ref.to_f32("pixel_values").data()}},
       {"input_ids", {vkfuse::DType::I64, ref.tensor("input_ids").shape, ref.to_i64("input_ids").data()}},
       {"attention_mask", {vkfuse::DType::I64, ref.tensor("attention_mask").shape, ref.to_i64("attention_mask").data()}}});
  vkfuse::Session session(vkt::context(GetParam()), model);
  auto gpu = session.run(in);
  auto cpu = model.run(in, false, nullptr);
  for (const char* name : {"image_embeds", "text_embeds", "logits_per_image"}) {
    EXPECT_TRUE(vkt::near_all(gpu.at(name).data, cpu.at(name).data, 2e-4f, 2e-5f)) << name << ": GPU vs CPU";
    EXPECT_TRUE(vkt::near_all(cpu.at(name).data, ref.to_f32(name), 2e-4f, 1e-4f)) << name << ": CPU vs PyTorch";
  }
  // Each picture's own full caption (the first six texts) scores highest of the six.
  const auto& l = gpu.at("logits_per_image");
  const int64_t texts = l.shape[1];
  for (int64_t i = 0; i < l.shape[0]; ++i) {
    int64_t best = 0;
    for (int64_t j = 1; j < l.shape[0]; ++j)
      if (l.data[size_t(i * texts + j)] > l.data[size_t(i * texts + best)]) best = j;
    EXPECT_EQ(best, i) << "picture " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, ShapesClip, ::testing::Values(vkt::Mode::Normal, vkt::Mode::Portable),
                         [](const auto& pi) { return vkt::mode_name(pi.param); });

INSTANTIATE_TEST_SUITE_P(Shapes, ShapesModel, ::testing::Values(vkt::Mode::Normal, vkt::Mode::Portable),
                         [](const auto& pi) { return vkt::mode_name(pi.param); });

}  // namespace
