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
  explicit operator bool() const { return graph != nullptr; }
};

// An arch's modules on one device, their weights uploaded once.
class ArchProgram {
 public:
  virtual ~ArchProgram() = default;
  // Records the forward pass: `in` holds a device tensor for each of Prepared::inputs, `out`
  // one (of Output::device shape) for each output asked for.
  virtual void record(Sequence& s, const DeviceTensors& in, const DeviceTensors& out) = 0;
  // A program whose recording is more than `s` (a graph with host steps between device
  // segments) runs, downloads and reports through these; the others are `s`'s.
  virtual void run(Sequence& s) { s.run(); }
  virtual Sequence& output_sequence(Sequence& s) { return s; }  // where the outputs are complete
  virtual size_t dispatch_count(const Sequence& s) const { return s.dispatch_count(); }
  virtual std::vector<DispatchTiming> timings(const Sequence& s) const { return s.timings(); }
  // Device bytes of the weights it uploads while recording (a graph's constants, uploaded as
  // the first plan that needs them is lowered), beyond those it holds from its construction.
  virtual uint64_t recorded_weight_bytes() const { return 0; }
};

// The usual program: one module of engine/nn/ made from the arch's config and the weights;
// the arch's Program adds record().
template <class Module> class ProgramOf : public ArchProgram {
 public:
  template <class Config>
  ProgramOf(Context& ctx, const Config& c, const WeightMap& w) : module_(ctx, c, w) {}

 protected:
  Module module_;
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
  virtual ArchGraph graph(const Prepared& /*p*/, const graph::WeightFn& /*weights*/) const { return {}; }
  // Makes the modules on ctx, uploading the weights.
  virtual std::unique_ptr<ArchProgram> program(Context&, const WeightMap&) const { return nullptr; }
  // The CPU reference of the forward pass; `out` holds every output of p, sized, to fill.
  virtual void run_cpu(const WeightMap&, const Prepared&, HostTensors&) const {}
  // The arch's typed config (Model::config<T>()).
  virtual std::any config() const = 0;
  // The name of the input that takes pictures [B, C, H, W] (Preprocessor fills it).
  virtual const char* picture_input() const { return "pixel_values"; }
};

// What every arch's class shares: its typed config, and a program of type P made from it.
template <class Config, class P> class ArchWith : public Arch {
 public:
  explicit ArchWith(const Config& c) : c_(c) {}
  std::unique_ptr<ArchProgram> program(Context& ctx, const WeightMap& weights) const override {
    return std::make_unique<P>(ctx, c_, weights);
  }
  std::any config() const override { return c_; }

 protected:
  Config c_;
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
