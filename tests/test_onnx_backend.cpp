// ONNX's own backend test data (Debian's libonnx-testdata: one-op node cases at opsets up to
// 17, and the pytorch-converted, pytorch-operator and simple models), every case whose nodes
// all lie in vkfuse's op table, run on the GPU (under the validation layer) and on the CPU
// references, against the outputs the data holds. ONNX's own tolerance: 1e-3 relative plus
// 1e-5 absolute (its runner's 1e-7 absolute is below fp32 rounding near 0 for the summed ops).
//
// tests/onnx_backend_failures.txt lists the cases that do not pass, each with its reason; a
// case that fails unlisted fails the test, and so does a listed case that passes (the list
// only shrinks). The list as this run found it is written to the build folder.
#include <dirent.h>
#include <sys/stat.h>

#include <fstream>
#include <set>
#include <sstream>

#include "gpu_test.hpp"
#include "graph/graph.h"
#include "graph/op_table.h"
#include "io/onnx_file.h"
#include "models/graph_arch.h"
#include "models/model_state.h"

namespace {

namespace g = vkfuse::detail::graph;
namespace onnx = vkfuse::detail::onnx;
using vkfuse::detail::Elem;
using vkfuse::detail::HostArray;

const char* kData = "/usr/share/libonnx-testdata/data";

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> r;
  if (DIR* d = opendir(path.c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') r.push_back(e->d_name);
    closedir(d);
  }
  std::sort(r.begin(), r.end());
  return r;
}

bool exists(const std::string& p) {
  struct stat st {};
  return stat(p.c_str(), &st) == 0;
}

HostArray read_pb(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return onnx::parse_tensor(path, bytes.data(), bytes.size());
}

// Every op of the file's graph is one vkfuse implements (else the case is not vkfuse's to run).
bool in_op_set(const std::string& model) {
  try {
    const onnx::Model m = onnx::read_file(model);
    for (const auto& n : m.graph.nodes)
      if ((!n.domain.empty() && n.domain != "ai.onnx") || !g::find_op(n.op_type)) return false;
    return true;
  } catch (const vkfuse::Error&) {
    return false;
  }
}

// The inputs of one test data set as the session takes them, by the graph's input names.
struct Inputs {
  std::vector<HostArray> arrays;
  std::vector<std::vector<uint8_t>> bools;
  std::vector<std::pair<std::string, vkfuse::TensorBytes>> tensors;
};

void to_inputs(const g::Graph& graph, const std::vector<HostArray>& pbs, Inputs& in) {
  if (pbs.size() != graph.inputs.size())
    throw vkfuse::Error("the data set has " + std::to_string(pbs.size()) + " inputs, the graph " +
                        std::to_string(graph.inputs.size()));
  in.arrays = pbs;
  in.bools.resize(pbs.size());
  for (size_t k = 0; k < pbs.size(); ++k) {
    const HostArray& a = in.arrays[k];
    vkfuse::TensorBytes t{vkfuse::DType::F32, a.shape, a.f.data()};
    if (a.type == Elem::Bool) {
      in.bools[k].assign(a.i.begin(), a.i.end());
      t = {vkfuse::DType::Bool, a.shape, in.bools[k].data()};
    } else if (!a.is_float()) {
      t = {vkfuse::DType::I64, a.shape, a.i.data()};
    }
    in.tensors.push_back({graph.inputs[k].name, t});
  }
}

std::string compare(const vkfuse::HostTensor& got, const HostArray& want, const std::string& name) {
  if (got.shape != want.shape)
    return "output " + name + " has shape " + vkfuse::shape_string(got.shape) + ", want " + vkfuse::shape_string(want.shape);
  const size_t n = size_t(vkfuse::shape_numel(want.shape));
  for (size_t e = 0; e < n; ++e) {
    if (want.is_float()) {
      if (got.dtype != vkfuse::DType::F32) return "output " + name + " is integer, want float";
      const double w = want.f[e], v = got.data[e];
      if (std::isnan(w) && std::isnan(v)) continue;
      if (std::isinf(w) && v == w) continue;
      if (!(std::fabs(v - w) <= 1e-5 + 1e-3 * std::fabs(w)))
        return "output " + name + " element " + std::to_string(e) + ": got " + std::to_string(v) + ", want " +
               std::to_string(w);
    } else {
      if (got.dtype == vkfuse::DType::F32) return "output " + name + " is float, want integer";
      if (got.ints[e] != want.i[e])
        return "output " + name + " element " + std::to_string(e) + ": got " + std::to_string(got.ints[e]) +
               ", want " + std::to_string(want.i[e]);
    }
  }
  return "";
}

// The first failure of a case on the GPU or the CPU, or "".
std::string run_case(vkfuse::Context& ctx, const std::string& dir) {
  const vkfuse::Model model = vkfuse::Model::load(dir + "/model.onnx");
  const g::Graph& graph = *vkfuse::detail::graph_of(*model.state().arch);
  for (const std::string& set : list_dir(dir)) {
    if (set.rfind("test_data_set_", 0) != 0) continue;
    std::vector<HostArray> ins, outs;
    for (size_t k = 0; exists(dir + "/" + set + "/input_" + std::to_string(k) + ".pb"); ++k)
      ins.push_back(read_pb(dir + "/" + set + "/input_" + std::to_string(k) + ".pb"));
    for (size_t k = 0; exists(dir + "/" + set + "/output_" + std::to_string(k) + ".pb"); ++k)
      outs.push_back(read_pb(dir + "/" + set + "/output_" + std::to_string(k) + ".pb"));
    Inputs in;
    to_inputs(graph, ins, in);
    const vkfuse::SafetensorsFile file = vkfuse::SafetensorsFile::from_tensors(set, in.tensors);
    if (outs.size() != graph.outputs.size()) return "the data set's outputs do not match the graph's";
    for (bool gpu : {true, false}) {
      const vkfuse::HostTensors got = model.run(file, false, gpu ? &ctx : nullptr);
      for (size_t k = 0; k < outs.size(); ++k) {
        const std::string& name = graph.outputs[k].name;
        const std::string why = compare(got.at(name), outs[k], name);
        if (!why.empty()) return std::string(gpu ? "gpu: " : "cpu: ") + why;
      }
    }
  }
  return "";
}

std::map<std::string, std::string> listed_failures() {
  std::map<std::string, std::string> r;
  std::ifstream f(std::string(VKFUSE_SOURCE_DIR) + "/tests/onnx_backend_failures.txt");
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t sp = line.find(' ');
    r[line.substr(0, sp)] = sp == std::string::npos ? "" : line.substr(sp + 1);
  }
  return r;
}

