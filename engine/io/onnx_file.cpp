// ONNX files: ModelProto read field by field (onnx.proto, ONNX 1.12) with the checks of
// docs/input-checks.md, external data confined to the model's folder.
#include "io/onnx_file.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "io/message_text.h"
#include "io/protobuf_wire.h"
#include "vkfuse/half.hpp"

namespace vkfuse::detail {

const char* elem_name(Elem e) {
  switch (e) {
    case Elem::Undefined: return "undefined";
    case Elem::Float: return "float";
    case Elem::UInt8: return "uint8";
    case Elem::Int8: return "int8";
    case Elem::UInt16: return "uint16";
    case Elem::Int16: return "int16";
    case Elem::Int32: return "int32";
    case Elem::Int64: return "int64";
    case Elem::String: return "string";
    case Elem::Bool: return "bool";
    case Elem::Float16: return "float16";
    case Elem::Double: return "double";
    case Elem::UInt32: return "uint32";
    case Elem::UInt64: return "uint64";
    case Elem::Complex64: return "complex64";
    case Elem::Complex128: return "complex128";
    case Elem::BFloat16: return "bfloat16";
  }
  return "an unknown type";
}

size_t elem_bytes(Elem e) {
  switch (e) {
    case Elem::UInt8: case Elem::Int8: case Elem::Bool: return 1;
    case Elem::UInt16: case Elem::Int16: case Elem::Float16: case Elem::BFloat16: return 2;
    case Elem::Float: case Elem::Int32: case Elem::UInt32: return 4;
    case Elem::Int64: case Elem::UInt64: case Elem::Double: case Elem::Complex64: return 8;
    case Elem::Complex128: return 16;
    default: return 0;
  }
}

int64_t wrap_to(Elem e, int64_t v) {
  switch (e) {
    case Elem::Bool: return v != 0;
    case Elem::UInt8: return int64_t(uint8_t(v));
    case Elem::Int8: return int64_t(int8_t(uint8_t(v)));
    case Elem::UInt16: return int64_t(uint16_t(v));
    case Elem::Int16: return int64_t(int16_t(uint16_t(v)));
    case Elem::Int32: return int64_t(int32_t(uint32_t(v)));
    case Elem::UInt32: return int64_t(uint32_t(v));
    default: return v;
  }
}

HostArray HostArray::zeros(Elem t, Shape shape) {
  HostArray a;
  a.type = t;
  a.integer = !elem_is_float(t);
  a.shape = std::move(shape);
  if (a.is_float()) a.f.assign(size_t(a.numel()), 0.f);
  else a.i.assign(size_t(a.numel()), 0);
  return a;
}

HostArray HostArray::scalar_ints(std::vector<int64_t> v, Elem t) {
  HostArray a;
  a.type = t;
  a.integer = true;
  a.shape = {int64_t(v.size())};
  a.i = std::move(v);
  return a;
}

namespace onnx {

const char* attr_type_name(AttrType t) {
  switch (t) {
    case AttrType::Undefined: return "undefined";
    case AttrType::Float: return "float";
    case AttrType::Int: return "int";
    case AttrType::String: return "string";
    case AttrType::Tensor: return "tensor";
    case AttrType::Graph: return "graph";
    case AttrType::Floats: return "floats";
    case AttrType::Ints: return "ints";
    case AttrType::Strings: return "strings";
    case AttrType::Tensors: return "tensors";
    case AttrType::Graphs: return "graphs";
    case AttrType::SparseTensor: return "sparse tensor";
    case AttrType::SparseTensors: return "sparse tensors";
    case AttrType::TypeProto: return "type proto";
    case AttrType::TypeProtos: return "type protos";
  }
  return "unknown";
}

namespace {

using pb::Reader;
using pb::Span;
using pb::WireType;

constexpr size_t kMaxRank = 64;

// Where external data may be read from: the model's folder ("" for none).
struct Context {
  std::string label, folder;
};

int64_t read_int(Reader& r) { return int64_t(r.varint()); }
float read_float(Reader& r) {
  const uint32_t bits = r.fixed32();
  float v;
  std::memcpy(&v, &bits, 4);
  return v;
}
double read_double(Reader& r) {
  const uint64_t bits = r.fixed64();
  double v;
  std::memcpy(&v, &bits, 8);
  return v;
}

// numel of dims, or an error for a negative dimension, a rank over kMaxRank or a count past
// 2^62 elements.
int64_t checked_numel(const Shape& dims, Reader& r, const std::string& what) {
  if (dims.size() > kMaxRank) r.fail(what + " has rank " + std::to_string(dims.size()) + ", over " + std::to_string(kMaxRank));
  uint64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) r.fail(what + " has a negative dimension " + std::to_string(d));
    if (__builtin_mul_overflow(n, uint64_t(d), &n) || n > (uint64_t(1) << 62))
      r.fail(what + " declares " + shape_string(dims) + ", more elements than any file holds");
  }
  return int64_t(n);
}

// A path inside `folder`: relative, without "..", and (links resolved) still inside it.
std::string confined_path(const std::string& folder, const std::string& location, Reader& r, const std::string& what) {
  const std::string loc = quote(location);
  if (folder.empty()) r.fail(what + ": external data " + loc + " cannot be read: the model was not read from a folder");
  if (location.empty()) r.fail(what + ": external data has an empty location");
  if (location[0] == '/' || location[0] == '\\') r.fail(what + ": external data location " + loc + " is absolute; it must be relative to the model's folder");
  size_t start = 0;
  while (start <= location.size()) {
    size_t end = location.find_first_of("/\\", start);
    if (end == std::string::npos) end = location.size();
    if (location.compare(start, end - start, "..") == 0)
      r.fail(what + ": external data location " + loc + " contains '..'; it must stay inside the model's folder");
    start = end + 1;
  }
  if (location.find('\0') != std::string::npos) r.fail(what + ": external data location " + loc + " contains a NUL byte");
  char base[PATH_MAX], full[PATH_MAX];
  if (!realpath(folder.c_str(), base)) r.fail(what + ": cannot resolve the model's folder " + quote(folder));
  const std::string joined = folder + "/" + location;
  if (!realpath(joined.c_str(), full))
    r.fail(what + ": external data file " + loc + " cannot be opened: " + std::strerror(errno));
  const std::string b = base, f = full;
  if (f.compare(0, b.size(), b) != 0 || f.size() <= b.size() || (b != "/" && f[b.size()] != '/'))
    r.fail(what + ": external data location " + loc + " resolves to " + quote(f) + ", outside the model's folder");
  return f;
}

// `want` bytes of an external data file at `offset`, both checked against its size first.
std::vector<uint8_t> read_external(const std::string& path, uint64_t offset, uint64_t length, bool has_length,
                                   uint64_t want, Reader& r, const std::string& what, const std::string& loc) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) r.fail(what + ": cannot open external data " + loc + ": " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) r.fail(what + ": external data " + loc + " is not a regular file");
  const uint64_t size = uint64_t(st.st_size);
  if (has_length && length != want)
    r.fail(what + ": external data length " + std::to_string(length) + " differs from the " + std::to_string(want) +
           " bytes its shape and type need");
  if (offset > size || want > size - offset)
    r.fail(what + ": external data " + loc + " at offset " + std::to_string(offset) + " needs " + std::to_string(want) +
           " bytes, the file has " + std::to_string(size));
  std::vector<uint8_t> bytes(want);
  size_t done = 0;
  while (done < want) {
    const ssize_t n = ::pread(fd, bytes.data() + done, want - done, off_t(offset + done));
    if (n <= 0) r.fail(what + ": reading external data " + loc + " failed");
    done += size_t(n);
  }
  return bytes;
}

