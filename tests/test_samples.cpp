// The flagship sample, the search sample and the embedding sample as a user runs them, under the Khronos
// validation layer (any message it prints fails the test): answers, metrics in range, heat
// maps written, and one clear line with a non-zero exit for bad input.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>

#include "cli_runner.hpp"
#include "shapes/png.hpp"

namespace fs = std::filesystem;

namespace {

using Result = vkt::CliResult;

Result sh(const std::string& cmd) {
  Result r;
  FILE* p = ::popen(("VKFUSE_VALIDATION=1 " + cmd + " 2>&1").c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  r.status = ::pclose(p);
  return r;
}

// Without a callback of its own, a program prints each validation message as
// "vkfuse: validation: ..." (engine/device.cpp).
void expect_no_validation_messages(const Result& r) {
  EXPECT_EQ(r.out.find("validation:"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("VUID"), std::string::npos) << r.out;
}

double number_after(const std::string& text, const std::string& label) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(label + " *=? *([0-9]+(\\.[0-9]+)?([eE][+-]?[0-9]+)?)"))) return -1;
  return std::stod(m[1]);
}

const std::string qa = SHAPES_QA_BIN, search = SHAPES_SEARCH_BIN;
const std::string other = std::string(VKFUSE_TEST_DATA) + "/shapes_other";
const std::string example = std::string(VKFUSE_SOURCE_DIR) + "/samples/data/shapes_example.png";

class Samples : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp = fs::temp_directory_path() / ("vkfuse-samples-" + std::to_string(::getpid()));
    fs::create_directories(tmp);
  }
  void TearDown() override { fs::remove_all(tmp); }
  fs::path tmp;
};

TEST_F(Samples, ShapesQaEvaluatesHeldOutQuestions) {
  auto r = sh(qa + " --questions 120 --batch 40 --heatmaps 2 --pictures \"\" --out " + tmp.string());
  ASSERT_TRUE(r.ok()) << r.out;
  expect_no_validation_messages(r);
  // 120 questions of the Varied look: the committed model's figures are in models/README.md;
  // 95% leaves room for six wrong answers. Chance is 50%.
  EXPECT_GE(number_after(r.out, "\naccuracy"), 95.0) << r.out;
  EXPECT_GE(number_after(r.out, "ROC AUC"), 0.99) << r.out;
  const double diff = number_after(r.out, "\\|p_gpu - p_cpu\\|");
  EXPECT_GE(diff, 0.0) << r.out;
  EXPECT_LT(diff, 1e-4) << r.out;
  int maps = 0;
  for (const auto& f : fs::directory_iterator(tmp))
    if (f.path().extension() == ".png") {
      auto img = shapes::read_png(f.path().string());
      EXPECT_EQ(img.width, 2 * img.height) << f.path();  // picture | heat map
      ++maps;
    }
  EXPECT_EQ(maps, 2) << r.out;
  EXPECT_TRUE(fs::exists(tmp / "index.txt"));
}

TEST_F(Samples, ShapesQaAnswersAPictureOfYourOwn) {
  // The example holds a yellow square, a red circle and a green circle.
  auto ask = [&](const std::string& q) {
    return sh(qa + " --image " + example + " --question \"" + q + "\" --out " + tmp.string());
  };
  auto yes = ask("Is there a red circle?");
  ASSERT_TRUE(yes.ok()) << yes.out;
  expect_no_validation_messages(yes);
  EXPECT_NE(yes.out.find("A: yes"), std::string::npos) << yes.out;
  EXPECT_TRUE(fs::exists(tmp / "answer_heatmap.png"));
  auto no = ask("is there a blue shape");
  EXPECT_NE(no.out.find("A: no"), std::string::npos) << no.out;
  auto two = ask("are there two circles");
  EXPECT_NE(two.out.find("A: yes"), std::string::npos) << two.out;
  auto unknown = ask("is there a purple circle");
  ASSERT_TRUE(unknown.ok()) << unknown.out;
  EXPECT_NE(unknown.out.find("does not know 'purple'"), std::string::npos) << unknown.out;
}

