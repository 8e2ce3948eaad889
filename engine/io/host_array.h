#pragma once
// A tensor on the host, typed as ONNX types its values: what an ONNX file's initializers are
// read into and what the graph layer folds, runs on the CPU references and hands between
// host and device. Floating types (float, float16, bfloat16, double) are held as floats,
// every integer type and bool as 64-bit integers (bool 0 or 1), so each reference is written
// once per kind, not once per type; the type itself is kept for what depends on it (Cast's
// wrap-around, the dtype of an output).
#include <cstdint>
#include <string>
#include <vector>

#include "vkfuse/reference.hpp"

namespace vkfuse::detail {

// TensorProto.DataType's codes.
enum class Elem : int32_t {
  Undefined = 0,
  Float = 1,
  UInt8 = 2,
  Int8 = 3,
  UInt16 = 4,
  Int16 = 5,
  Int32 = 6,
  Int64 = 7,
  String = 8,
  Bool = 9,
  Float16 = 10,
  Double = 11,
  UInt32 = 12,
  UInt64 = 13,
  Complex64 = 14,
  Complex128 = 15,
  BFloat16 = 16,
};

const char* elem_name(Elem e);  // "float", "int64", ... ("type 99" for an unknown code)
inline bool elem_is_float(Elem e) {
  return e == Elem::Float || e == Elem::Float16 || e == Elem::BFloat16 || e == Elem::Double;
}
inline bool elem_is_int(Elem e) {
  return e == Elem::UInt8 || e == Elem::Int8 || e == Elem::UInt16 || e == Elem::Int16 || e == Elem::Int32 ||
         e == Elem::Int64 || e == Elem::UInt32 || e == Elem::UInt64;
}
// The types vkfuse computes with: the floats, the integers and bool.
inline bool elem_supported(Elem e) { return elem_is_float(e) || elem_is_int(e) || e == Elem::Bool; }
// Bytes an element takes in a file's raw_data (0 for string and unknown types).
size_t elem_bytes(Elem e);
// What an integer of type e becomes when a wider value is stored in it (two's complement
// wrap-around, as numpy's astype and ONNX Runtime's Cast do); bool: nonzero is 1.
int64_t wrap_to(Elem e, int64_t v);

// ref::Array (floats, or 64-bit integers for integer and bool data) with its ONNX type.
struct HostArray : ref::Array {
  Elem type = Elem::Float;

  HostArray() = default;
  HostArray(Elem t, ref::Array a) : ref::Array(std::move(a)), type(t) { integer = !elem_is_float(t); }
  bool is_float() const { return !integer; }
  // An array of `shape` of type t, zeroed.
  static HostArray zeros(Elem t, Shape shape);
  static HostArray scalar_ints(std::vector<int64_t> v, Elem t = Elem::Int64);  // a 1-D array
};

}  // namespace vkfuse::detail