// Little-endian elements of type t from raw bytes into a.
void decode_raw(HostArray& a, const uint8_t* p, size_t n) {
  auto le = [&](size_t k, size_t w) {
    uint64_t v = 0;
    for (size_t b = 0; b < w; ++b) v |= uint64_t(p[k * w + b]) << (8 * b);
    return v;
  };
  if (a.is_float()) {
    a.f.resize(n);
    for (size_t k = 0; k < n; ++k) {
      switch (a.type) {
        case Elem::Float: {
          const uint32_t bits = uint32_t(le(k, 4));
          std::memcpy(&a.f[k], &bits, 4);
          break;
        }
        case Elem::Float16: a.f[k] = half_to_float(uint16_t(le(k, 2))); break;
        case Elem::BFloat16: a.f[k] = bf16_to_float(uint16_t(le(k, 2))); break;
        default: {
          const uint64_t bits = le(k, 8);
          double d;
          std::memcpy(&d, &bits, 8);
          a.f[k] = float(d);
        }
      }
    }
    return;
  }
  a.i.resize(n);
  const size_t w = elem_bytes(a.type);
  for (size_t k = 0; k < n; ++k) {
    const uint64_t v = le(k, w);
    // Sign-extend the signed types from their width; bool: nonzero is true.
    a.i[k] = a.type == Elem::UInt64 || a.type == Elem::Int64 ? int64_t(v) : wrap_to(a.type, int64_t(v));
  }
}

