#pragma once
// An arch: what one kind of model file means (docs/model-format.md §2). Each arch is one file
// in engine/models/archs/ implementing this interface, and one line of the registry
// (engine/models/arch_registry.cpp). Model and Session know no arch by name.
#include <any>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "graph/builder.h"
#include "models/config.h"
#include "models/inputs.h"
#include "vkfuse/model.hpp"

namespace vkfuse::detail {

using TensorList = std::vector<std::pair<std::string, Shape>>;
using DeviceTensors = std::map<std::string, Tensor>;

// The tensor of that name, or null (an optional input or output).
inline const Tensor* find(const DeviceTensors& t, const std::string& name) {
  auto it = t.find(name);
  return it == t.end() ? nullptr : &it->second;
}

namespace graph {
struct Plan;
}

// A model's forward pass for one set of prepared inputs: the graph and its plan.
struct ArchGraph {
  std::shared_ptr<const graph::Graph> graph;
  std::shared_ptr<const graph::Plan> plan;
};

class Arch {
 public:
  virtual ~Arch() = default;
  // The state_dict() names and shapes the config implies; the file must hold exactly these.
  virtual TensorList tensors() const = 0;
  // Tensors a file may hold or not (a module its library makes optional, such as BERT's
  // pooler). The loader tells the arch which of them the file holds, before tensors().
  virtual TensorList optional_tensors() const { return {}; }
  virtual void found_optional(const std::set<std::string>& /*present*/) {}
  // Why a tensor the file holds but tensors() does not name cannot be run (a feature vkfuse
  // does not implement), or "" when it is simply unexpected.
  virtual std::string unsupported(const std::string& /*tensor*/) const { return ""; }
  // Checks the named inputs (names, dtypes, shapes, ids) and prepares what the device and the
  // CPU reference read, and the outputs (attention weights only with need_weights).
  virtual Prepared prepare(const InputSet& in, bool need_weights) const = 0;
  // The forward pass for p as a graph (its weights from `weights`, by their file names) and its
  // plan: what the GPU records and the CPU reference runs.
  virtual ArchGraph graph(const Prepared& p, const graph::WeightFn& weights) const = 0;
  // The arch's typed config (Model::config<T>()).
  virtual std::any config() const = 0;
  // The name of the input that takes pictures [B, C, H, W] (Preprocessor fills it).
  virtual const char* picture_input() const { return "pixel_values"; }
};

class GraphCache;

// An arch whose forward is a graph it builds: its typed config, and build(), called once per
// set of input shapes (the graphs are kept by GraphCache, models/graph_program.h).
template <class Config> class GraphArchOf : public Arch {
 public:
  GraphArchOf(const Config& c, const char* name) : c_(c), name_(name), graphs_(std::make_shared<GraphCache>()) {}
  std::any config() const override { return c_; }
  ArchGraph graph(const Prepared& p, const graph::WeightFn& weights) const final;

 protected:
  // The forward for p's inputs (graph_input() declares each) and the outputs p asks for.
  virtual void build(graph::GraphBuilder& b, const Prepared& p) const = 0;
  Config c_;
  const char* name_;  // the arch's, for messages

 private:
  std::shared_ptr<GraphCache> graphs_;
};

// Reads the config of arch `name` through its registry entry: an Error listing the archs
// for a name none has. The arch reads every key it knows; the caller then calls finish().
std::unique_ptr<Arch> parse_arch(const std::string& name, ConfigReader& config);
std::vector<std::string> arch_names();

}  // namespace vkfuse::detail
