#pragma once
// A graph written by code rather than read from a file: what an arch (models/archs/) makes of
// its config, its weights and one set of input shapes. The nodes are the op table's (ONNX
// ops, and the vkfuse ops of graph/ops/vkfuse_ops.h that no file may name), so the graph runs
// through the same plan, passes and lowering as an ONNX file, and its CPU reference is the
// same nodes' references.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "graph/op_table.h"

namespace vkfuse::detail::graph {

// Where a builder's weights come from: the model's tensors by name as host arrays, kept by
// the model so that every graph of it holds the same ones (an Error for a name it lacks).
struct WeightFn {
  using Read = std::function<std::shared_ptr<const HostArray>(const std::string& name)>;
  Read get;
  // A value made of the model's tensors (q, k and v stacked, the rows of one), made once under
  // `key` and kept; its parts are read (`read`) without being kept for it.
  std::function<std::shared_ptr<const HostArray>(const std::string& key, const std::function<HostArray(const Read& read)>& make)>
      made;
};

class GraphBuilder {
 public:
  // `key` tells this graph from the others sharing a device's uploads (Graph::key).
  GraphBuilder(std::string label, WeightFn weights, std::string key = "");

  // A graph input of a fixed shape (the graph is built for one set of input shapes).
  ValueId input(const std::string& name, Elem type, const Shape& shape);
  // The model's tensor `name` (its file name), a constant of the graph.
  ValueId weight(const std::string& name);
  // A constant the builder made (a scalar, a shape, weights stacked), named `key`: the same
  // key must always mean the same value, since a device keeps uploads by name.
  ValueId constant(const std::string& key, std::shared_ptr<const HostArray> value);
  // A constant made of the model's tensors (WeightFn::made), named `key`.
  ValueId made(const std::string& key, const std::function<HostArray(const WeightFn::Read& read)>& make);
  ValueId ints(const std::vector<int64_t>& v);  // a 1-D int64 constant (shapes, axes)
  ValueId scalar(float v);                      // a 0-D float constant
  // A node of op `op` (an ONNX op, or "vkfuse.<Name>"), its outputs' count.
  std::vector<ValueId> node(const std::string& op, const std::vector<ValueId>& in, Attrs attrs, int outputs);
  ValueId op(const std::string& op, const std::vector<ValueId>& in, Attrs attrs = {}) {
    return node(op, in, std::move(attrs), 1)[0];
  }
  // Declares v as the graph output `name`.
  void output(const std::string& name, ValueId v);

  // A constant's value (a weight the graph's attributes are made of, such as CLIP's scale).
  const HostArray& value(ValueId v) const;
  const Shape& shape(ValueId v) const { return types_[size_t(v)].shape; }
  int64_t dim(ValueId v, int k) const { const Shape& s = shape(v); return s[size_t(k < 0 ? int(s.size()) + k : k)]; }
  std::shared_ptr<const Graph> finish();

 private:
  ValueId value(const std::string& name);
  std::shared_ptr<Graph> g_;
  WeightFn weights_;
  std::vector<TypeShape> types_;      // per value, from the shape rules as nodes are added
  std::map<std::string, ValueId> by_key_;  // constants by name: each added once
};

// Integer attributes written inline: attrs_of({{"axis", 1}, {"keepdims", 0}}).
Attrs attrs_of(std::initializer_list<std::pair<const char*, int64_t>> ints);

}  // namespace vkfuse::detail::graph
