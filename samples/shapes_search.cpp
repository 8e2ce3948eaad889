// Image search on the shapes world with the shapes CLIP (models/shapes_clip.safetensors, arch
// clip; models/README.md says how it was made): pictures and captions embedded on the GPU,
// found by cosine similarity (one matmul of the queries against the index, then top-k).
//
//   shapes_search index DIR --out gallery.safetensors      embed every picture of DIR
//   shapes_search search gallery.safetensors --text "a red circle left of a blue square"
//   shapes_search search gallery.safetensors --image query.png --sheet sheet.png
//   shapes_search classify picture.png [--caption "a red circle" ...]   zero-shot
//   shapes_search eval DIR                                  recall@1/5/10 and latencies on a
//                                                           gallery with a captions.tsv
//
// Pictures are padded to a square with their border's mean colour before the model's own
// preprocessing (resize the shorter side to 64, centre crop), so the crop cuts no shape off.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <vkfuse/embedder.hpp>
#include <vkfuse/embedding_index.hpp>
#include <vkfuse/image.hpp>
#include <vkfuse/vkfuse.hpp>

#include "shapes/contact_sheet.hpp"
#include "shapes/metrics.hpp"
#include "shapes/png.hpp"
#include "shapes/progress.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// The picture centred on a square of its border's mean colour.
vkfuse::Image pad_to_square(const vkfuse::Image& in) {
  if (in.width == in.height) return in;
  const int side = std::max(in.width, in.height);
  double sum[3] = {0, 0, 0};
  int64_t n = 0;
  for (int y = 0; y < in.height; ++y)
    for (int x = 0; x < in.width; ++x)
      if (x == 0 || y == 0 || x == in.width - 1 || y == in.height - 1) {
        for (int k = 0; k < 3; ++k) sum[k] += in.rgb[(size_t(y) * size_t(in.width) + size_t(x)) * 3 + size_t(k)];
        ++n;
      }
  vkfuse::Image out{side, side, std::vector<uint8_t>(size_t(side) * size_t(side) * 3)};
  for (size_t i = 0; i < out.rgb.size(); ++i) out.rgb[i] = uint8_t(std::lround(sum[i % 3] / double(n)));
  const int ox = (side - in.width) / 2, oy = (side - in.height) / 2;
  for (int y = 0; y < in.height; ++y)
    std::copy_n(&in.rgb[size_t(y) * size_t(in.width) * 3], size_t(in.width) * 3,
                &out.rgb[(size_t(y + oy) * size_t(side) + size_t(ox)) * 3]);
  return out;
}

vkfuse::Image load_picture(const std::string& path) { return pad_to_square(vkfuse::read_image(path)); }

bool is_picture(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return e == ".png" || e == ".jpg" || e == ".jpeg" || e == ".gif" || e == ".bmp";
}

// A gallery folder: its pictures, and from its captions.tsv (file, caption, source; tab
// separated) what each one shows.
struct Gallery {
  std::vector<std::string> paths, captions, sources;
};

Gallery read_gallery(const std::string& dir, bool need_captions) {
  Gallery g;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw vkfuse::Error(dir + ": not a folder");
  const fs::path tsv = fs::path(dir) / "captions.tsv";
  std::ifstream f(tsv);
  if (f) {
    std::string line;
    for (int no = 1; std::getline(f, line); ++no) {
      if (!line.empty() && line.back() == '\r') line.pop_back();  // written on Windows
      if (line.empty()) continue;
      std::vector<std::string> col;
      std::stringstream ss(line);
      for (std::string c; std::getline(ss, c, '\t');) col.push_back(c);
      if (col.size() < 2 || col[0].empty() || col[0].find('/') != std::string::npos)
        throw vkfuse::Error(tsv.string() + ":" + std::to_string(no) + ": expected FILE<tab>CAPTION[<tab>SOURCE]");
      g.paths.push_back((fs::path(dir) / col[0]).string());
      g.captions.push_back(col[1]);
      g.sources.push_back(col.size() > 2 ? col[2] : "");
    }
  } else if (need_captions) {
    throw vkfuse::Error(tsv.string() + ": cannot open (eval needs each picture's caption)");
  } else {
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.is_regular_file() && is_picture(e.path())) g.paths.push_back(e.path().string());
    std::sort(g.paths.begin(), g.paths.end());
  }
  if (g.paths.empty()) throw vkfuse::Error(dir + ": no pictures (PNG, JPEG, GIF, BMP)");
  return g;
}

