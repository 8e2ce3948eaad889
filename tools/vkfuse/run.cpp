// vkfuse run MODEL (--input IN | --text T... --image F...) [--output OUT] [--device SEL] [--cpu]
//   [--need-weights]
// vkfuse info MODEL
#include <chrono>
#include <cstdio>
#include <optional>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "vkfuse/error.hpp"
#include "vkfuse/model.hpp"
#include "vkfuse/preprocessor.hpp"
#include "vkfuse/session.hpp"

namespace {

struct RunArgs {
  std::string model, input, output, device;
  std::vector<std::string> texts, images;
  bool cpu = false, need_weights = false, validation = false, profile = false;
};

// The outputs as one JSON object on stdout: {"name": {"shape": [...], "data": [...]}}.
void print_json(const vkfuse::HostTensors& out) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, t] : out) {
    if (t.dtype == vkfuse::DType::F32) j[name] = {{"shape", t.shape}, {"data", t.data}};
    else j[name] = {{"shape", t.shape}, {"dtype", vkfuse::dtype_name(t.dtype)}, {"data", t.ints}};
  }
  std::printf("%s\n", j.dump().c_str());
}

void run(const RunArgs& a) {
  vkfuse::Model model = vkfuse::Model::load(a.model);
  const bool direct = !a.texts.empty() || !a.images.empty();
  if (direct == !a.input.empty())
    throw vkfuse::Error("run: give either --input FILE or --text/--image (the model's own preprocessing)");
  if (!direct && a.output.empty()) throw vkfuse::Error("run: --output is required with --input");
  std::optional<vkfuse::SafetensorsFile> from_file;
  if (!direct) from_file = vkfuse::SafetensorsFile::open(a.input);
  vkfuse::SafetensorsFile inputs = direct ? [&] {
    std::vector<vkfuse::Image> pictures;
    for (const auto& path : a.images) pictures.push_back(vkfuse::read_image(path));
    return vkfuse::Preprocessor(model).inputs(a.texts, pictures, a.images);
  }()
                                          : std::move(*from_file);
  vkfuse::HostTensors out;
  if (a.cpu) {
    out = model.run(inputs, a.need_weights, nullptr);
  } else {
    vkfuse::Options o;
    o.device = a.device;
    o.validation = a.validation;
    vkfuse::Context ctx(o);
    vkfuse::Session session(ctx, model, a.need_weights, a.profile);
    auto t0 = std::chrono::steady_clock::now();
    out = session.run(inputs);
    if (a.profile) {
      // A second run replays the recording: its timings are the steady state.
      auto t1 = std::chrono::steady_clock::now();
      out = session.run(inputs);
      auto t2 = std::chrono::steady_clock::now();
      double total = 0;
      // An ONNX graph's dispatches carry their node group ("conv1+relu1 (Conv+Relu) | ...");
      // consecutive ones of a group are shown as one line with their count.
      const auto timings = session.timings();
      for (size_t i = 0; i < timings.size();) {
        const std::string& label = timings[i].label;
        const size_t bar = label.find(" | ");
        const std::string group = bar == std::string::npos ? "" : label.substr(0, bar);
        size_t j = i;
        double ms = 0;
        while (j < timings.size() && !group.empty() && timings[j].label.compare(0, group.size() + 3, group + " | ") == 0)
          ms += timings[j++].ms;
        if (j == i) ms = timings[j++].ms;
        if (group.empty() || j - i == 1) std::fprintf(stderr, "  %-60s %9.3f ms\n", label.c_str(), ms);
        else std::fprintf(stderr, "  %-60s %9.3f ms  (%zu dispatches)\n", group.c_str(), ms, j - i);
        total += ms;
        i = j;
      }
      std::fprintf(stderr,
                   "%s: %zu dispatches, device %.3f ms; wall %.3f ms first run (records), %.3f ms replay\n",
                   ctx.device().name.c_str(), session.dispatch_count(), total,
                   std::chrono::duration<double, std::milli>(t1 - t0).count(),
                   std::chrono::duration<double, std::milli>(t2 - t1).count());
      const auto m = session.memory();
      // KiB below a MiB: a small model's weights would read 0.00 MiB.
      const bool small = m.total() < (1u << 20);
      const double unit = small ? 1 << 10 : 1 << 20;
      const char* name = small ? "KiB" : "MiB";
      std::fprintf(stderr,
                   "device memory: %.2f %s = weights %.2f (matrices %s) + inputs/outputs %.2f + intermediates "
                   "%.2f (%.2f %s with one buffer each)\n",
                   m.total() / unit, name, m.weights / unit, vkfuse::dtype_name(model.weight_dtype()),
                   m.inputs_outputs / unit, m.intermediates / unit, m.intermediates_unshared / unit, name);
    }
  }
  if (a.output.empty()) {
    print_json(out);
    return;
  }
  std::vector<std::pair<std::string, vkfuse::TensorBytes>> tensors;
  std::vector<std::vector<int64_t>> ints;  // I64 outputs, kept alive for the write
  ints.reserve(out.size());
  for (const auto& [name, t] : out) {
    if (t.dtype == vkfuse::DType::F32) {
      tensors.push_back({name, vkfuse::f32_bytes(t.shape, t.data)});
    } else {
      ints.push_back(t.ints);
      tensors.push_back({name, vkfuse::TensorBytes{vkfuse::DType::I64, t.shape, ints.back().data()}});
    }
  }
  vkfuse::write_safetensors(a.output, tensors);
}