HostArray read_tensor(Span s, const Context& cx, const std::string& where, std::string* name_out) {
  Reader r(s, where);
  Shape dims;
  int32_t type = 0;
  bool has_type = false, has_raw = false, external = false, segmented = false;
  Span raw;
  std::vector<float> floats;
  std::vector<int64_t> ints;  // int32_data, int64_data, uint64_data
  std::vector<double> doubles;
  size_t strings = 0;
  std::string name, location;
  uint64_t offset = 0, length = 0;
  bool has_length = false;
  uint32_t field;
  WireType t;
  while (r.next(field, t)) {
    switch (field) {
      case 1: pb::repeated(r, t, pb::Varint, dims, read_int); break;
      case 2: r.expect(t, pb::Varint, "data_type"); type = int32_t(r.varint()); has_type = true; break;
      case 3: segmented = true; r.skip(t); break;
      case 4: pb::repeated(r, t, pb::Fixed32, floats, read_float); break;
      case 5: pb::repeated(r, t, pb::Varint, ints, read_int); break;
      case 6: ++strings; r.skip(t); break;
      case 7: pb::repeated(r, t, pb::Varint, ints, read_int); break;
      case 8: r.expect(t, pb::Bytes, "name"); name = r.string(); break;
      case 9: r.expect(t, pb::Bytes, "raw_data"); raw = r.bytes(); has_raw = true; break;
      case 10: pb::repeated(r, t, pb::Fixed64, doubles, read_double); break;
      case 11: pb::repeated(r, t, pb::Varint, ints, read_int); break;
      case 13: {
        r.expect(t, pb::Bytes, "external_data");
        Reader e(r.bytes(), where + ": external_data");
        std::string key, value;
        uint32_t f2;
        WireType t2;
        while (e.next(f2, t2)) {
          if (f2 == 1) key = (e.expect(t2, pb::Bytes, "key"), e.string());
          else if (f2 == 2) value = (e.expect(t2, pb::Bytes, "value"), e.string());
          else e.skip(t2);
        }
        auto number = [&](const std::string& v) {
          if (v.empty() || v.size() > 19 || v.find_first_not_of("0123456789") != std::string::npos)
            r.fail("external_data " + key + " " + quote(v) + " is not a non-negative integer");
          return uint64_t(std::stoull(v));
        };
        if (key == "location") location = value;
        else if (key == "offset") offset = number(value);
        else if (key == "length") length = number(value), has_length = true;
        break;
      }
      case 14: r.expect(t, pb::Varint, "data_location"); external = r.varint() == 1; break;
      default: r.skip(t);
    }
  }
  const std::string what = "tensor " + quote(name);
  Reader named(Span{}, where + (name.empty() ? "" : ": " + what));
  if (name_out) *name_out = name;
  if (!has_type) named.fail("no data_type");
  HostArray a;
  a.type = Elem(type);
  a.integer = !elem_is_float(a.type);
  if (!elem_supported(a.type))
    named.fail("has type " + std::string(elem_name(a.type)) + " (" + std::to_string(type) +
               "), which vkfuse does not compute with");
  if (segmented) named.fail("is segmented (TensorProto.segment), which vkfuse does not read");
  if (strings) named.fail("holds string data");
  a.shape = dims;
  const int64_t n = checked_numel(dims, named, "it");
  const uint64_t need = uint64_t(n) * elem_bytes(a.type);
  if (external) {
    const std::string path = confined_path(cx.folder, location, named, "it");
    const auto bytes = read_external(path, offset, length, has_length, need, named, "it", quote(location));
    decode_raw(a, bytes.data(), size_t(n));
    return a;
  }
  if (has_raw) {
    if (raw.size != need)
      named.fail("raw_data holds " + std::to_string(raw.size) + " bytes, its shape " + shape_string(dims) + " of " +
                 elem_name(a.type) + " needs " + std::to_string(need));
    decode_raw(a, raw.data, size_t(n));
    return a;
  }
  // Typed fields: float_data for float, double_data for double, int32_data for the narrow
  // types (float16 and bfloat16 as their bits), int64_data, uint64_data for uint32/uint64.
  const size_t have = a.type == Elem::Float ? floats.size() : a.type == Elem::Double ? doubles.size() : ints.size();
  if (have != size_t(n))
    named.fail("holds " + std::to_string(have) + " values, its shape " + shape_string(dims) + " needs " +
               std::to_string(n));
  if (a.type == Elem::Float) a.f = std::move(floats);
  else if (a.type == Elem::Double) a.f.assign(doubles.begin(), doubles.end());
  else if (a.type == Elem::Float16 || a.type == Elem::BFloat16) {
    a.f.resize(size_t(n));
    for (size_t k = 0; k < size_t(n); ++k)
      a.f[k] = a.type == Elem::Float16 ? half_to_float(uint16_t(ints[k])) : bf16_to_float(uint16_t(ints[k]));
  } else {
    a.i = std::move(ints);
    if (a.type != Elem::Int64 && a.type != Elem::UInt64)
      for (auto& v : a.i) v = wrap_to(a.type, v);
  }
  return a;
}