struct Built {
  vkfuse::EmbeddingIndex index;
  double wall_ms = 0, device_ms = 0;  // the whole build
};

Built build_index(vkfuse::Embedder& emb, const std::vector<std::string>& paths, int batch) {
  Built b;
  std::vector<float> rows;
  int64_t dim = 0;
  shapes::Progress progress{"indexing", "pictures", paths.size()};
  const auto t0 = Clock::now();
  for (size_t first = 0; first < paths.size(); first += size_t(batch)) {
    const size_t end = std::min(paths.size(), first + size_t(batch));
    std::vector<vkfuse::Image> pics;
    std::vector<std::string> names(paths.begin() + long(first), paths.begin() + long(end));
    for (const auto& p : names) pics.push_back(load_picture(p));
    auto e = emb.images(pics, dim, names);
    b.device_ms += emb.device_ms();
    rows.insert(rows.end(), e.begin(), e.end());
    progress(end);
  }
  b.wall_ms = ms_since(t0);
  b.index = vkfuse::EmbeddingIndex(paths, std::move(rows), dim);
  return b;
}

struct Common {
  std::string model = SHAPES_CLIP_MODEL, device;
  bool validation = false;
};

void write_sheet(const std::string& path, const std::vector<vkfuse::EmbeddingIndex::Hit>& hits,
                 const vkfuse::Image* query, int thumb) {
  std::vector<shapes::SheetEntry> e;
  if (query) e.push_back({shapes::from_vkfuse(*query), 1.f});
  for (const auto& h : hits) e.push_back({shapes::from_vkfuse(vkfuse::read_image(h.name)), h.score});
  shapes::write_png(path, shapes::contact_sheet(e, thumb, 6, query != nullptr));
}

int cmd_index(const Common& c, vkfuse::Context& ctx, const std::string& dir, const std::string& out, int batch) {
  const Gallery g = read_gallery(dir, false);
  vkfuse::Model model = vkfuse::Model::load(c.model);
  vkfuse::Embedder emb(model, &ctx, ctx.caps().timestamps);
  Built b = build_index(emb, g.paths, batch);
  b.index.save(out);
  std::printf("indexed %zu pictures of %s into %s (dim %lld) in %.0f ms: %.2f ms a picture (device %.3f ms)\n",
              g.paths.size(), dir.c_str(), out.c_str(), (long long)b.index.dim(), b.wall_ms,
              b.wall_ms / double(g.paths.size()), b.device_ms / double(g.paths.size()));
  return 0;
}

int cmd_search(const Common& c, vkfuse::Context& ctx, const std::string& index_path, const std::string& text,
               const std::string& image, int top, const std::string& sheet, int thumb, bool as_json) {
  if (text.empty() == image.empty()) throw vkfuse::Error("search: give one of --text and --image");
  const auto index = vkfuse::EmbeddingIndex::load(index_path);
  vkfuse::Model model = vkfuse::Model::load(c.model);
  vkfuse::Embedder emb(model, &ctx);
  int64_t dim = 0;
  vkfuse::Image query;
  std::vector<float> q;
  if (!text.empty()) {
    q = emb.texts({text}, dim);
  } else {
    query = load_picture(image);
    q = emb.images({query}, dim, {image});
  }
  if (dim != index.dim())
    throw vkfuse::Error(index_path + ": embeddings of dimension " + std::to_string(index.dim()) + ", the model's are " +
                        std::to_string(dim) + " (indexed with another model?)");
  const auto hits = index.search(q, 1, top, &ctx)[0];
  if (as_json) {
    json j = json::array();
    for (const auto& h : hits) j.push_back({{"rank", j.size() + 1}, {"name", h.name}, {"score", h.score}});
    std::printf("%s\n", j.dump(1).c_str());
  } else {
    std::printf("%s %s\n", text.empty() ? "picture" : "text", (text.empty() ? image : "\"" + text + "\"").c_str());
    for (size_t i = 0; i < hits.size(); ++i) std::printf("%3zu  %.4f  %s\n", i + 1, double(hits[i].score), hits[i].name.c_str());
  }
  if (!sheet.empty()) {
    write_sheet(sheet, hits, text.empty() ? &query : nullptr, thumb);
    std::fprintf(stderr, "contact sheet: %s\n", sheet.c_str());
  }
  return 0;
}