TEST_F(Samples, ShapesQaBadInputIsOneLine) {
  auto expect_error = [&](const std::string& args, const std::string& needle) {
    EXPECT_TRUE(vkt::one_line_error(sh(qa + " " + args), needle)) << args;
  };
  expect_error("--image " + (tmp / "none.png").string() + " --question \"is there a circle\"", "none.png");
  expect_error("--image " + example, "--image and --question go together");
  expect_error("--model " + std::string(VKFUSE_TEST_DATA) + "/attention/key_padding_mask/model.safetensors",
               "arch is multihead_attention");
  expect_error("--image " + example + " --question \"is there a red circle left of the big green square in the corner\"",
               "tokens");
  // A file where the heat maps would go: refused before the evaluation, not after it.
  const std::string file = (tmp / "a-file").string();
  std::fclose(std::fopen(file.c_str(), "w"));
  expect_error("--out " + file, "--out " + file + ": cannot make a folder there");
  expect_error("--image " + example + " --question \"is there a circle\" --out " + file + "/maps", "--out " + file);
  // A pictures folder without an index, with a broken one, with a path in a file name.
  expect_error("--questions 0 --heatmaps 0 --pictures " + tmp.string(), "index.json: cannot open");
  auto write = [&](const std::string& text) {
    std::FILE* f = std::fopen((tmp / "index.json").string().c_str(), "w");
    std::fputs(text.c_str(), f);
    std::fclose(f);
  };
  write("{\"renderer\": \"x\", \"pictures\": [");
  expect_error("--questions 0 --heatmaps 0 --pictures " + tmp.string(), "index.json: not JSON");
  write("{\"renderer\": \"x\", \"pictures\": [{\"file\": \"../x.png\", \"questions\": []}]}");
  expect_error("--questions 0 --heatmaps 0 --pictures " + tmp.string(), "not a plain file name");
  write("{\"renderer\": \"x\", \"pictures\": [{\"file\": \"x.png\", \"questions\": [{\"text\": \"is there a circle\", "
        "\"template\": \"no_such\", \"answer\": true}]}]}");
  expect_error("--questions 0 --heatmaps 0 --pictures " + tmp.string(), "unknown template");
}

// The committed held-out pictures drawn by ImageMagick (tools/draw_shapes_magick.py, seed 7):
// the target is 95%; the committed model answers 99.1% (793 of 800, models/README.md)
// and is held to 98.5%, so a model that loses more than five answers there fails.
TEST_F(Samples, ShapesQaAnswersPicturesOfAnotherProgram) {
  auto r = sh(qa + " --questions 0 --heatmaps 0 --pictures " + other + " --min-accuracy 0.985");
  EXPECT_TRUE(r.ok()) << r.out;
  expect_no_validation_messages(r);
  EXPECT_NE(r.out.find("800 held-out questions about 200 pictures drawn by ImageMagick"), std::string::npos) << r.out;
  EXPECT_GE(number_after(r.out, "\naccuracy"), 98.5) << r.out;
  EXPECT_NE(r.out.find("(target 95%: met)"), std::string::npos) << r.out;
  const double diff = number_after(r.out, "\\|p_gpu - p_cpu\\|");
  EXPECT_GE(diff, 0.0) << r.out;
  EXPECT_LT(diff, 1e-4) << r.out;
}