Attribute read_attribute(Span s, const Context& cx, const std::string& where) {
  Reader r(s, where);
  Attribute a;
  bool typed = false, ref = false;
  AttrType seen = AttrType::Undefined;
  uint32_t field;
  WireType t;
  while (r.next(field, t)) {
    switch (field) {
      case 1: r.expect(t, pb::Bytes, "name"); a.name = r.string(); break;
      case 2: r.expect(t, pb::Fixed32, "f"); a.f = read_float(r); seen = AttrType::Float; break;
      case 3: r.expect(t, pb::Varint, "i"); a.i = read_int(r); seen = AttrType::Int; break;
      case 4: r.expect(t, pb::Bytes, "s"); a.s = r.string(); seen = AttrType::String; break;
      case 5:
        r.expect(t, pb::Bytes, "t");
        a.t.push_back(read_tensor(r.bytes(), cx, where + ": t", nullptr));
        seen = AttrType::Tensor;
        break;
      case 6: r.skip(t); seen = AttrType::Graph; break;
      case 7: pb::repeated(r, t, pb::Fixed32, a.floats, read_float); seen = AttrType::Floats; break;
      case 8: pb::repeated(r, t, pb::Varint, a.ints, read_int); seen = AttrType::Ints; break;
      case 9: r.expect(t, pb::Bytes, "strings"); a.strings.push_back(r.string()); seen = AttrType::Strings; break;
      case 10:
        r.expect(t, pb::Bytes, "tensors");
        a.t.push_back(read_tensor(r.bytes(), cx, where + ": tensors", nullptr));
        seen = AttrType::Tensors;
        break;
      case 11: r.skip(t); seen = AttrType::Graphs; break;
      case 14: r.skip(t); seen = AttrType::TypeProto; break;
      case 15: r.skip(t); seen = AttrType::TypeProtos; break;
      case 20: r.expect(t, pb::Varint, "type"); a.type = AttrType(int32_t(r.varint())); typed = true; break;
      case 21: r.skip(t); ref = true; break;
      case 22: r.skip(t); seen = AttrType::SparseTensor; break;
      case 23: r.skip(t); seen = AttrType::SparseTensors; break;
      default: r.skip(t);
    }
  }
  if (a.name.empty()) r.fail("an attribute without a name");
  if (ref) r.fail("attribute " + quote(a.name) + " refers to a function's attribute (ref_attr_name), outside a function");
  // IR versions before 4 leave `type` out; the field present says it.
  if (!typed) a.type = seen;
  if (a.type == AttrType::Tensor && a.t.size() != 1)
    r.fail("attribute " + quote(a.name) + " is a tensor attribute without exactly one tensor");
  return a;
}

