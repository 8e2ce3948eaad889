#pragma once
// The one input path of a model: named tensors seen in place (the caller's memory held by a
// Session, or a file's mapping), checked by the arch, and turned into the device inputs that
// both the GPU recording and the CPU reference read.
#include <map>
#include <string>
#include <vector>

#include "vkfuse/safetensors.hpp"

namespace vkfuse::detail {

// name -> dtype, shape, bytes; nothing is copied. `label` names the source in errors.
class InputSet {
 public:
  explicit InputSet(std::string label) : label_(std::move(label)) {}
  static InputSet of(const SafetensorsFile& file);  // views into the file's data

  void add(const std::string& name, const TensorBytes& t) { tensors_[name] = t; }
  const std::string& label() const { return label_; }
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  const TensorBytes& at(const std::string& name) const;  // Error: "<label>: input 'x' is missing"
  std::string where(const std::string& name) const;      // "<label>: input 'x'"

  std::vector<float> to_f32(const std::string& name) const;    // F32, F16, BF16
  std::vector<int64_t> to_i64(const std::string& name) const;  // I64, I32
  std::vector<uint8_t> to_mask(const std::string& name) const; // BOOL, U8

 private:
  std::string label_;
  std::map<std::string, TensorBytes> tensors_;
};

// One device input: F32 values (or I32 token ids) of `shape`. F32 input data is read in
// place (`view`: the device upload copies bytes, aligned or not); anything converted (F16
// widened, masks made additive, ids narrowed) is owned here.
struct DeviceInput {
  Shape shape;
  DType dtype = DType::F32;
  const void* view = nullptr;
  std::vector<float> f32;
  std::vector<int32_t> i32;

  const void* data() const;  // the bytes the device tensor gets
  size_t bytes() const { return static_cast<size_t>(shape_numel(shape)) * 4; }
  // As floats for the CPU reference: a view off a float boundary (a file's data section need
  // not be aligned) is copied once, here, and only for the CPU path.
  const float* floats() const;
  const int32_t* ints() const { return static_cast<const int32_t*>(data()); }

 private:
  mutable std::vector<float> aligned_;
};

// What an arch made of one set of inputs: the device inputs by name, and the outputs asked
// for with the shape the caller gets and the shape of the device tensor (same elements).
struct Prepared {
  struct Output {
    Shape shape, device;
    DType dtype = DType::F32;  // the caller's: F32, or I64 or Bool (I32 on the device)
  };
  std::map<std::string, DeviceInput> inputs;
  std::map<std::string, Output> outputs;
  // More that a recording depends on: the values of an ONNX graph's inputs that set a shape.
  std::string variant;

  const float* floats(const std::string& name) const;  // null when the input is absent
  // Every output has no element (an empty batch, or no query rows): nothing to run.
  bool outputs_empty() const;
  // Every shape and output name: a new signature means a new recording.
  std::string signature() const;
};

// Helpers the archs share.
DeviceInput floats_of(Shape shape, std::vector<float> values);
// Each input name is one of `known`, else an Error listing them.
void only_inputs(const InputSet& in, const std::vector<std::string>& known, const std::string& arch);
// A float input in place of shape `device` (the same number of elements as the input's).
DeviceInput float_input(const InputSet& in, const std::string& name, const Shape& device);
// A float input of rank 2 or 3 ([rows, features] means B = 1) as [B, rows, features];
// `like` names the input whose rank it must share.
DeviceInput rows_input(const InputSet& in, const std::string& name, int rank, const char* like);
// The rank (2 or 3) of a rows input, else an Error showing `what` was expected.
int rows_rank(const InputSet& in, const std::string& name, const char* what);
// x's last dimension is `want`, the model's `what`.
void check_features(const InputSet& in, const DeviceInput& x, const std::string& name, int64_t want, const char* what);
// An optional mask input as an additive F32 mask: BOOL/U8, nonzero = masked, or (where
// `additive` allows) F32 added to the scores; of shape `want`, stored under `as` with shape
// `device` when present.
void mask_input(Prepared& p, const InputSet& in, const std::string& name, const std::string& as, const Shape& want,
                bool additive, const Shape& device);

// Token ids [B, T] (I64 or I32), each in [0, vocab) (an Error naming the row and column of
// one outside), with T from 1 to max_len; `real` from the optional mask of the same shape
// (BOOL, U8, I32 or I64, nonzero = a real token; all real without it).
struct TokenInput {
  int64_t b = 0, t = 0;
  std::vector<int64_t> ids;
  std::vector<uint8_t> real;
};
TokenInput token_input(const InputSet& in, const std::string& ids, const std::string& mask, int64_t vocab,
                       int64_t max_len, const char* max_what);
DeviceInput ints_of(Shape shape, std::vector<int32_t> values);
// A [B, C, S, S] float image input of the model's channels and size, else an Error.
DeviceInput image_input(const InputSet& in, const std::string& name, int64_t channels, int64_t size);

}  // namespace vkfuse::detail
