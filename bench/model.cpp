// vkfuse bench --model MODEL [--input IN.safetensors] [--reps N] [--json]: one model, an ONNX
// graph or a model file, run through a Session as an app runs it: recorded once, replayed.
// Device time is the sum of the timestamp pairs around every dispatch of one replay (a
// graph's host steps are not device time: they are timed apart, by the host clock), wall time
// the host's clock around Session::run (inputs up, replay with its host steps, outputs down);
// medians of --reps replays after the recording run. Peak device memory is the most the
// context held at once from before the session was made to the end (weights, inputs and
// outputs, intermediates, staging), beside the session's own plan of it.
// Without --input, a graph's inputs are made from its declarations: symbolic dims 1, floats
// uniform in [-1, 1], integers 0 (an index valid for any Gather), booleans true.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

#include "bench_util.hpp"
#include "vkfuse/vkfuse.hpp"

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Inputs from a graph's declarations (the comment at the top says how).
void declared_inputs(const vkfuse::Model& model, vkfuse::Session& session, nlohmann::json& shown) {
  const auto inputs = model.graph_inputs();
  if (inputs.empty())
    throw vkfuse::Error("bench --model: " + model.path() + " (arch " + model.arch() +
                        ") declares no graph inputs; give its inputs with --input IN.safetensors "
                        "(docs/model-format.md §2 names them per arch)");
  uint32_t seed = 7;
  for (const auto& in : inputs) {
    if (!in.has_shape)
      throw vkfuse::Error("bench --model: input '" + in.name + "' of " + model.path() +
                          " has no declared shape; give the inputs with --input IN.safetensors");
    vkfuse::Shape shape = in.shape;
    for (auto& d : shape)
      if (d < 0) d = 1;
    const size_t n = static_cast<size_t>(vkfuse::shape_numel(shape));
    if (in.dtype == vkfuse::DType::F32) {
      session.set_input(in.name, shape, bench::random_vec(n, seed++));
    } else if (in.dtype == vkfuse::DType::Bool) {
      std::vector<uint8_t> ones(n, 1);
      session.set_input(in.name, vkfuse::DType::Bool, shape, ones.data());
    } else {
      session.set_input(in.name, shape, std::vector<int64_t>(n, 0));
    }
    shown[in.name] = {{"dtype", vkfuse::dtype_name(in.dtype)}, {"shape", shape}, {"made", true}};
  }
}

}  // namespace

nlohmann::json bench_model(vkfuse::Context& ctx, const std::string& path, const std::string& input, int reps,
                           bool print) {
  bench::progress("loading " + path);
  vkfuse::Model model = vkfuse::Model::load(path);
  nlohmann::json out = {{"model", path}, {"arch", model.arch()}};
  ctx.reset_memory_peak();
  const uint64_t before = ctx.memory_in_use();
  vkfuse::Session session(ctx, model, false, ctx.caps().timestamps);
  std::optional<vkfuse::SafetensorsFile> file;
  nlohmann::json shown = nlohmann::json::object();
  if (!input.empty()) {
    file = vkfuse::SafetensorsFile::open(input);
    for (const auto& name : file->names())
      shown[name] = {{"dtype", vkfuse::dtype_name(file->tensor(name).dtype)}, {"shape", file->tensor(name).shape}};
  } else {
    declared_inputs(model, session, shown);
  }
  out["inputs"] = shown;
  auto once = [&] { return file ? session.run(*file) : session.run(); };
  bench::progress("recording (the first run)");
  auto t0 = std::chrono::steady_clock::now();
  once();
  const double first = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::vector<double> device, wall, host;
  for (int i = 0; i < reps; ++i) {
    bench::progress("replay " + std::to_string(i + 1) + "/" + std::to_string(reps));
    t0 = std::chrono::steady_clock::now();
    once();
    wall.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    double d = 0, h = 0;
    for (const auto& t : session.timings()) (t.host ? h : d) += t.ms;
    device.push_back(d);
    host.push_back(h);
  }
  const auto m = session.memory();
  const uint64_t peak = ctx.memory_peak() - std::min(before, ctx.memory_peak());
  out["first_run_ms"] = first;
  out["device_ms"] = median(device);
  out["host_steps_ms"] = median(host);
  out["wall_ms"] = median(wall);
  out["reps"] = reps;
  out["dispatches"] = session.dispatch_count();
  out["timestamps"] = ctx.caps().timestamps;
  out["peak_device_bytes"] = peak;
  out["memory_plan"] = {{"weights", m.weights}, {"inputs_outputs", m.inputs_outputs},
                        {"intermediates", m.intermediates}, {"intermediates_unshared", m.intermediates_unshared}};
  if (print) {
    constexpr double MiB = 1 << 20;
    std::printf("model: %s (%s)\ninputs: %s\n", path.c_str(), model.arch().c_str(), shown.dump().c_str());
    if (!ctx.caps().timestamps) std::printf("(this device has no timestamp queries: device times read 0)\n");
    std::printf("%-12s %10s %10s %10s %12s %11s %15s\n", "median of", "device ms", "host ms", "wall ms",
                "first run ms", "dispatches", "peak dev MiB");
    std::printf("%-12s %10.3f %10.3f %10.3f %12.1f %11zu %15.2f\n", (std::to_string(reps) + " runs").c_str(),
                median(device), median(host), median(wall), first, session.dispatch_count(), peak / MiB);
    std::printf("memory plan: weights %.2f MiB, inputs/outputs %.2f, intermediates %.2f (%.2f with one buffer each)\n",
                m.weights / MiB, m.inputs_outputs / MiB, m.intermediates / MiB, m.intermediates_unshared / MiB);
  }
  return out;
}