Node read_node(Span s, const Context& cx, const std::string& where) {
  Reader r(s, where);
  Node n;
  std::vector<Span> attrs;
  uint32_t field;
  WireType t;
  while (r.next(field, t)) {
    switch (field) {
      case 1: r.expect(t, pb::Bytes, "input"); n.inputs.push_back(r.string()); break;
      case 2: r.expect(t, pb::Bytes, "output"); n.outputs.push_back(r.string()); break;
      case 3: r.expect(t, pb::Bytes, "name"); n.name = r.string(); break;
      case 4: r.expect(t, pb::Bytes, "op_type"); n.op_type = r.string(); break;
      case 5: r.expect(t, pb::Bytes, "attribute"); attrs.push_back(r.bytes()); break;
      case 7: r.expect(t, pb::Bytes, "domain"); n.domain = r.string(); break;
      default: r.skip(t);
    }
  }
  const std::string named = where + " (" + clipped(escaped(n.op_type, false), 64) +
                            (n.name.empty() ? "" : " " + quote(clipped(n.name, 200))) + ")";
  for (const Span& a : attrs) n.attributes.push_back(read_attribute(a, cx, named));
  return n;
}

void read_dim(Span s, const std::string& where, std::vector<Dim>& dims) {
  Reader r(s, where);
  Dim d;
  uint32_t field;
  WireType t;
  while (r.next(field, t)) {
    if (field == 1) {
      r.expect(t, pb::Varint, "dim_value");
      d.value = read_int(r);
      if (d.value < 0) r.fail("a negative dim_value " + std::to_string(d.value));
    } else if (field == 2) {
      r.expect(t, pb::Bytes, "dim_param");
      d.param = r.string();
    } else {
      r.skip(t);
    }
  }
  dims.push_back(std::move(d));
}

ValueInfo read_value_info(Span s, const std::string& where) {
  Reader r(s, where);
  ValueInfo v;
  uint32_t field;
  WireType t;
  while (r.next(field, t)) {
    if (field == 1) {
      r.expect(t, pb::Bytes, "name");
      v.name = r.string();
    } else if (field == 2) {
      r.expect(t, pb::Bytes, "type");
      Reader tp(r.bytes(), where + ": type");
      uint32_t f2;
      WireType t2;
      while (tp.next(f2, t2)) {
        if (f2 != 1) {
          tp.skip(t2);
          continue;
        }
        tp.expect(t2, pb::Bytes, "tensor_type");
        v.tensor = true;
        Reader tt(tp.bytes(), where + ": tensor_type");
        uint32_t f3;
        WireType t3;
        while (tt.next(f3, t3)) {
          if (f3 == 1) {
            tt.expect(t3, pb::Varint, "elem_type");
            v.type = Elem(int32_t(tt.varint()));
          } else if (f3 == 2) {
            tt.expect(t3, pb::Bytes, "shape");
            v.has_shape = true;
            Reader sh(tt.bytes(), where + ": shape");
            uint32_t f4;
            WireType t4;
            while (sh.next(f4, t4)) {
              if (f4 == 1) {
                sh.expect(t4, pb::Bytes, "dim");
                read_dim(sh.bytes(), where + ": dim", v.dims);
                if (v.dims.size() > kMaxRank) sh.fail("rank over " + std::to_string(kMaxRank));
              } else {
                sh.skip(t4);
              }
            }
          } else {
            tt.skip(t3);
          }
        }
      }
    } else {
      r.skip(t);
    }
  }
  return v;
}

Graph read_graph(Span s, const Context& cx) {
  const std::string where = cx.label + ": graph";
  Reader r(s, where);
  Graph g;
  uint32_t field;
  WireType t;
  while (r.next(field, t)) {
    switch (field) {
      case 1:
        r.expect(t, pb::Bytes, "node");
        g.nodes.push_back(read_node(r.bytes(), cx, where + ": node " + std::to_string(g.nodes.size())));
        break;
      case 2: r.expect(t, pb::Bytes, "name"); g.name = r.string(); break;
      case 5: {
        r.expect(t, pb::Bytes, "initializer");
        std::string name;
        g.initializers.push_back(
            read_tensor(r.bytes(), cx, where + ": initializer " + std::to_string(g.initializers.size()), &name));
        if (name.empty()) r.fail("initializer " + std::to_string(g.initializers.size() - 1) + " has no name");
        g.initializer_names.push_back(std::move(name));
        break;
      }
      case 11: r.expect(t, pb::Bytes, "input"); g.inputs.push_back(read_value_info(r.bytes(), where + ": input")); break;
      case 12: r.expect(t, pb::Bytes, "output"); g.outputs.push_back(read_value_info(r.bytes(), where + ": output")); break;
      case 13:
        r.expect(t, pb::Bytes, "value_info");
        g.value_info.push_back(read_value_info(r.bytes(), where + ": value_info"));
        break;
      case 15: g.sparse_initializers = true; r.skip(t); break;
      default: r.skip(t);
    }
  }
  return g;
}

