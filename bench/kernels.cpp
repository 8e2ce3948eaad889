// vkfuse bench: device time of the core kernels from timestamp queries.
//
// Each case records one dispatch in a Sequence with timestamps, runs it once to warm up,
// then `--reps` more times; it reports the median, min and max device time of the dispatch
// (the timestamp pair around it), GFLOP/s from the nominal flop count and GB/s from the
// bytes the kernel must move at least once (inputs read + outputs written).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "vkfuse/version.h"
#include <random>
#include <unistd.h>

#include "bench_util.hpp"
#include "commands.hpp"
#include "vkfuse/vkfuse.hpp"

namespace {

using vkfuse::Tensor;

struct Result {
  std::string name;
  double median_ms, min_ms, max_ms, gflops, gbps;
};

template <class Record>
Result time_case(vkfuse::Context& ctx, const std::string& name, int reps, double flops, double bytes,
                 Record record) {
  vkfuse::Sequence seq(ctx, {true, 256});
  record(seq);
  seq.run();  // records and warms up
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    seq.run();
    ms.push_back(seq.total_device_ms());
  }
  std::sort(ms.begin(), ms.end());
  double med = ms[ms.size() / 2];
  return {name, med, ms.front(), ms.back(), flops / (med * 1e6), bytes / (med * 1e6)};
}