class OnnxBackend : public vkt::GpuTestP<std::string> {};

TEST_P(OnnxBackend, CasesPassOrAreListed) {
  const std::string suite = GetParam();
  const std::string root = std::string(kData) + "/" + suite;
  ASSERT_TRUE(exists(root)) << root << " is missing: scripts/install-deps.sh --tools installs libonnx-testdata";
  auto& ctx = vkt::context(vkt::Mode::Normal);
  const auto listed = listed_failures();
  std::ofstream now(std::string("onnx_backend_failures.") + suite + ".now.txt");
  size_t ran = 0, passed = 0;
  for (const std::string& c : list_dir(root)) {
    const std::string dir = root + "/" + c;
    if (!exists(dir + "/model.onnx") || !in_op_set(dir + "/model.onnx")) continue;
    ++ran;
    std::string why;
    try {
      why = run_case(ctx, dir);
    } catch (const std::exception& e) {
      why = e.what();
    }
    // A validation message is the case's failure (listed or not, so it is never lost).
    if (why.empty() && !vkt::messages().empty()) why = "validation: " + vkt::messages().front();
    vkt::messages().clear();
    for (auto& ch : why)
      if (ch == '\n') ch = ' ';
    const std::string key = suite + "/" + c;
    const bool is_listed = listed.count(key) != 0;
    if (why.empty()) {
      ++passed;
      EXPECT_FALSE(is_listed) << key << " passes: take it off tests/onnx_backend_failures.txt";
    } else {
      now << key << " " << why << "\n";
      EXPECT_TRUE(is_listed) << key << " fails: " << why;
    }
  }
  std::printf("[ backend  ] %s: %zu of %zu cases in vkfuse's op set pass\n", suite.c_str(), passed, ran);
  EXPECT_GT(ran, 0u);
}

INSTANTIATE_TEST_SUITE_P(Onnx, OnnxBackend, ::testing::Values("node", "pytorch-converted", "pytorch-operator", "simple"),
                         [](const auto& pi) {
                           std::string n = pi.param;
                           for (auto& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

}  // namespace
