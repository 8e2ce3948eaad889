// The input path: views, their conversions, and the checks every arch shares.
#include "models/inputs.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "io/convert.h"
#include "io/message_text.h"
#include "vkfuse/error.hpp"
#include "vkfuse/multihead_attention.hpp"

namespace vkfuse::detail {

InputSet InputSet::of(const SafetensorsFile& file) {
  InputSet in(file.path());
  for (const auto& name : file.names()) {
    const auto& t = file.tensor(name);
    in.add(name, {t.dtype, t.shape, t.data});
  }
  return in;
}

std::vector<std::string> InputSet::names() const {
  std::vector<std::string> n;
  for (const auto& [name, t] : tensors_) n.push_back(name);
  return n;
}

const TensorBytes& InputSet::at(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw Error(where(name) + " is missing");
  return it->second;
}

std::string InputSet::where(const std::string& name) const { return label_ + ": input " + quote(name); }
std::vector<float> InputSet::to_f32(const std::string& name) const { return detail::to_f32(at(name), where(name)); }
std::vector<int64_t> InputSet::to_i64(const std::string& name) const { return detail::to_i64(at(name), where(name)); }
std::vector<uint8_t> InputSet::to_mask(const std::string& name) const { return detail::to_mask(at(name), where(name)); }

const void* DeviceInput::data() const {
  if (view) return view;
  return dtype == DType::I32 ? static_cast<const void*>(i32.data()) : static_cast<const void*>(f32.data());
}

const float* DeviceInput::floats() const {
  const void* p = data();
  if (reinterpret_cast<uintptr_t>(p) % alignof(float) == 0) return static_cast<const float*>(p);
  if (aligned_.empty()) {
    aligned_.resize(static_cast<size_t>(shape_numel(shape)));
    std::memcpy(aligned_.data(), p, bytes());
  }
  return aligned_.data();
}

const float* Prepared::floats(const std::string& name) const {
  auto it = inputs.find(name);
  return it == inputs.end() ? nullptr : it->second.floats();
}

bool Prepared::outputs_empty() const {
  for (const auto& [name, o] : outputs)
    if (shape_numel(o.shape) != 0) return false;
  return true;
}

std::string Prepared::signature() const {
  std::string s;
  for (const auto& [name, x] : inputs) s += name + dtype_name(x.dtype) + shape_string(x.shape) + ";";
  for (const auto& [name, o] : outputs) s += name + ";";
  return s + variant;
}

DeviceInput floats_of(Shape shape, std::vector<float> values) {
  DeviceInput x;
  x.shape = std::move(shape);
  x.f32 = std::move(values);
  return x;
}

void only_inputs(const InputSet& in, const std::vector<std::string>& known, const std::string& arch) {
  for (const auto& name : in.names())
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      throw Error(in.where(name) + " is not an input of arch " + arch + " (" + list + ")");
    }
}

DeviceInput float_input(const InputSet& in, const std::string& name, const Shape& device) {
  const TensorBytes& t = in.at(name);
  DeviceInput x;
  x.shape = device;
  // F32 data is read where it lies; F16/BF16 is converted once.
  if (t.dtype == DType::F32 && t.data)
    x.view = t.data;
  else
    x.f32 = in.to_f32(name);
  return x;
}

int rows_rank(const InputSet& in, const std::string& name, const char* what) {
  const auto& s = in.at(name).shape;
  if (s.size() != 2 && s.size() != 3)
    throw Error(in.where(name) + " has shape " + shape_string(s) + "; expected " + what);
  return static_cast<int>(s.size());
}

DeviceInput rows_input(const InputSet& in, const std::string& name, int rank, const char* like) {
  const Shape& s = in.at(name).shape;
  if (static_cast<int>(s.size()) != rank)
    throw Error(in.where(name) + " has shape " + shape_string(s) + "; expected rank " + std::to_string(rank) +
                " like '" + like + "'");
  return float_input(in, name, rank == 3 ? s : Shape{1, s[0], s[1]});
}

void check_features(const InputSet& in, const DeviceInput& x, const std::string& name, int64_t want, const char* what) {
  if (x.shape[2] != want)
    throw Error(in.where(name) + " has " + std::to_string(x.shape[2]) + " features, the model's " + what + " is " +
                std::to_string(want));
}