// Creates every pipeline the kernels use (by recording each op once); returns wall ms.
double create_all_pipelines(vkfuse::Context& ctx) {
  auto t0 = std::chrono::steady_clock::now();
  Tensor a = ctx.tensor({4, 4}), b = ctx.tensor({4, 4}), c = ctx.tensor({4, 4}), v = ctx.tensor({4});
  vkfuse::Sequence s(ctx);
  vkfuse::ops::matmul(s, a, b, c);
  vkfuse::ops::softmax(s, a, c);
  vkfuse::ops::layer_norm(s, a, c);
  vkfuse::ops::add(s, a, v, c);
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

nlohmann::json bench_attention(vkfuse::Context& ctx, int reps, bool print);  // bench/attention.cpp
// bench/networks.cpp, bench/standard_models.cpp; peak: the FMA ceiling in GFLOP/s
nlohmann::json bench_networks(vkfuse::Context& ctx, int reps, bool print, bool with_cpu);
nlohmann::json bench_standard_models(vkfuse::Context& ctx, int reps, bool print, double peak);
// bench/model.cpp: one model file or ONNX graph
nlohmann::json bench_model(vkfuse::Context& ctx, const std::string& path, const std::string& input, int reps,
                           bool print);

namespace {

// A matmul case: C [m, n] = A [m, k] · op(B), B as a layer's weight [n, k] (trans_b, as
// every projection of the networks; laid out by Context::matrix, or plainly contiguous to
// show what that layout buys) or as [k, n].
// B may be a 16-bit weight (a Session keeps a 16-bit file's matrices so): its peer is the
// F32 case of the same shape in the same run.
struct MatmulCase {
  int64_t m, n, k;
  bool trans_b, contiguous_b = false;
  vkfuse::DType weights = vkfuse::DType::F32;
  std::string name() const {
    return "matmul " + std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k) +
           (trans_b ? contiguous_b ? " B^T contiguous" : " B^T" : "") +
           (weights != vkfuse::DType::F32 ? std::string(" ") + vkfuse::dtype_name(weights) : "");
  }
};

std::vector<MatmulCase> matmul_cases() {
  std::vector<MatmulCase> v = {{512, 512, 512, false},       {1024, 1024, 1024, false},
                               {2048, 2048, 2048, false},    {1024, 1024, 1024, true},
                               {1024, 1024, 1024, true, true}, {197, 768, 3072, true, true}};
  // An encoder's projections over 197 tokens (ViT-B/16, ViT-S, the 256-wide layer), K and N
  // from 256 to 3072; then the small ones of the flagship (width 64, ff 128) and of
  // text towers' heads (N 64-192).
  for (auto [n, k] : {std::pair<int64_t, int64_t>{768, 768}, {3072, 768}, {768, 3072}, {256, 256}, {1024, 256},
                      {256, 1024}, {1152, 384}, {64, 64}, {192, 64}, {128, 64}})
    v.push_back({197, n, k, true});
  for (vkfuse::DType w : {vkfuse::DType::F16, vkfuse::DType::BF16})
    for (auto [n, k] : {std::pair<int64_t, int64_t>{768, 768}, {3072, 768}, {768, 3072}})
      v.push_back({197, n, k, true, false, w});
  return v;
}

void run(const std::string& device, bool portable, bool json, int reps, bool startup, bool attention, bool networks,
         bool cpu, bool standard_only, bool peak_only, const std::string& model, const std::string& input) {
  vkfuse::Options opt;
  opt.device = device;
  opt.portable = portable;
  nlohmann::json out;
  out["vkfuse"] = {{"version", VKFUSE_VERSION_STRING}, {"commit", VKFUSE_COMMIT_STRING}};
  if (startup) {
    // Pipeline creation with an empty cache file, then with the file the first run saved.
    auto dir = std::filesystem::temp_directory_path() / ("vkfuse-bench-cache-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    opt.pipeline_cache_dir = dir.string();
    double cold, warm;
    {
      vkfuse::Context ctx(opt);
      cold = create_all_pipelines(ctx);
    }
    {
      vkfuse::Context ctx(opt);
      warm = create_all_pipelines(ctx);
    }
    std::filesystem::remove_all(dir);
    out["pipeline_creation_ms"] = {{"cold", cold}, {"warm", warm}};
    if (!json) std::printf("pipeline creation: cold cache %.1f ms, warm cache %.1f ms\n", cold, warm);
  }
  vkfuse::Context ctx(opt);
  // The mode the context runs in: --portable or VKFUSE_PORTABLE=1.
  const bool is_portable = ctx.caps().portable;
  out["device"] = ctx.device().name;
  out["driver"] = ctx.device().driver_name + " " + ctx.device().driver_info;
  out["portable"] = is_portable;
  out["tuning"] = vkfuse::to_string(ctx.tuning());
  out["reps"] = reps;
  const bench::Peak peak = bench::measure_peak(ctx, reps);
  out["peak"] = {{"gflops", peak.gflops}, {"median_ms", peak.median_ms}, {"invocations", peak.invocations},
                 {"steps", peak.steps},
                 {"method", "ops::fma_peak: independent vec4 FMA chains per invocation, no memory traffic; "
                            "device time between timestamps, median of reps"}};
  if (!json)
    std::printf("device: %s (%s %s)%s\ntuning: %s\nceiling: %.1f GFLOP/s (fma_peak: independent FMA chains, no memory "
                "traffic; figures below as a fraction of it)\n",
                ctx.device().name.c_str(), ctx.device().driver_name.c_str(), ctx.device().driver_info.c_str(),
                is_portable ? " [portable]" : "", vkfuse::to_string(ctx.tuning()).c_str(), peak.gflops);
  if (peak_only) {
    if (json) std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  if (!model.empty()) {
    out["model"] = bench_model(ctx, model, input, reps, !json);
    if (json) std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  if (networks || standard_only) {
    if (!json)
      std::printf("method: random weights; device time = sum of timestamp pairs around every dispatch of "
                  "one replay, wall = host clock around one replay; medians of %d replays after a warm-up\n",
                  reps);
    if (!standard_only) out["networks"] = bench_networks(ctx, reps, !json, cpu);
    out["standard_models"] = bench_standard_models(ctx, reps, !json, peak.gflops);
    if (json) std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  if (attention) {
    if (!json)
      std::printf("method: device time between timestamp queries around each dispatch, summed per "
                  "sequence; median of %d runs after a warm-up\n",
                  reps);
    out["attention"] = bench_attention(ctx, reps, !json);
    if (json) std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::vector<Result> results;
  const auto cases = matmul_cases();
  const size_t total = cases.size() + 2;
  auto step = [&](const std::string& name) {
    bench::progress("[" + std::to_string(results.size() + 1) + "/" + std::to_string(total) + "] " + name);
  };
  for (const MatmulCase& mc : cases) {
    step(mc.name());
    const int64_t bn = mc.trans_b ? mc.n : mc.k, bk = mc.trans_b ? mc.k : mc.n;
    Tensor a = ctx.tensor({mc.m, mc.k}, bench::random_vec(mc.m * mc.k, 1));
    Tensor b = mc.trans_b && !mc.contiguous_b ? ctx.matrix(bn, bk, bench::random_vec(mc.n * mc.k, 2), mc.weights)
                                              : ctx.tensor({bn, bk}, bench::random_vec(mc.n * mc.k, 2));
    Tensor c = ctx.tensor({mc.m, mc.n});
    const double flops = 2.0 * mc.m * mc.n * mc.k,
                 bytes = 4.0 * (mc.m * mc.k + mc.m * mc.n) + double(vkfuse::dtype_size(mc.weights)) * mc.k * mc.n;
    vkfuse::ops::MatmulOptions mo;
    mo.trans_b = mc.trans_b;
    results.push_back(time_case(ctx, mc.name(), reps, flops, bytes,
                                [&](vkfuse::Sequence& s) { vkfuse::ops::matmul(s, a, b, c, mo); }));
  }
  {
    step("softmax [8*197, 197]");
    int64_t rows = 8 * 197, n = 197;
    Tensor x = ctx.tensor({rows, n}, bench::random_vec(rows * n, 3)), y = ctx.tensor({rows, n});
    results.push_back(time_case(ctx, "softmax [8*197, 197]", reps, 4.0 * rows * n, 2.0 * rows * n * 4,
                                [&](vkfuse::Sequence& s) { vkfuse::ops::softmax(s, x, y, {0.125f}); }));
  }
  {
    step("layer_norm [197, 768]");
    int64_t rows = 197, n = 768;
    Tensor x = ctx.tensor({rows, n}, bench::random_vec(rows * n, 4)), y = ctx.tensor({rows, n});
    Tensor w = ctx.tensor({n}, bench::random_vec(n, 5)), b = ctx.tensor({n}, bench::random_vec(n, 6));
    vkfuse::ops::LayerNormOptions lo;
    lo.weight = &w;
    lo.bias = &b;
    results.push_back(time_case(ctx, "layer_norm [197, 768]", reps, 8.0 * rows * n,
                                (2.0 * rows * n + 2.0 * n) * 4,
                                [&](vkfuse::Sequence& s) { vkfuse::ops::layer_norm(s, x, y, lo); }));
  }
  const char* how = "device time between timestamp queries around each dispatch; median of reps after one warm-up run";
  if (json) {
    out["method"] = how;
    for (const auto& r : results)
      out["results"].push_back({{"name", r.name}, {"median_ms", r.median_ms}, {"min_ms", r.min_ms},
                                {"max_ms", r.max_ms}, {"gflops", r.gflops}, {"of_peak", r.gflops / peak.gflops},
                                {"gbps", r.gbps}});
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("method: %s, %d reps\n", how, reps);
  std::printf("%-30s %10s %10s %10s %10s %8s %9s\n", "kernel", "median ms", "min ms", "max ms", "GFLOP/s", "of peak",
              "GB/s");
  for (const auto& r : results)
    std::printf("%-30s %10.3f %10.3f %10.3f %10.2f %8.2f %9.2f\n", r.name.c_str(), r.median_ms, r.min_ms, r.max_ms,
                r.gflops, r.gflops / peak.gflops, r.gbps);
}

}  // namespace

void add_bench_command(CLI::App& app) {
  struct Args {
    std::string device, model, input;
    bool portable = false, json = false, startup = false, attention = false, networks = false, cpu = false;
    bool standard = false, peak = false;
    int reps = 10;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("bench", "Time the core kernels on a device (timestamp queries)");
  cmd->add_option("--device", a->device, "Device index or part of its name (default: VKFUSE_DEVICE or best)");
  cmd->add_flag("--portable", a->portable, "Phone-class limits and tuning");
  cmd->add_flag("--json", a->json, "Machine-readable output");
  cmd->add_flag("--startup", a->startup, "Also time pipeline creation with a cold and a warm cache file");
  cmd->add_flag("--attention", a->attention, "Fused against unfused attention, and the whole module, instead");
  cmd->add_flag("--networks", a->networks, "Whole networks (encoders, fusion model) recorded once and replayed, instead");
  cmd->add_flag("--standard-models", a->standard,
                "Only the standard models of --networks (CLIP ViT-B/32 towers, MiniLM-L6), instead");
  auto* model = cmd->add_option("--model", a->model,
                  "One model file or ONNX graph, recorded once and replayed: device and wall time (medians), "
                  "dispatches, peak device memory, instead");
  cmd->add_option("--input", a->input,
                  "With --model: its inputs by name (safetensors); without it a graph's inputs are made from "
                  "its declarations (symbolic dims 1)")
      ->needs(model);
  cmd->add_flag("--peak", a->peak, "Only the FMA ceiling (printed by every bench), instead");
  cmd->add_flag("--cpu-reference", a->cpu, "With --networks: also time the CPU reference once");
  cmd->add_option("--reps", a->reps, "Timed runs per kernel (median reported)")->check(CLI::Range(1, 10000));
  cmd->callback([a] { run(a->device, a->portable, a->json, a->reps, a->startup, a->attention, a->networks, a->cpu,
        a->standard, a->peak, a->model, a->input);
  });
}
