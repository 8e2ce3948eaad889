// vkfuse index MODEL --images DIR --out INDEX [--batch N] [--device SEL] [--cpu]
// vkfuse search MODEL INDEX (--text T | --image F) [--top K] [--json] [--device SEL] [--cpu]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "commands.hpp"
#include "vkfuse/embedder.hpp"
#include "vkfuse/embedding_index.hpp"
#include "vkfuse/error.hpp"

namespace fs = std::filesystem;

namespace {

struct Args {
  std::string model, images, out, index, device, text, image;
  int64_t batch = 8, top = 5;
  bool cpu = false, json = false, validation = false;
};

std::optional<vkfuse::Context> make_context(const Args& a) {
  if (a.cpu) return std::nullopt;
  vkfuse::Options o;
  o.device = a.device;
  o.validation = a.validation;
  return std::make_optional<vkfuse::Context>(o);
}

bool is_picture(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return e == ".png" || e == ".jpg" || e == ".jpeg";
}

void index(const Args& a) {
  if (a.batch < 1 || a.batch > 1024) throw vkfuse::Error("index: --batch must be from 1 to 1024");
  std::error_code ec;
  if (!fs::is_directory(a.images, ec)) throw vkfuse::Error("index: '" + a.images + "' is not a directory");
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(a.images))
    if (e.is_regular_file() && is_picture(e.path())) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  if (files.empty()) throw vkfuse::Error("index: '" + a.images + "' holds no PNG or JPEG file");
  vkfuse::Model model = vkfuse::Model::load(a.model);
  auto ctx = make_context(a);
  vkfuse::Embedder embed(model, ctx ? &*ctx : nullptr);
  const vkfuse::ImagePreprocess& pre = embed.preprocessor().image_preprocess();
  std::vector<std::string> names;
  std::vector<float> rows;
  int64_t dim = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < files.size(); i += size_t(a.batch)) {
    std::vector<vkfuse::Image> pictures;
    std::vector<std::string> batch_names;
    for (size_t j = i; j < std::min(files.size(), i + size_t(a.batch)); ++j) {
      // Shrunk to the model's size as soon as decoded: a batch of camera photos is not held
      // at full size.
      pictures.push_back(pre.resize_and_crop(vkfuse::read_image(files[j].string())));
      batch_names.push_back(files[j].filename().string());
    }
    auto e = embed.images(pictures, dim, batch_names);
    rows.insert(rows.end(), e.begin(), e.end());
    names.insert(names.end(), batch_names.begin(), batch_names.end());
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "\rvkfuse index: %zu/%zu pictures, %.1f s, %.1f ms per picture", names.size(), files.size(),
                 s, 1000 * s / double(names.size()));
  }
  std::fputc('\n', stderr);
  vkfuse::EmbeddingIndex(names, rows, dim).save(a.out);
  std::fprintf(stderr, "vkfuse index: wrote %zu embeddings of %lld to %s\n", names.size(), static_cast<long long>(dim),
               a.out.c_str());
}

void search(const Args& a) {
  if (a.text.empty() == a.image.empty()) throw vkfuse::Error("search: give one query, --text or --image");
  vkfuse::Model model = vkfuse::Model::load(a.model);
  vkfuse::EmbeddingIndex idx = vkfuse::EmbeddingIndex::load(a.index);
  auto ctx = make_context(a);
  vkfuse::Embedder embed(model, ctx ? &*ctx : nullptr);
  int64_t dim = 0;
  std::vector<float> q = a.text.empty() ? embed.images({vkfuse::read_image(a.image)}, dim, {a.image})
                                        : embed.texts({a.text}, dim);
  if (dim != idx.dim())
    throw vkfuse::Error("search: the model's embeddings have " + std::to_string(dim) + " values, the index's " +
                        std::to_string(idx.dim()) + " (was it made with another model?)");
  auto hits = idx.search(q, 1, a.top, ctx ? &*ctx : nullptr).at(0);
  if (a.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& h : hits) j.push_back({{"name", h.name}, {"score", h.score}});
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  // Names come from the index file: control characters are shown escaped, not sent to the
  // terminal.
  auto shown = [](const std::string& s) {
    std::string o;
    for (unsigned char c : s) {
      if (c < 0x20 || c == 0x7f) {
        char b[8];
        std::snprintf(b, sizeof b, "\\x%02x", c);
        o += b;
      } else {
        o += char(c);
      }
    }
    return o;
  };
  for (size_t i = 0; i < hits.size(); ++i)
    std::printf("%2zu  %.4f  %s\n", i + 1, hits[i].score, shown(hits[i].name).c_str());
}

void common(CLI::App* cmd, Args& a) {
  cmd->add_option("--device", a.device, "Device index or part of its name (default: VKFUSE_DEVICE or best)");
  cmd->add_flag("--cpu", a.cpu, "Run the CPU reference instead of the GPU");
  cmd->add_flag("--validation", a.validation, "Run under the Khronos validation layer (also VKFUSE_VALIDATION=1)");
}

}  // namespace

void add_retrieval_commands(CLI::App& app) {
  auto a = std::make_shared<Args>();
  auto* ix = app.add_subcommand("index", "Embed every PNG/JPEG of a folder into an index file");
  ix->add_option("model", a->model, "Model file with an image tower and image preprocessing")->required();
  ix->add_option("--images", a->images, "Folder of pictures")->required();
  ix->add_option("--out", a->out, "Index file to write (safetensors)")->required();
  ix->add_option("--batch", a->batch, "Pictures per forward pass (default 8)");
  common(ix, *a);
  ix->callback([a] { index(*a); });

  auto b = std::make_shared<Args>();
  auto* se = app.add_subcommand("search", "The entries of an index most similar to a text or a picture");
  se->add_option("model", b->model, "The model the index was made with")->required();
  se->add_option("index", b->index, "Index file (vkfuse index)")->required();
  se->add_option("--text", b->text, "Find pictures by this text");
  se->add_option("--image", b->image, "Find pictures like this one");
  se->add_option("--top", b->top, "How many results (default 5)");
  se->add_flag("--json", b->json, "One JSON list of {\"name\", \"score\"} on stdout");
  common(se, *b);
  se->callback([b] { search(*b); });
}
