// The flagship sample: a small vision-text fusion model, trained in PyTorch on generated
// "shapes" scenes (tools/train_shapes.py; models/README.md says how it was made), answers
// yes/no questions about pictures through cross-attention on the GPU.
//
//   shapes_qa                      held-out generated questions (the Varied look), then the
//                                  held-out pictures drawn by ImageMagick (tests/data/
//                                  shapes_other): accuracy, precision, recall, F1, ROC AUC, the
//                                  GPU against the CPU reference, latency, and heat maps of
//                                  where a few questions looked
//   shapes_qa --image F.png --question "is there a red circle"
//                                  one picture (PNG, JPEG, GIF, BMP) and question of your own
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vkfuse/image.hpp>
#include <vkfuse/vkfuse.hpp>

#include "shapes/heatmap.hpp"
#include "shapes/metrics.hpp"
#include "shapes/png.hpp"
#include "shapes/progress.hpp"
#include "shapes/scene.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// The model and what its file says about its inputs.
struct QaModel {
  vkfuse::Model model;
  shapes::Vocab vocab;
  shapes::Normalization norm;
  const vkfuse::FusionConfig& config() const { return model.config<vkfuse::FusionConfig>(); }

  static QaModel load(const std::string& path) {
    vkfuse::Model m = vkfuse::Model::load(path);
    if (m.arch() != "vision_text_fusion")
      throw vkfuse::Error(path + ": arch is " + m.arch() + "; shapes_qa needs a vision_text_fusion model");
    const auto& md = m.metadata();
    auto vocab = md.find("vkfuse.vocab");
    if (vocab == md.end()) throw vkfuse::Error(path + ": no 'vkfuse.vocab' in the metadata: the model has no vocabulary");
    auto pre = md.find("vkfuse.image_preprocess");
    if (pre == md.end()) throw vkfuse::Error(path + ": no 'vkfuse.image_preprocess' in the metadata");
    const auto& c = m.config<vkfuse::FusionConfig>();
    if (c.in_channels != 3 || c.num_outputs != 1 || c.output_activation != vkfuse::FusionConfig::Output::Sigmoid)
      throw vkfuse::Error(path + ": shapes_qa needs RGB input and one sigmoid output (a yes probability)");
    shapes::Vocab v = shapes::Vocab::from_json(vocab->second);
    if (int64_t(v.size()) != c.vocab_size)
      throw vkfuse::Error(path + ": 'vkfuse.vocab' has " + std::to_string(v.size()) + " words, the model " +
                          std::to_string(c.vocab_size));
    return {std::move(m), std::move(v), shapes::Normalization::from_json(pre->second)};
  }

  // The model's input for one picture of any size.
  std::vector<float> image_input(const shapes::Image& img) const {
    const int s = int(config().image_size);
    return shapes::preprocess(img.width == s && img.height == s ? img : shapes::resize_area(img, s, s), norm);
  }
};

// One question about one scene, ready for the model.
struct Item {
  size_t scene;
  shapes::Question q;
  shapes::Vocab::Encoded tokens;
};

// The question for the model; an Error naming the words its vocabulary lacks (a model trained
// before the Varied look's templates cannot answer them).
shapes::Vocab::Encoded encode_known(const QaModel& m, const std::string& text, const std::string& where) {
  auto tok = m.vocab.encode(text, int(m.config().max_text_len));
  if (!tok.unknown_words.empty()) {
    std::string words;
    for (const auto& w : tok.unknown_words) words += " '" + w + "'";
    throw vkfuse::Error(where + ": the model does not know" + words + " in \"" + text +
                        "\" (a model from before these templates: try --look classic --pictures \"\")");
  }
  return tok;
}

// Questions about pictures, evaluated together and held to one target.
struct QuestionSet {
  std::string what;
  double target;
  std::vector<shapes::Image> scenes;
  std::vector<Item> items;
};

shapes::Image read_picture(const std::string& path) { return shapes::from_vkfuse(vkfuse::read_image(path)); }

