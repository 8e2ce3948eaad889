#pragma once
// A graph on the device. The optimization passes (graph/fuse.cpp) turn a plan's nodes into
// steps, each one kernel's worth of work (a Conv with its bias, activation and residual Add;
// an attention pattern; a view); the Lowering records the steps into device segments, with a
// host segment for each step whose op has no kernel, and plans the intermediates' memory by
// lifetime (a value's storage goes back to the session's workspace after its last reader,
// counting the views that share it).
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "graph/plan.h"
#include "vkfuse/ops.hpp"
#include "vkfuse/sequence.hpp"

namespace vkfuse::detail::graph {

// What a Conv, MatMul or Gemm step adds to its result in the kernel's epilogue.
struct Epilogue {
  ops::Activation act = ops::Activation::None;
  float alpha = 0.f, beta = 0.f;
  ValueId bias = kNone;      // a constant along the output channels (Conv) or columns (MatMul, Gemm)
  ValueId residual = kNone;  // of the output's shape, added after the activation
  // A Conv's: the inference BatchNormalization that reads it (constant statistics), folded
  // into the Conv's weights and bias, before the bias Add, the activation and the residual.
  const Node* batch_norm = nullptr;
  bool any() const { return act != ops::Activation::None || bias != kNone || residual != kNone || batch_norm; }
};

struct Step {
  const OpDef* op = nullptr;
  const Node* node = nullptr;  // the node whose op the step runs
  std::vector<ValueId> inputs, outputs;
  Epilogue epi;
  std::vector<const Node*> nodes;  // every node the step stands for, in order
  bool host = false;               // runs on the CPU reference (no kernel, or forced)
  // A node the passes made (a LayerNormalization or Gelu for the pattern of ops it stands
  // for): `node` points at it.
  std::shared_ptr<const Node> made;
  std::string label() const;  // "conv1+relu1 (Conv+Relu)"
};

// Knobs for tests and experiments.
struct LowerOptions {
  bool fuse = true;                  // the optimization passes (off: one step per node)
  std::vector<std::string> host_ops; // op types forced onto the host (tests of host segments)
};

std::vector<Step> make_steps(const Graph& g, const Plan& p, const LowerOptions& o);

// The device side of a graph for one context: constants and weight matrices uploaded once
// and kept across recordings.
struct DeviceConstants {
  std::map<std::string, Tensor> tensors;
  // The dtype weight matrices are uploaded in (the model file's 16-bit one, where it has one).
  DType weight_dtype = DType::F32;
};

// One recording: the device segments and the host steps between them.
class Recording {
 public:
  struct HostStep {
    const Step* step;
    std::vector<Tensor> in, out;  // contiguous; downloaded before, uploaded after
    std::vector<ValueId> in_ids, out_ids;
    double ms = 0;
  };
  Sequence* first = nullptr;                        // the session's sequence: the first segment
  std::vector<std::unique_ptr<Sequence>> segments;  // segments[i] runs after host[i]
  std::vector<HostStep> host;
  std::vector<Step> steps;
  std::shared_ptr<const Plan> plan;

  void run(const Graph& g);
  Sequence& last() { return segments.empty() ? *first : *segments.back(); }
  size_t dispatches() const;
  std::vector<DispatchTiming> timings() const;
  ~Recording();
};

// Records `plan` of g into s (and segments of its own after each host step); `in` and `out`
// are the session's tensors of the graph's inputs and outputs by name.
std::unique_ptr<Recording> record_graph(const Graph& g, std::shared_ptr<const Plan> plan, Sequence& s,
                                        DeviceConstants& constants, const std::map<std::string, Tensor>& in,
                                        const std::map<std::string, Tensor>& out, const LowerOptions& o);

// Integers as the device holds them (int32), each checked: an Error "<what> holds V (element
// K), outside the int32 the device computes integers in".
std::vector<int32_t> narrow_to_i32(const std::vector<int64_t>& v, const std::string& what);

// The device dtype of a graph value: F32 for floating types, I32 for integers and bool.
inline DType device_dtype(Elem e) { return elem_is_float(e) ? DType::F32 : DType::I32; }

// What a step's lowering records with.
class Lowering {
 public:
  Lowering(const Graph& g, const Plan& p, Sequence& first, DeviceConstants& constants, Recording& rec);
  Context& ctx() { return ctx_; }
  Sequence& seq() { return *seq_; }
  const Graph& graph() const { return g_; }
  const TypeShape& info(ValueId v) const { return p_.info[size_t(v)]; }
  const HostArray* known(ValueId v) const { return v == kNone ? nullptr : p_.known[size_t(v)].get(); }

  // Input k of the step as a device view (a constant is uploaded once and kept).
  Tensor in(const Step& st, size_t k);
  bool has(const Step& st, size_t k) const { return k < st.inputs.size() && st.inputs[k] != kNone; }
  // t itself when contiguous, else a contiguous copy in an intermediate.
  Tensor contiguous(const Tensor& t);
  // A constant 2-D value as matmul's B^T [N, K] (Context::matrix: the device's row layout and
  // the model's 16-bit weight dtype), transposed from [K, N] on the host when `transpose`.
  // Rows [row0, row0 + rows) of it only (rows -1: all), for a matrix larger than one storage
  // buffer holds (weight_rows_per_buffer).
  Tensor weight_matrix(ValueId v, bool transpose, int64_t row0 = 0, int64_t rows = -1);
  // How many rows of K floats one device matrix may hold within one storage buffer (row
  // padding included), a multiple of 64 where that is below the total.
  int64_t weight_rows_per_buffer(int64_t k) const;
  // A key for what the lowering of st's node uploads (folded biases, norm parameters):
  // unique in this graph and among the graphs that share the device constants.
  std::string node_key(const Step& st) const;
  // A host array a lowering made (folded scales), uploaded once under `key`.
  Tensor constant(const std::string& key, const HostArray& a);
  // The tensor output k writes: the session's output tensor for a graph output, else a new
  // contiguous intermediate of the value's shape.
  Tensor out(const Step& st, size_t k);
  // Output k is `view` (of one of the step's inputs: Reshape, Transpose, Slice).
  void set(const Step& st, size_t k, const Tensor& view);
  // An intermediate for the step's own use, given back after it.
  Tensor scratch(const Shape& shape, DType dtype);
  [[noreturn]] void fail(const Step& st, const std::string& what) const;
  // The step's node as its op's rules see it, with this plan's types, shapes and known values.
  NodeCtx node_ctx(const Step& st) const;

  // Called by record_graph around each step.
  void lower(const Step& st);
  void host_step(const Step& st);
  void finish(const std::map<std::string, Tensor>& out);
  void begin(const std::vector<Step>& steps, const std::map<std::string, Tensor>& in,
             const std::map<std::string, Tensor>& out);

 private:
  Tensor fresh(const Shape& shape, DType dtype);
  void release_after(const Step& st);
  void hold(const Tensor& t);
  void drop(ValueId v);

  const Graph& g_;
  const Plan& p_;
  Context ctx_;
  Sequence* seq_;
  Sequence& first_;
  DeviceConstants& constants_;
  Recording& rec_;
  std::vector<Tensor> values_;          // per value, once made
  std::vector<int> uses_;               // per value: readers left (graph outputs never reach 0)
  std::map<const Storage*, int> live_;  // intermediates' storages: values still holding them
  std::vector<Tensor> step_scratch_;
  std::map<ValueId, Tensor> outputs_;   // graph outputs: the session's tensors
};

}  // namespace vkfuse::detail::graph