Model read_model(Span s, const Context& cx) {
  Reader r(s, cx.label);
  Model m;
  uint32_t field;
  WireType t;
  while (r.next(field, t)) {
    switch (field) {
      case 1: r.expect(t, pb::Varint, "ir_version"); m.ir_version = read_int(r); break;
      case 2: r.expect(t, pb::Bytes, "producer_name"); m.producer_name = r.string(); break;
      case 3: r.expect(t, pb::Bytes, "producer_version"); m.producer_version = r.string(); break;
      case 6: r.expect(t, pb::Bytes, "doc_string"); m.doc_string = r.string(); break;
      case 7:
        r.expect(t, pb::Bytes, "graph");
        if (m.has_graph) r.fail("the model holds two graphs");
        m.graph = read_graph(r.bytes(), cx);
        m.has_graph = true;
        break;
      case 8: {
        r.expect(t, pb::Bytes, "opset_import");
        Reader o(r.bytes(), cx.label + ": opset_import");
        std::string domain;
        int64_t version = 0;
        uint32_t f2;
        WireType t2;
        while (o.next(f2, t2)) {
          if (f2 == 1) domain = (o.expect(t2, pb::Bytes, "domain"), o.string());
          else if (f2 == 2) version = (o.expect(t2, pb::Varint, "version"), read_int(o));
          else o.skip(t2);
        }
        if (domain == "ai.onnx") domain.clear();
        if (m.opsets.count(domain)) r.fail("opset_import names domain " + quote(domain) + " twice");
        m.opsets[domain] = version;
        break;
      }
      case 14: {
        r.expect(t, pb::Bytes, "metadata_props");
        Reader e(r.bytes(), cx.label + ": metadata_props");
        std::string key, value;
        uint32_t f2;
        WireType t2;
        while (e.next(f2, t2)) {
          if (f2 == 1) key = (e.expect(t2, pb::Bytes, "key"), e.string());
          else if (f2 == 2) value = (e.expect(t2, pb::Bytes, "value"), e.string());
          else e.skip(t2);
        }
        m.metadata[key] = value;
        break;
      }
      case 20: m.training_info = true; r.skip(t); break;
      case 25: m.functions = true; r.skip(t); break;
      default: r.skip(t);
    }
  }
  if (!m.has_graph) r.fail("the model holds no graph");
  return m;
}

}  // namespace

bool looks_like_onnx(const uint8_t* bytes, size_t size) {
  if (size < 2) return false;
  // A ModelProto's first field, as writers order them: ir_version (a varint), or one of the
  // string and message fields.
  const uint8_t tag = bytes[0];
  return tag == 0x08 || tag == 0x12 || tag == 0x1a || tag == 0x22 || tag == 0x28 || tag == 0x32 || tag == 0x3a ||
         tag == 0x42;
}

Model parse(const std::string& label, const void* bytes, size_t size, const std::string& folder) {
  return read_model(Span{static_cast<const uint8_t*>(bytes), size}, Context{label, folder});
}

HostArray parse_tensor(const std::string& label, const void* bytes, size_t size, std::string* name) {
  return read_tensor(Span{static_cast<const uint8_t*>(bytes), size}, Context{label, ""}, label, name);
}

Model read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw Error(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(path + ": not a regular file");
  }
  const size_t size = size_t(st.st_size);
  void* map = size ? mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0) : nullptr;
  const int err = errno;
  ::close(fd);
  if (map == MAP_FAILED) throw Error(path + ": cannot map: " + std::strerror(err));
  struct Unmap {
    void* p;
    size_t n;
    ~Unmap() {
      if (p) munmap(p, n);
    }
  } unmap{map, size};
  const size_t slash = path.find_last_of('/');
  const std::string folder = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  return parse(path, map, size, folder);
}

}  // namespace onnx
}  // namespace vkfuse::detail