void mask_input(Prepared& p, const InputSet& in, const std::string& name, const std::string& as, const Shape& want,
                bool additive, const Shape& device) {
  if (!in.contains(name)) return;
  const auto& t = in.at(name);
  const bool flags = t.dtype == DType::Bool || t.dtype == DType::U8;
  if (!flags && !(additive && t.dtype == DType::F32))
    throw Error(in.where(name) + " is " + dtype_name(t.dtype) + "; it must be BOOL or U8" +
                (additive ? " (masked where nonzero) or F32 (added to the scores)" : " (masked where nonzero)"));
  if (t.shape != want)
    throw Error(in.where(name) + " has shape " + shape_string(t.shape) + ", expected " + shape_string(want));
  p.inputs[as] = flags ? floats_of(device, additive_mask(in.to_mask(name))) : float_input(in, name, device);
}

TokenInput token_input(const InputSet& in, const std::string& ids, const std::string& mask, int64_t vocab,
                       int64_t max_len, const char* max_what) {
  const TensorBytes& t = in.at(ids);
  if (t.dtype != DType::I64 && t.dtype != DType::I32)
    throw Error(in.where(ids) + " is " + dtype_name(t.dtype) + "; token ids must be I64 or I32");
  if (t.shape.size() != 2)
    throw Error(in.where(ids) + " has shape " + shape_string(t.shape) + ", expected [B, T]");
  TokenInput r;
  r.b = t.shape[0];
  r.t = t.shape[1];
  if (r.t > max_len || (r.b > 0 && r.t < 1))
    throw Error(in.where(ids) + " has " + std::to_string(r.t) + " tokens; the model takes 1 to " +
                std::to_string(max_len) + " (" + max_what + ")");
  r.ids = in.to_i64(ids);
  for (size_t i = 0; i < r.ids.size(); ++i)
    if (r.ids[i] < 0 || r.ids[i] >= vocab)
      throw Error(in.where(ids) + ": id " + std::to_string(r.ids[i]) + " at row " + std::to_string(i / r.t) +
                  ", position " + std::to_string(i % r.t) + " is outside the vocabulary of " + std::to_string(vocab));
  r.real.assign(r.ids.size(), 1);
  if (!mask.empty() && in.contains(mask)) {
    const TensorBytes& m = in.at(mask);
    if (m.shape != t.shape)
      throw Error(in.where(mask) + " has shape " + shape_string(m.shape) + ", expected " + shape_string(t.shape));
    if (m.dtype == DType::I64 || m.dtype == DType::I32) {
      const auto v = in.to_i64(mask);
      for (size_t i = 0; i < v.size(); ++i) r.real[i] = v[i] != 0;
    } else if (m.dtype == DType::Bool || m.dtype == DType::U8) {
      r.real = in.to_mask(mask);
      for (auto& x : r.real) x = x != 0;
    } else {
      throw Error(in.where(mask) + " is " + dtype_name(m.dtype) + "; it must be BOOL, U8, I32 or I64 (nonzero = a real token)");
    }
  }
  return r;
}

DeviceInput ints_of(Shape shape, std::vector<int32_t> values) {
  DeviceInput x;
  x.shape = std::move(shape);
  x.dtype = DType::I32;
  x.i32 = std::move(values);
  return x;
}

DeviceInput image_input(const InputSet& in, const std::string& name, int64_t channels, int64_t size) {
  const TensorBytes& t = in.at(name);
  if (t.dtype != DType::F32 && t.dtype != DType::F16 && t.dtype != DType::BF16)
    throw Error(in.where(name) + " is " + dtype_name(t.dtype) + "; images are F32, F16 or BF16");
  if (t.shape.size() != 4 || t.shape[1] != channels || t.shape[2] != size || t.shape[3] != size)
    throw Error(in.where(name) + " has shape " + shape_string(t.shape) + ", expected [B, " + std::to_string(channels) +
                ", " + std::to_string(size) + ", " + std::to_string(size) + "] (the model's image size)");
  return float_input(in, name, t.shape);
}

}  // namespace vkfuse::detail