void info(const std::string& path) {
  vkfuse::Model model = vkfuse::Model::load(path);
  const std::string graph = model.graph_summary();
  if (!graph.empty()) {
    std::printf("%s\n%s", path.c_str(), graph.c_str());
    return;
  }
  vkfuse::SafetensorsFile file = vkfuse::SafetensorsFile::open(path);
  std::printf("%s\narch: %s\nconfig: %s\ntensors:\n", path.c_str(), model.arch().c_str(), model.config_json().c_str());
  for (const auto& name : file.names()) {
    const auto& t = file.tensor(name);
    std::printf("  %-24s %-5s %s\n", name.c_str(), vkfuse::dtype_name(t.dtype), vkfuse::shape_string(t.shape).c_str());
  }
  // A tokenizer's vocabulary is megabytes of JSON: long values are shown by their start.
  constexpr size_t kShown = 300;
  for (const auto& [k, v] : file.metadata())
    if (k != "vkfuse.config") {
      if (v.size() <= kShown)
        std::printf("metadata %s: %s\n", k.c_str(), v.c_str());
      else
        std::printf("metadata %s: %s... (%zu bytes)\n", k.c_str(), v.substr(0, kShown).c_str(), v.size());
    }
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto a = std::make_shared<RunArgs>();
  auto* cmd = app.add_subcommand("run", "Run a model's forward pass on inputs from a safetensors file, or on texts and pictures");
  cmd->add_option("model", a->model, "Model file (safetensors with vkfuse.config, or ONNX)")->required();
  cmd->add_option("--input", a->input, "Inputs by name (safetensors)");
  cmd->add_option("--text", a->texts, "A text, tokenized as the model's metadata says (repeat for a batch)");
  cmd->add_option("--image", a->images, "A picture (PNG, JPEG), preprocessed as the model's metadata says (repeat)");
  cmd->add_option("--output", a->output, "Where to write the outputs (safetensors: F32, integer outputs I64); without it, JSON on stdout");
  cmd->add_option("--device", a->device, "Device index or part of its name (default: VKFUSE_DEVICE or best)");
  cmd->add_flag("--cpu", a->cpu, "Run the CPU reference instead of the GPU");
  cmd->add_flag("--need-weights", a->need_weights, "Also write the attention weights averaged over heads");
  cmd->add_flag("--profile", a->profile, "Print each dispatch's device time (timestamp queries; an ONNX graph's by node group, host steps named) to stderr");
  cmd->add_flag("--validation", a->validation, "Run under the Khronos validation layer (also VKFUSE_VALIDATION=1)");
  cmd->callback([a] { run(*a); });

  auto path = std::make_shared<std::string>();
  auto* inf = app.add_subcommand("info", "Show a model's config and every tensor with its dtype and shape");
  inf->add_option("model", *path, "Model file")->required();
  inf->callback([path] { info(*path); });
}
