// libFuzzer target: any bytes as an ONNX file. The reader either refuses them with one
// vkfuse::Error or hands out a model whose every tensor lies inside the input; the graph
// layer then imports it (op and attribute checks at the opset, the topological sort, constant
// folding), specialises it for its declared input shapes (symbolic dims bound to 2) and, when
// the plan is small, runs every node left on its CPU reference on zero inputs, as `--cpu`
// does. Each step may refuse with an Error; none may crash, hang or allocate by declaration.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/plan.h"
#include "io/onnx_file.h"
#include "vkfuse/error.hpp"

namespace g = vkfuse::detail::graph;
namespace onnx = vkfuse::detail::onnx;

namespace {

// The inputs at their declared shapes; false when one has no shape or is too big to run.
bool declared_inputs(const g::Graph& graph, std::map<std::string, g::TypeShape>& types,
                     std::map<std::string, std::shared_ptr<const vkfuse::detail::HostArray>>& values) {
  int64_t total = 0;
  for (const g::Decl& d : graph.inputs) {
    if (!d.has_shape || d.dims.size() > 6 || d.type == vkfuse::detail::Elem::Undefined) return false;
    g::TypeShape t;
    t.type = d.type;
    int64_t n = 1;
    for (const g::DeclDim& dim : d.dims) {
      const int64_t v = dim.value >= 0 ? dim.value : 2;
      if (v > 4096) return false;
      t.shape.push_back(v);
      n *= v;
      if (n > 4096) return false;
    }
    total += n;
    if (total > 16384) return false;
    types[d.name] = t;
    values[d.name] = std::make_shared<const vkfuse::detail::HostArray>(vkfuse::detail::HostArray::zeros(d.type, t.shape));
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    onnx::Model model = onnx::parse("fuzz.onnx", data, size, "");
    const std::shared_ptr<const g::Graph> graph = g::import_onnx(std::move(model), "fuzz.onnx");
    std::map<std::string, g::TypeShape> types;
    std::map<std::string, std::shared_ptr<const vkfuse::detail::HostArray>> inputs;
    if (!declared_inputs(*graph, types, inputs)) return 0;
    // Tight host limits: a fuzzed file's values stay small, so a run stays fast.
    g::HostLimits limits;
    limits.value_bytes = 1u << 20;
    limits.folded_bytes = 1u << 22;
    limits.fold_value_elements = 1u << 16;
    // Inputs given as values are the ones a run reads on the host (shape-setting inputs);
    // once without them (as recorded for the device) and once with all of them.
    g::make_plan(*graph, types, limits);
    const std::shared_ptr<const g::Plan> plan = g::make_plan(*graph, types, limits, inputs);
    uint64_t bytes = 0;
    for (const g::TypeShape& t : plan->info) bytes += t.defined() ? g::host_bytes(t) : 0;
    if (bytes > (1u << 21) || plan->nodes.size() > 256) return 0;
    std::vector<std::shared_ptr<const vkfuse::detail::HostArray>> values = plan->known;
    for (const g::Decl& d : graph->inputs) values[size_t(d.id)] = inputs.at(d.name);
    for (const g::Node* n : plan->nodes) {
      std::vector<const g::TypeShape*> ts;
      std::vector<const vkfuse::detail::HostArray*> vs;
      for (g::ValueId v : n->inputs) {
        ts.push_back(v == g::kNone ? nullptr : &plan->info[size_t(v)]);
        vs.push_back(v == g::kNone ? nullptr : values[size_t(v)].get());
      }
      std::vector<vkfuse::detail::HostArray> r = g::evaluate(*graph, *n, ts, vs);
      for (size_t o = 0; o < r.size() && o < n->outputs.size(); ++o)
        if (n->outputs[o] != g::kNone)
          values[size_t(n->outputs[o])] = std::make_shared<const vkfuse::detail::HostArray>(std::move(r[o]));
    }
  } catch (const vkfuse::Error&) {
  }
  return 0;
}
