#pragma once
// ONNX files (a protobuf ModelProto, onnx.proto of ONNX 1.12), read strictly by a wire reader
// of vkfuse's own (engine/io/protobuf_wire.h): no protobuf runtime, so the same code reads
// models on a phone. What vkfuse runs is read; what it does not (training info, functions,
// sparse initializers, subgraphs, sequence and map types) is kept only as a mark, so an op
// that needs it is refused by name later. Every count, length and dimension is checked
// against the bytes the file holds before memory is sized by it (docs/input-checks.md).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "io/host_array.h"

namespace vkfuse::detail::onnx {

// AttributeProto.AttributeType's codes.
enum class AttrType : int32_t {
  Undefined = 0,
  Float = 1,
  Int = 2,
  String = 3,
  Tensor = 4,
  Graph = 5,
  Floats = 6,
  Ints = 7,
  Strings = 8,
  Tensors = 9,
  Graphs = 10,
  SparseTensor = 11,
  SparseTensors = 12,
  TypeProto = 13,
  TypeProtos = 14,
};
const char* attr_type_name(AttrType t);

struct Attribute {
  std::string name;
  AttrType type = AttrType::Undefined;
  float f = 0;
  int64_t i = 0;
  std::string s;
  std::vector<HostArray> t;  // the tensor of a TENSOR attribute (one), or of TENSORS
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
};

struct Node {
  std::string name, op_type, domain;
  std::vector<std::string> inputs, outputs;  // "" is an optional input left out
  std::vector<Attribute> attributes;
};

// A dimension: a size, a symbol (dim_param, such as "batch"), or neither (unknown).
struct Dim {
  int64_t value = -1;
  std::string param;
};

struct ValueInfo {
  std::string name;
  bool tensor = false;   // a tensor type (else a sequence, map, optional or nothing)
  Elem type = Elem::Undefined;
  bool has_shape = false;
  std::vector<Dim> dims;
};

struct Graph {
  std::string name;
  std::vector<Node> nodes;
  std::vector<HostArray> initializers;
  std::vector<std::string> initializer_names;  // parallel to initializers
  std::vector<ValueInfo> inputs, outputs, value_info;
  bool sparse_initializers = false;
};

struct Model {
  int64_t ir_version = 0;
  std::map<std::string, int64_t> opsets;  // domain ("" for the default, ai.onnx) -> version
  std::string producer_name, producer_version, doc_string;
  std::map<std::string, std::string> metadata;
  Graph graph;
  bool has_graph = false, training_info = false, functions = false;
};

// Reads `path`: a regular file, read whole. External data is read relative to the file's
// folder and confined to it.
Model read_file(const std::string& path);
// The same from bytes in memory; `label` names them in errors, `folder` is where external data
// lies ("" refuses external data).
Model parse(const std::string& label, const void* bytes, size_t size, const std::string& folder);

// One serialized TensorProto (the backend test data's input_0.pb): its value, and its name
// in `name` when given. No external data.
HostArray parse_tensor(const std::string& label, const void* bytes, size_t size, std::string* name = nullptr);

// Whether these bytes start like a ModelProto (a small varint ir_version field, or another of
// ModelProto's first fields): how Model::load tells an ONNX file from a safetensors one.
bool looks_like_onnx(const uint8_t* bytes, size_t size);

}  // namespace vkfuse::detail::onnx