// Index the committed held-out pictures, find one by a caption that fits it alone, by the
// picture itself, classify one zero-shot, write a contact sheet.
TEST_F(Samples, ShapesSearchFindsPicturesByCaptionAndByPicture) {
  const std::string index = (tmp / "gallery.safetensors").string();
  auto r = sh(search + " index " + other + " --out " + index);
  ASSERT_TRUE(r.ok()) << r.out;
  expect_no_validation_messages(r);
  EXPECT_NE(r.out.find("indexing: 200/200 pictures"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("indexed 200 pictures"), std::string::npos) << r.out;
  // other_0003.png: "a red circle, a green circle, a green square and a yellow square", no
  // other picture's caption.
  const std::string file = other + "/other_0003.png";
  r = sh(search + " search " + index + " --text \"a red circle, a green circle, a green square and a yellow square\" --top 5 --json --sheet " +
         (tmp / "sheet.png").string() + " --thumb 64");
  ASSERT_TRUE(r.ok()) << r.out;
  expect_no_validation_messages(r);
  EXPECT_NE(r.out.find("\"name\": \"" + file + "\""), std::string::npos) << "not in the top 5: " << r.out;
  // Five results, 64-pixel thumbnails: 5 * (64 + 6) + 6 wide, 64 + 16 + 6 high.
  const auto sheet = shapes::read_png((tmp / "sheet.png").string());
  EXPECT_EQ(sheet.width, 5 * 70 + 6);
  EXPECT_EQ(sheet.height, 86);
  r = sh(search + " search " + index + " --image " + file + " --top 1");
  ASSERT_TRUE(r.ok()) << r.out;
  EXPECT_NE(r.out.find("  1  1.0000  " + file), std::string::npos) << "the picture itself first: " << r.out;
  // other_0024.png holds one shape alone: a yellow square.
  r = sh(search + " classify " + other + "/other_0024.png --caption \"a red circle\" --caption \"a yellow square\" --caption \"a yellow triangle\"");
  ASSERT_TRUE(r.ok()) << r.out;
  const auto first = r.out.find('%');
  ASSERT_NE(first, std::string::npos) << r.out;
  EXPECT_EQ(r.out.substr(first + 3, 15), "a yellow square") << r.out;
}

TEST_F(Samples, ShapesSearchEvaluatesRecall) {
  auto r = sh(search + " eval " + other + " --min-recall5 0.97 --sheets " + tmp.string());
  EXPECT_TRUE(r.ok()) << r.out;
  expect_no_validation_messages(r);
  EXPECT_GE(number_after(r.out, "text to image +[0-9.]+% +"), 97.0) << r.out;
  EXPECT_GE(number_after(r.out, "zero-shot:"), 80.0) << r.out;
  EXPECT_TRUE(fs::exists(tmp / "sheet_imagemagick.png")) << r.out;
}

TEST_F(Samples, ShapesSearchBadInputIsOneLine) {
  auto expect_error = [&](const std::string& args, const std::string& needle) {
    EXPECT_TRUE(vkt::one_line_error(sh(search + " " + args), needle)) << args;
  };
  expect_error("index " + (tmp / "none").string(), "not a folder");
  expect_error("search " + (tmp / "none.safetensors").string() + " --text \"a red circle\"", "none.safetensors");
  expect_error("eval " + tmp.string(), "captions.tsv");
  std::FILE* f = std::fopen((tmp / "captions.tsv").string().c_str(), "w");
  std::fputs("a.png\ta red circle\tx\nno-caption-here\n", f);
  std::fclose(f);
  expect_error("eval " + tmp.string(), "captions.tsv:2: expected FILE<tab>CAPTION");
  expect_error("--model " + std::string(VKFUSE_SOURCE_DIR) + "/models/shapes_qa.safetensors classify " + example,
               "shapes_qa.safetensors");
}

TEST_F(Samples, EmbedAnswers) {
  auto r = sh(std::string(EMBED_BIN) + " " + example + " \"is there a green circle\"");
  ASSERT_TRUE(r.ok()) << r.out;
  expect_no_validation_messages(r);
  EXPECT_NE(r.out.find("-> yes"), std::string::npos) << r.out;
  r = sh(std::string(EMBED_BIN) + " " + example + " \"is there a blue shape\"");
  EXPECT_NE(r.out.find("-> no"), std::string::npos) << r.out;
}

}  // namespace