std::vector<std::string> zero_shot_classes() {
  std::vector<std::string> out;
  for (const char* col : {"red", "green", "blue", "yellow"})
    for (const char* sh : {"circle", "square", "triangle"}) out.push_back(std::string("a ") + col + " " + sh);
  return out;
}

int cmd_classify(const Common& c, vkfuse::Context& ctx, const std::string& image, std::vector<std::string> captions) {
  if (captions.empty()) captions = zero_shot_classes();
  vkfuse::Model model = vkfuse::Model::load(c.model);
  vkfuse::Preprocessor pre(model);
  vkfuse::Session s(ctx, model);
  // logits_per_image = exp(logit_scale) * cosine: the model's own temperature for the softmax.
  auto out = s.run(pre.inputs(captions, {load_picture(image)}, {image}));
  const auto& logits = out.at("logits_per_image").data;
  const float mx = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p(logits.size());
  double z = 0;
  for (size_t i = 0; i < p.size(); ++i) z += (p[i] = std::exp(double(logits[i] - mx)));
  std::vector<size_t> order(p.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] > p[b]; });
  std::printf("%s\n", image.c_str());
  for (size_t i : order) std::printf("  %6.2f%%  %s\n", 100 * p[i] / z, captions[i].c_str());
  return 0;
}

// Each query's ranked ids.
std::vector<std::vector<int64_t>> ids_of(const std::vector<std::vector<vkfuse::EmbeddingIndex::Hit>>& hits) {
  std::vector<std::vector<int64_t>> r;
  for (const auto& h : hits) {
    r.emplace_back();
    for (const auto& x : h) r.back().push_back(x.index);
  }
  return r;
}

