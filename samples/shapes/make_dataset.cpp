// shapes_dataset: writes a shapes question-answering set as one safetensors file
// (samples/shapes/README.md, "Dataset file"), optionally the first scenes as PNG files with
// an index.txt of their objects and questions.
//
// Scene i is the generator's i-th scene() and its questions the questions() that follow it, so
// a file is reproduced exactly from --seed, --scenes and --questions-per-scene.
#include <CLI/CLI.hpp>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "shapes/png.hpp"
#include "shapes/scene.hpp"
#include "vkfuse/error.hpp"
#include "vkfuse/safetensors.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Write the shapes question-answering dataset as safetensors"};
  uint64_t seed = 1;
  int64_t scenes = 0;
  int per_scene = 4;
  std::string out, png_dir;
  int64_t png_count = 16;
  std::string look_name = "classic";
  app.add_option("--seed", seed, "generator seed")->default_val(1);
  app.add_option("--scenes", scenes, "number of scenes")->required()->check(CLI::Range(int64_t(1), int64_t(1) << 24));
  app.add_option("--questions-per-scene", per_scene, "questions about each scene (yes/no balanced up to 7)")
      ->default_val(4)
      ->check(CLI::Range(1, 16));
  app.add_option("--out", out, "safetensors file to write")->required();
  auto* dir_opt = app.add_option("--png-dir", png_dir, "also write the first scenes as PNG here");
  app.add_option("--png-count", png_count, "how many scenes --png-dir gets")
      ->default_val(16)
      ->check(CLI::NonNegativeNumber)
      ->needs(dir_opt);
  app.add_option("--look", look_name,
                 "classic: dark grey backgrounds, filled shapes, five templates; varied: any "
                 "background, outlines, rounded squares, thin and fat triangles, blur, JPEG, drawn "
                 "larger and resized, seven templates (samples/shapes/README.md)")
      ->default_val("classic")
      ->check(CLI::IsMember({"classic", "varied"}));
  CLI11_PARSE(app, argc, argv);
  const shapes::Look look = look_name == "varied" ? shapes::Look::Varied : shapes::Look::Classic;
  const int n_templates = shapes::num_templates(look);

  try {
    const auto t0 = std::chrono::steady_clock::now();
    const shapes::Vocab vocab = shapes::Vocab::standard();
    const size_t n_questions = size_t(scenes) * size_t(per_scene);
    const size_t image_bytes = size_t(shapes::kImageSize) * shapes::kImageSize * 3;
    std::vector<uint8_t> images(size_t(scenes) * image_bytes);
    std::vector<uint8_t> labels(n_questions);
    std::vector<int64_t> ids(n_questions * shapes::kMaxTextLen);
    std::vector<int64_t> scene_of(n_questions);
    std::vector<int64_t> templ(n_questions);
    // Scene i's objects, a row each: colour, shape, centre x, centre y, radius, the last three
    // in 1/8 px (exact: the generator's grid); rows past the scene's objects are all -1.
    constexpr int kObjectFields = 5;
    std::vector<int64_t> objects(size_t(scenes) * shapes::kMaxObjects * kObjectFields, -1);
    std::array<int64_t, shapes::kNumTemplates> asked{}, yes{};

    const int64_t n_png = png_dir.empty() ? 0 : std::min(png_count, scenes);
    std::ofstream index;
    if (n_png > 0) {
      std::filesystem::create_directories(png_dir);
      index.open(png_dir + "/index.txt");
      if (!index) throw vkfuse::Error(png_dir + "/index.txt: cannot open for writing");
    }

    shapes::Generator gen(seed, look);
    size_t q = 0;
    for (int64_t i = 0; i < scenes; ++i) {
      const shapes::Scene s = gen.scene();
      std::memcpy(&images[size_t(i) * image_bytes], s.image.rgb.data(), image_bytes);
      for (size_t k = 0; k < s.objects.size(); ++k) {
        const shapes::Object& o = s.objects[k];
        int64_t* row = &objects[(size_t(i) * shapes::kMaxObjects + k) * kObjectFields];
        row[0] = int64_t(o.color);
        row[1] = int64_t(o.shape);
        row[2] = std::lround(o.center.x * 8);
        row[3] = std::lround(o.center.y * 8);
        row[4] = std::lround(o.radius * 8);
      }
      const auto qs = gen.questions(s, per_scene);
      char name[32];
      std::snprintf(name, sizeof name, "scene_%05lld.png", static_cast<long long>(i));
      if (i < n_png) {
        shapes::write_png(png_dir + "/" + name, s.image);
        index << name << ": " << shapes::describe(s) << "\n";
      }
      for (const shapes::Question& question : qs) {
        const auto enc = vocab.encode(question.text);
        if (!enc.unknown_words.empty())
          throw vkfuse::Error("question \"" + question.text + "\" has words outside the vocabulary");
        std::copy(enc.ids.begin(), enc.ids.end(), &ids[q * shapes::kMaxTextLen]);
        scene_of[q] = i;
        labels[q] = question.answer ? 1 : 0;
        templ[q] = int64_t(question.templ);
        ++asked[size_t(question.templ)];
        yes[size_t(question.templ)] += question.answer;
        if (i < n_png) index << "  " << question.text << "? " << (question.answer ? "yes" : "no") << "\n";
        ++q;
      }
    }

    using vkfuse::DType;
    const std::map<std::string, std::string> meta = {
        {"vkfuse.vocab", vocab.to_json()},
        {"shapes.templates",
         nlohmann::json(std::vector<std::string>(shapes::template_names().begin(),
                                                 shapes::template_names().begin() + n_templates))
             .dump()},
        {"shapes.look", look_name},
        {"shapes.seed", std::to_string(seed)},
        {"shapes.scenes", std::to_string(scenes)},
        {"shapes.questions_per_scene", std::to_string(per_scene)}};
    vkfuse::write_safetensors(
        out,
        {{"images", {DType::U8, {scenes, shapes::kImageSize, shapes::kImageSize, 3}, images.data()}},
         {"input_ids", {DType::I64, {int64_t(n_questions), shapes::kMaxTextLen}, ids.data()}},
         {"scene", {DType::I64, {int64_t(n_questions)}, scene_of.data()}},
         {"labels", {DType::U8, {int64_t(n_questions)}, labels.data()}},
         {"template", {DType::I64, {int64_t(n_questions)}, templ.data()}},
         {"objects", {DType::I64, {scenes, shapes::kMaxObjects, kObjectFields}, objects.data()}}},
        meta);

    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("shapes_dataset: %s look, seed %llu, %lld scenes, %lld questions -> %s in %.1f s; yes "
                "fraction (questions) per template:",
                look_name.c_str(), static_cast<unsigned long long>(seed), static_cast<long long>(scenes),
                static_cast<long long>(n_questions), out.c_str(), secs);
    for (int t = 0; t < n_templates; ++t)
      std::printf(" %s %.3f (%lld)", shapes::template_names()[size_t(t)].c_str(),
                  asked[size_t(t)] ? double(yes[size_t(t)]) / double(asked[size_t(t)]) : 0.0,
                  static_cast<long long>(asked[size_t(t)]));
    std::printf("; %zu requests left queued%s\n", gen.pending(),
                n_png ? ("; " + std::to_string(n_png) + " PNGs in " + png_dir).c_str() : "");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "shapes_dataset: %s\n", e.what());
    return 1;
  }
}