// The pictures of a folder with the index.json of tools/draw_shapes_magick.py.
QuestionSet pictures_set(const std::string& dir, const QaModel& m) {
  const std::string path = (fs::path(dir) / "index.json").string();
  std::ifstream f(path);
  if (!f) throw vkfuse::Error(path + ": cannot open (--pictures needs a folder with index.json)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(f);
  } catch (const std::exception& e) {
    throw vkfuse::Error(path + ": not JSON: " + e.what());
  }
  QuestionSet set;
  set.target = 0.95;
  const auto& names = shapes::template_names();
  try {
    set.what = "pictures drawn by " + j.at("renderer").get<std::string>() + " (" + dir + ")";
    for (const auto& p : j.at("pictures")) {
      const std::string file = p.at("file").get<std::string>();
      if (file.find('/') != std::string::npos || file.find('\\') != std::string::npos)
        throw vkfuse::Error("picture \"" + file + "\" is not a plain file name");
      for (const auto& q : p.at("questions")) {
        const std::string t = q.at("template").get<std::string>();
        const auto it = std::find(names.begin(), names.end(), t);
        if (it == names.end()) throw vkfuse::Error(file + ": unknown template \"" + t + "\"");
        shapes::Question question{shapes::Template(it - names.begin()), q.at("text").get<std::string>(),
                                  q.at("answer").get<bool>()};
        set.items.push_back({set.scenes.size(), question, encode_known(m, question.text, path)});
      }
      set.scenes.push_back(read_picture((fs::path(dir) / file).string()));
    }
  } catch (const nlohmann::json::exception& e) {
    throw vkfuse::Error(path + ": " + e.what());
  }
  if (set.items.empty()) throw vkfuse::Error(path + ": no questions");
  return set;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

double device_ms(const vkfuse::Session& s) {
  double total = 0;
  for (const auto& t : s.timings()) total += t.ms;
  return total;
}

// Runs questions [first, first + b) (the last ones repeated to fill a short batch, so that
// one recording serves every batch) and returns their yes probabilities.
std::vector<float> run_batch(vkfuse::Session& s, const QaModel& m, const std::vector<shapes::Image>& scenes,
                             const std::vector<Item>& items, size_t first, size_t b) {
  const auto& c = m.config();
  std::vector<float> images;
  std::vector<int64_t> ids;
  for (size_t i = 0; i < b; ++i) {
    const Item& it = items[std::min(first + i, items.size() - 1)];
    auto x = m.image_input(scenes[it.scene]);
    images.insert(images.end(), x.begin(), x.end());
    ids.insert(ids.end(), it.tokens.ids.begin(), it.tokens.ids.end());
  }
  s.set_input("image", {int64_t(b), 3, c.image_size, c.image_size}, images);
  s.set_input("input_ids", {int64_t(b), int64_t(items[0].tokens.ids.size())}, ids);
  auto out = s.run();
  return out.at("probs").data;
}

// The heat map of one question: run with the attention weights, draw them.
float draw(vkfuse::Session& weights, const QaModel& m, const shapes::Image& img, const shapes::Vocab::Encoded& tok,
           const std::string& path) {
  const auto& c = m.config();
  weights.set_input("image", {1, 3, c.image_size, c.image_size}, m.image_input(img));
  weights.set_input("input_ids", {1, int64_t(tok.ids.size())}, tok.ids);
  weights.run();
  const auto& w = weights.output("cross_attn_weights");
  auto patches = shapes::patch_attention(w.data, int(w.shape[1]), int(w.shape[2]), tok.length, c.use_cls_token);
  shapes::write_png(path, shapes::heat_map(img, patches, int(c.grid())));
  return weights.output("probs").data[0];
}

struct Args {
  std::string model = SHAPES_QA_MODEL, device, out = "shapes_qa_out", image, question;
  std::string look = "varied", pictures = SHAPES_OTHER_DIR;
  uint64_t seed = 1000;
  int questions = 2000, batch = 50, heatmaps = 6;
  double min_accuracy = 0;
  bool validation = false;
};

// Made before the long work, so that a bad --out fails at once and not after the evaluation.
void make_out_folder(const std::string& out) {
  std::error_code ec;
  if (fs::exists(out, ec) && !fs::is_directory(out, ec))
    throw vkfuse::Error("--out " + out + ": cannot make a folder there (a file of that name is in the way)");
  fs::create_directories(out, ec);
  if (ec) throw vkfuse::Error("--out " + out + ": cannot make a folder there (" + ec.message() + ")");
}

int ask(const Args& a, const QaModel& m, vkfuse::Context& ctx) {
  shapes::Image img = read_picture(a.image);
  auto tok = m.vocab.encode(a.question, int(m.config().max_text_len));
  if (!tok.unknown_words.empty()) {
    std::string words, known;
    for (const auto& w : tok.unknown_words) words += " '" + w + "'";
    for (size_t i = 3; i < m.vocab.size(); ++i) known += " " + m.vocab.words()[i];
    std::fprintf(stderr, "note: the model does not know%s (read as <unk>); it knows:%s\n", words.c_str(), known.c_str());
  }
  make_out_folder(a.out);
  vkfuse::Session s(ctx, m.model, /*need_weights=*/true);
  const std::string path = (fs::path(a.out) / "answer_heatmap.png").string();
  const float p = draw(s, m, img, tok, path);
  std::printf("%s\nQ: %s\nA: %s (p(yes) = %.3f)\nwhere the question looked: %s\n", a.image.c_str(),
              a.question.c_str(), p >= 0.5f ? "yes" : "no", p, path.c_str());
  return 0;
}

// Held-out questions from the generator: the training and validation sets came from other seeds.
QuestionSet generated_set(const Args& a, const QaModel& m) {
  const shapes::Look look = a.look == "classic" ? shapes::Look::Classic : shapes::Look::Varied;
  shapes::Generator gen(a.seed, look);
  QuestionSet set;
  set.target = 0.99;
  set.what = "generated scenes (" + a.look + " look, seed " + std::to_string(a.seed) + ")";
  const int per_scene = 4;  // as the training set
  while (int(set.items.size()) < a.questions) {
    shapes::Scene sc = gen.scene();
    for (auto& q : gen.questions(sc, std::min(per_scene, a.questions - int(set.items.size()))))
      set.items.push_back({set.scenes.size(), q, encode_known(m, q.text, set.what)});
    set.scenes.push_back(std::move(sc.image));
  }
  return set;
}

// Returns the set's accuracy.
double evaluate(const Args& a, const QaModel& m, vkfuse::Context& ctx, const QuestionSet& set, bool heatmaps) {
  const auto& scenes = set.scenes;
  const auto& items = set.items;
  const size_t n = items.size(), b = size_t(std::min<int64_t>(a.batch, int64_t(n)));
  std::printf("\n%zu held-out questions about %zu %s, batches of %zu\n", n, scenes.size(), set.what.c_str(), b);

  // The GPU, batched.
  const bool timed = ctx.caps().timestamps;
  vkfuse::Session batched(ctx, m.model, false, timed);
  std::vector<float> probs;
  std::vector<double> wall_b, dev_b;
  shapes::Progress gpu_progress{"GPU", "questions", n};
  for (size_t first = 0; first < n; first += b) {
    auto t0 = Clock::now();
    auto p = run_batch(batched, m, scenes, items, first, b);
    wall_b.push_back(ms_since(t0) / double(b));
    if (timed) dev_b.push_back(device_ms(batched) / double(b));
    probs.insert(probs.end(), p.begin(), p.begin() + long(std::min(b, n - first)));
    gpu_progress(probs.size());
  }

  // The GPU one question at a time (latency), and the CPU reference on every question.
  vkfuse::Session single(ctx, m.model, false, timed);
  std::vector<double> wall_1, dev_1;
  for (size_t i = 0; i < std::min<size_t>(n, 100); ++i) {
    auto t0 = Clock::now();
    run_batch(single, m, scenes, items, i, 1);
    wall_1.push_back(ms_since(t0));
    if (timed) dev_1.push_back(device_ms(single));
  }
  double max_diff = 0;
  auto t_cpu = Clock::now();
  shapes::Progress cpu_progress{"CPU reference", "questions", n};
  for (size_t first = 0; first < n; first += b) {
    const size_t k = std::min(b, n - first);
    std::vector<float> images;
    std::vector<int64_t> ids;
    for (size_t i = first; i < first + k; ++i) {
      auto x = m.image_input(scenes[items[i].scene]);
      images.insert(images.end(), x.begin(), x.end());
      ids.insert(ids.end(), items[i].tokens.ids.begin(), items[i].tokens.ids.end());
    }
    const int64_t s = m.config().image_size, t = int64_t(items[0].tokens.ids.size());
    auto in = vkfuse::SafetensorsFile::from_tensors(
        "cpu inputs", {{"image", vkfuse::f32_bytes({int64_t(k), 3, s, s}, images)},
                       {"input_ids", {vkfuse::DType::I64, {int64_t(k), t}, ids.data()}}});
    auto ref = m.model.run(in, false, nullptr).at("probs").data;
    for (size_t i = 0; i < k; ++i) max_diff = std::max(max_diff, double(std::fabs(ref[i] - probs[first + i])));
    cpu_progress(first + k);
  }
  const double cpu_ms = ms_since(t_cpu) / double(n);

  // Metrics, overall and per template.
  std::vector<uint8_t> labels;
  for (const auto& it : items) labels.push_back(it.q.answer);
  const auto mt = shapes::evaluate(probs, labels);
  std::printf("\n%-22s %9s %9s\n", "template", "questions", "accuracy");
  for (int t = 0; t < shapes::kNumTemplates; ++t) {
    std::vector<float> p;
    std::vector<uint8_t> l;
    for (size_t i = 0; i < n; ++i)
      if (int(items[i].q.templ) == t) {
        p.push_back(probs[i]);
        l.push_back(labels[i]);
      }
    if (!p.empty())
      std::printf("%-22s %9zu %8.1f%%\n", shapes::template_names()[size_t(t)].c_str(), p.size(),
                  100 * shapes::evaluate(p, l).accuracy);
  }
  std::printf("\naccuracy  %.2f%%  (target %.0f%%: %s)\nprecision %.4f   recall %.4f   F1 %.4f   ROC AUC %.4f\n",
              100 * mt.accuracy, 100 * set.target, mt.accuracy >= set.target ? "met" : "NOT met", mt.precision, mt.recall, mt.f1, mt.roc_auc);
  std::printf("confusion: %lld yes right, %lld no right, %lld false yes, %lld false no\n", (long long)mt.tp,
              (long long)mt.tn, (long long)mt.fp, (long long)mt.fn);
  std::printf("GPU vs CPU reference: largest |p_gpu - p_cpu| = %.2e over %zu questions\n", max_diff, n);
  auto dev = [&](const std::vector<double>& v) { return timed ? std::to_string(median(v)).substr(0, 6) + " ms" : "n/a"; };
  std::printf("latency per question (medians): batch 1: device %s, wall %.3f ms; batch %zu: device %s, wall %.3f ms;"
              " CPU reference %.2f ms\n",
              dev(dev_1).c_str(), median(wall_1), b, dev(dev_b).c_str(), median(wall_b), cpu_ms);
  std::printf("(device = timestamp queries around every dispatch; wall = host clock around set inputs, run, read)\n");

  // Heat maps: the first question of each template, preferring a "yes" (the object is there).
  if (heatmaps) {
    std::vector<size_t> pick;
    for (int want_yes : {1, 0})
      for (int t = 0; t < shapes::kNumTemplates; ++t)
        for (size_t i = 0; i < n && int(pick.size()) < a.heatmaps; ++i)
          if (int(items[i].q.templ) == t && items[i].q.answer == bool(want_yes) &&
              std::find(pick.begin(), pick.end(), i) == pick.end()) {
            pick.push_back(i);
            break;
          }
    vkfuse::Session weights(ctx, m.model, /*need_weights=*/true);
    std::ofstream index(fs::path(a.out) / "index.txt");
    std::printf("\nheat maps of the text-to-image attention (picture | where the question looked):\n");
    for (size_t k = 0; k < pick.size(); ++k) {
      const Item& it = items[pick[k]];
      const std::string file = "heatmap_" + std::to_string(k) + "_" + shapes::template_names()[size_t(it.q.templ)] + ".png";
      const float p = draw(weights, m, scenes[it.scene], it.tokens, (fs::path(a.out) / file).string());
      char line[512];
      std::snprintf(line, sizeof line, "%s  \"%s\"  truth %s, answer %s (p(yes) = %.3f)", file.c_str(), it.q.text.c_str(),
                    it.q.answer ? "yes" : "no", p >= 0.5f ? "yes" : "no", p);
      std::printf("  %s\n", line);
      index << line << "\n";
    }
    std::printf("written to %s/\n", fs::absolute(a.out).lexically_normal().c_str());
  }
  return mt.accuracy;
}

int evaluate_all(const Args& a, const QaModel& m, vkfuse::Context& ctx) {
  if (a.heatmaps > 0) make_out_folder(a.out);
  std::vector<QuestionSet> sets;
  if (a.questions > 0) sets.push_back(generated_set(a, m));
  if (!a.pictures.empty()) sets.push_back(pictures_set(a.pictures, m));
  if (sets.empty()) throw vkfuse::Error("nothing to evaluate: --questions 0 and no --pictures");
  std::printf("model %s\ndevice %s\n", a.model.c_str(), ctx.device().name.c_str());
  bool below = false;
  for (size_t i = 0; i < sets.size(); ++i) {
    const double acc = evaluate(a, m, ctx, sets[i], i == 0 && a.heatmaps > 0);
    if (acc < a.min_accuracy) {
      std::fprintf(stderr, "shapes_qa: accuracy %.4f on %s is below --min-accuracy %.4f\n", acc,
                   sets[i].what.c_str(), a.min_accuracy);
      below = true;
    }
  }
  return below ? 2 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  CLI::App app{"Answers yes/no questions about pictures with a vision-text fusion model on the GPU"};
  app.add_option("--model", a.model, "Model file (vision_text_fusion with vkfuse.vocab)")->capture_default_str();
  app.add_option("--device", a.device, "Device index or part of its name (default: VKFUSE_DEVICE or best)");
  app.add_option("--image", a.image, "Answer about this picture (PNG, JPEG, GIF, BMP; any size, resized to the model's) instead of evaluating");
  app.add_option("--question", a.question, "The question about --image, e.g. \"is there a red circle\"");
  app.add_option("--questions", a.questions, "Held-out generated questions to evaluate (0: none)")->check(CLI::Range(0, 1000000))->capture_default_str();
  app.add_option("--seed", a.seed, "Seed of the held-out scenes (training and validation used 1, 2, 11-13)")->capture_default_str();
  app.add_option("--look", a.look, "Look of the generated scenes (classic or varied)")
      ->check(CLI::IsMember({"classic", "varied"}))
      ->capture_default_str();
  app.add_option("--pictures", a.pictures, "Also evaluate this folder of pictures with an index.json of questions "
                 "(tools/draw_shapes_magick.py; \"\" for none)")->capture_default_str();
  app.add_option("--min-accuracy", a.min_accuracy, "Exit with status 2 when a set's accuracy is below this")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--batch", a.batch, "Questions per GPU run")->check(CLI::Range(1, 4096))->capture_default_str();
  app.add_option("--heatmaps", a.heatmaps, "Heat maps to write")->check(CLI::Range(0, 100))->capture_default_str();
  app.add_option("--out", a.out, "Folder for the heat-map PNGs")->capture_default_str();
  app.add_flag("--validation", a.validation, "Run under the Khronos validation layer");
  CLI11_PARSE(app, argc, argv);
  try {
    if (a.image.empty() != a.question.empty())
      throw vkfuse::Error("--image and --question go together");
    QaModel m = QaModel::load(a.model);
    vkfuse::Options o;
    o.device = a.device;
    o.validation = a.validation;
    vkfuse::Context ctx(o);
    return a.image.empty() ? evaluate_all(a, m, ctx) : ask(a, m, ctx);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "shapes_qa: error: %s\n", e.what());
    return 1;
  }
}