int cmd_eval(const Common& c, vkfuse::Context& ctx, const std::string& dir, int batch, const std::string& sheet_dir,
             bool as_json, double min_recall5) {
  const Gallery g = read_gallery(dir, true);
  if (!sheet_dir.empty()) {  // before the long work, so a bad folder fails at once
    std::error_code ec;
    fs::create_directories(sheet_dir, ec);
    if (ec || !fs::is_directory(sheet_dir, ec)) throw vkfuse::Error("--sheets " + sheet_dir + ": cannot make a folder there");
  }
  vkfuse::Model model = vkfuse::Model::load(c.model);
  const bool timed = ctx.caps().timestamps;
  vkfuse::Embedder emb(model, &ctx, timed);
  const Built b = build_index(emb, g.paths, batch);
  const auto& index = b.index;
  const size_t n = g.paths.size();

  // The distinct captions are the text queries; a picture fits a caption that is its own.
  std::vector<std::string> unique(g.captions.begin(), g.captions.end());
  std::sort(unique.begin(), unique.end());
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  std::map<std::string, int64_t> cap_id;
  for (size_t i = 0; i < unique.size(); ++i) cap_id[unique[i]] = int64_t(i);
  std::vector<int64_t> own(n);
  for (size_t i = 0; i < n; ++i) own[i] = cap_id[g.captions[i]];

  int64_t dim = 0;
  std::vector<float> text_rows;
  for (size_t first = 0; first < unique.size(); first += size_t(batch)) {
    std::vector<std::string> part(unique.begin() + long(first), unique.begin() + long(std::min(unique.size(), first + size_t(batch))));
    auto e = emb.texts(part, dim);
    text_rows.insert(text_rows.end(), e.begin(), e.end());
  }
  const int K = 10;
  const auto t2i = ids_of(index.search(text_rows, int64_t(unique.size()), K, &ctx));
  const vkfuse::EmbeddingIndex captions_index(unique, text_rows, dim);
  const auto i2t = ids_of(captions_index.search(index.embeddings(), int64_t(n), K, &ctx));

  json r;
  r["model"] = c.model;
  r["device"] = ctx.device().name;
  r["gallery"] = {{"folder", dir}, {"pictures", n}, {"captions", unique.size()}};
  std::map<std::string, size_t> per_source;
  for (const auto& s : g.sources) ++per_source[s];
  for (const auto& [s, k] : per_source) r["gallery"]["sources"][s.empty() ? "-" : s] = k;
  for (int k : {1, 5, 10}) {
    r["text_to_image"]["recall@" + std::to_string(k)] =
        shapes::recall_at(t2i, [&](size_t q, int64_t id) { return own[size_t(id)] == int64_t(q); }, k);
    r["image_to_text"]["recall@" + std::to_string(k)] =
        shapes::recall_at(i2t, [&](size_t q, int64_t id) { return own[q] == id; }, k);
  }
  // Text to image within each source: the gallery cut down to that source's pictures,
  // queried with their distinct captions (so a picture of the other source cannot stand in).
  for (const auto& [src, count] : per_source) {
    std::vector<std::string> names;
    std::vector<float> rows;
    std::vector<int64_t> sub_own;
    for (size_t i = 0; i < n; ++i)
      if (g.sources[i] == src) {
        names.push_back(g.paths[i]);
        rows.insert(rows.end(), index.embeddings().begin() + long(i * size_t(dim)),
                    index.embeddings().begin() + long((i + 1) * size_t(dim)));
        sub_own.push_back(own[i]);
      }
    std::vector<int64_t> queries(sub_own);
    std::sort(queries.begin(), queries.end());
    queries.erase(std::unique(queries.begin(), queries.end()), queries.end());
    std::vector<float> qrows;
    for (int64_t qc : queries)
      qrows.insert(qrows.end(), text_rows.begin() + long(size_t(qc) * size_t(dim)),
                   text_rows.begin() + long(size_t(qc + 1) * size_t(dim)));
    const vkfuse::EmbeddingIndex sub(names, rows, dim);
    const auto ranked = ids_of(sub.search(qrows, int64_t(queries.size()), K, &ctx));
    json& out = r["text_to_image_by_source"][src.empty() ? "-" : src];
    out["pictures"] = names.size();
    out["captions"] = queries.size();
    for (int k : {1, 5, 10})
      out["recall@" + std::to_string(k)] =
          shapes::recall_at(ranked, [&](size_t q, int64_t id) { return sub_own[size_t(id)] == queries[q]; }, k);
  }
  // Zero-shot: the one-shape pictures against the twelve one-shape captions.
  const auto classes = zero_shot_classes();
  auto class_rows = emb.texts(classes, dim);
  const vkfuse::EmbeddingIndex class_index(classes, class_rows, dim);
  std::vector<float> singles;
  std::vector<int64_t> truth;
  for (size_t i = 0; i < n; ++i) {
    auto it = std::find(classes.begin(), classes.end(), g.captions[i]);
    if (it == classes.end()) continue;
    singles.insert(singles.end(), index.embeddings().begin() + long(i * size_t(dim)),
                   index.embeddings().begin() + long((i + 1) * size_t(dim)));
    truth.push_back(it - classes.begin());
  }
  if (!truth.empty()) {
    const auto top1 = ids_of(class_index.search(singles, int64_t(truth.size()), 1, &ctx));
    r["zero_shot"] = {{"pictures", truth.size()}, {"classes", classes.size()},
                      {"accuracy", shapes::recall_at(top1, [&](size_t q, int64_t id) { return truth[q] == id; }, 1)}};
  }

  // Latencies: a picture alone, a text query alone (embedding, then the search).
  std::vector<double> pic_wall, pic_dev, q_wall, q_dev, s_wall;
  for (size_t i = 0; i < std::min<size_t>(n, 30); ++i) {
    auto t0 = Clock::now();
    emb.images({load_picture(g.paths[i])}, dim);
    pic_wall.push_back(ms_since(t0));
    pic_dev.push_back(emb.device_ms());
  }
  for (size_t i = 0; i < std::min<size_t>(unique.size(), 30); ++i) {
    auto t0 = Clock::now();
    auto qe = emb.texts({unique[i]}, dim);
    q_wall.push_back(ms_since(t0));
    q_dev.push_back(emb.device_ms());
    t0 = Clock::now();
    index.search(qe, 1, K, &ctx);
    s_wall.push_back(ms_since(t0));
  }
  r["latency_ms"] = {{"index_build_wall", b.wall_ms},
                     {"picture_in_build_wall", b.wall_ms / double(n)},
                     {"picture_in_build_device", timed ? json(b.device_ms / double(n)) : json()},
                     {"picture_alone_wall", median(pic_wall)},
                     {"picture_alone_device", timed ? json(median(pic_dev)) : json()},
                     {"text_query_wall", median(q_wall)},
                     {"text_query_device", timed ? json(median(q_dev)) : json()},
                     {"search_wall", median(s_wall)},
                     {"batch", batch}};

  if (!sheet_dir.empty()) {
    // The first caption of each source that fits exactly one picture.
    std::map<int64_t, int> fits;
    for (int64_t o : own) ++fits[o];
    std::set<std::string> done;
    for (size_t i = 0; i < n; ++i)
      if (fits[own[i]] == 1 && done.insert(g.sources[i]).second) {
        std::string tag = g.sources[i].empty() ? "all" : g.sources[i];
        for (char& ch : tag)
          if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '-') ch = '_';
        const std::string file = (fs::path(sheet_dir) / ("sheet_" + tag + ".png")).string();
        write_sheet(file, index.search(std::vector<float>(text_rows.begin() + long(size_t(own[i]) * size_t(dim)),
                                                          text_rows.begin() + long(size_t(own[i] + 1) * size_t(dim))),
                                       1, 6, &ctx)[0],
                    nullptr, 96);
        r["sheets"].push_back({{"caption", g.captions[i]}, {"file", file}, {"picture", g.paths[i]}});
      }
  }

  if (as_json) {
    std::printf("%s\n", r.dump(1).c_str());
  } else {
    std::printf("model %s\ndevice %s\ngallery %s: %zu pictures, %zu distinct captions\n", c.model.c_str(),
                ctx.device().name.c_str(), dir.c_str(), n, unique.size());
    for (const auto& [s, k] : per_source) std::printf("  %zu from %s\n", k, s.empty() ? "-" : s.c_str());
    std::printf("\n%-34s %9s %9s %9s\n", "", "recall@1", "recall@5", "recall@10");
    auto row = [&](const std::string& label, const json& j) {
      std::printf("%-34s %8.1f%% %8.1f%% %8.1f%%\n", label.c_str(), 100 * j["recall@1"].get<double>(),
                  100 * j["recall@5"].get<double>(), 100 * j["recall@10"].get<double>());
    };
    row("text to image", r["text_to_image"]);
    for (const auto& [s, j] : r["text_to_image_by_source"].items())
      row("  within " + s + " (" + std::to_string(j["pictures"].get<size_t>()) + ")", j);
    row("image to text", r["image_to_text"]);
    if (r.contains("zero_shot"))
      std::printf("\nzero-shot: %.1f%% of %zu one-shape pictures (12 captions)\n", 100 * r["zero_shot"]["accuracy"].get<double>(),
                  size_t(r["zero_shot"]["pictures"]));
    const auto& L = r["latency_ms"];
    auto dev = [](const json& j) { return j.is_null() ? std::string("n/a") : std::to_string(j.get<double>()).substr(0, 6) + " ms"; };
    std::printf("\nindex build %.0f ms: %.2f ms a picture (device %s), batches of %d\n", L["index_build_wall"].get<double>(),
                L["picture_in_build_wall"].get<double>(), dev(L["picture_in_build_device"]).c_str(), batch);
    std::printf("a picture alone %.2f ms (device %s); a text query %.2f ms (device %s) + search %.3f ms (medians)\n",
                L["picture_alone_wall"].get<double>(), dev(L["picture_alone_device"]).c_str(),
                L["text_query_wall"].get<double>(), dev(L["text_query_device"]).c_str(), L["search_wall"].get<double>());
    std::printf("(device = timestamp queries around every dispatch; wall = host clock, picture decoding included)\n");
    if (r.contains("sheets"))
      for (const auto& s : r["sheets"])
        std::printf("contact sheet for \"%s\": %s\n", s["caption"].get<std::string>().c_str(), s["file"].get<std::string>().c_str());
  }
  const double r5 = r["text_to_image"]["recall@5"].get<double>();
  if (r5 < min_recall5) {
    std::fprintf(stderr, "shapes_search: text-to-image recall@5 %.4f is below --min-recall5 %.4f\n", r5, min_recall5);
    return 2;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Image search on the shapes world with the shapes CLIP on the GPU"};
  app.require_subcommand(1);
  Common c;
  app.add_option("--model", c.model, "Model file (arch clip)")->capture_default_str();
  app.add_option("--device", c.device, "Device index or part of its name (default: VKFUSE_DEVICE or best)");
  app.add_flag("--validation", c.validation, "Run under the Khronos validation layer");
  int batch = 32, top = 5, thumb = 96;
  std::string dir, out = "gallery.safetensors", index_path, text, image, sheet, sheet_dir;
  std::vector<std::string> captions;
  bool as_json = false;
  double min_recall5 = 0;

  auto* idx = app.add_subcommand("index", "Embed every picture of a folder into an index file");
  idx->add_option("dir", dir, "Folder of pictures (PNG, JPEG, GIF, BMP)")->required();
  idx->add_option("--out", out, "Index file to write")->capture_default_str();
  idx->add_option("--batch", batch, "Pictures per GPU run")->check(CLI::Range(1, 1024))->capture_default_str();

  auto* srch = app.add_subcommand("search", "Find pictures by a caption or by a picture");
  srch->add_option("index", index_path, "Index file (shapes_search index)")->required();
  srch->add_option("--text", text, "A caption, e.g. \"a red circle left of a blue square\"");
  srch->add_option("--image", image, "A picture to find the likes of");
  srch->add_option("--top", top, "Results")->check(CLI::Range(1, 1000))->capture_default_str();
  srch->add_option("--sheet", sheet, "Also write a contact sheet PNG of the results");
  srch->add_option("--thumb", thumb, "Contact sheet thumbnail side")->check(CLI::Range(8, 1024))->capture_default_str();
  srch->add_flag("--json", as_json, "Results as JSON");

  auto* cls = app.add_subcommand("classify", "Zero-shot: a picture against captions");
  cls->add_option("image", image, "Picture")->required();
  cls->add_option("--caption", captions, "A caption (repeat; default: the twelve \"a {colour} {shape}\")");

  auto* ev = app.add_subcommand("eval", "Recall@1/5/10, zero-shot accuracy and latencies on a gallery");
  ev->add_option("dir", dir, "Folder of pictures with captions.tsv (tools/make_shapes_gallery.py)")->required();
  ev->add_option("--batch", batch, "Pictures per GPU run")->check(CLI::Range(1, 1024))->capture_default_str();
  ev->add_option("--sheets", sheet_dir, "Write a contact sheet per source here");
  ev->add_option("--min-recall5", min_recall5, "Exit with status 2 when text-to-image recall@5 is below this")
      ->check(CLI::Range(0.0, 1.0));
  ev->add_flag("--json", as_json, "Results as JSON");
  CLI11_PARSE(app, argc, argv);
  try {
    vkfuse::Options o;
    o.device = c.device;
    o.validation = c.validation;
    vkfuse::Context ctx(o);
    if (*idx) return cmd_index(c, ctx, dir, out, batch);
    if (*srch) return cmd_search(c, ctx, index_path, text, image, top, sheet, thumb, as_json);
    if (*cls) return cmd_classify(c, ctx, image, captions);
    return cmd_eval(c, ctx, dir, batch, sheet_dir, as_json, min_recall5);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "shapes_search: error: %s\n", e.what());
    return 1;
  }
}
