#pragma once
// The protobuf wire format, read strictly from a bounded byte range: what an ONNX file is
// (engine/io/onnx_file.cpp). A message is a run of fields, each a varint tag (field number
// << 3 | wire type) and a value: a varint (0), 8 bytes (1), a varint length and that many
// bytes (2), or 4 bytes (5). Every length is checked against the bytes left before anything
// is read or sized by it; groups (3, 4), the format's deprecated nesting, are refused.
#include <cstdint>
#include <cstring>
#include <string>

#include "vkfuse/error.hpp"

namespace vkfuse::detail::pb {

enum WireType : uint32_t { Varint = 0, Fixed64 = 1, Bytes = 2, Fixed32 = 5 };

// A view of bytes the caller keeps alive.
struct Span {
  const uint8_t* data = nullptr;
  size_t size = 0;
};

class Reader {
 public:
  // `where` names the message in errors ("model.onnx: graph: node 3").
  Reader(Span s, std::string where) : p_(s.data), end_(s.data + s.size), where_(std::move(where)) {}

  bool done() const { return p_ == end_; }
  const std::string& where() const { return where_; }

  // The next field's number and wire type; false at the end of the message.
  bool next(uint32_t& field, WireType& type) {
    if (done()) return false;
    const uint64_t tag = varint();
    const uint32_t t = uint32_t(tag & 7);
    if (t != Varint && t != Fixed64 && t != Bytes && t != Fixed32)
      fail("wire type " + std::to_string(t) + " (a group or no type at all)");
    if ((tag >> 3) == 0 || (tag >> 3) > 0x1fffffff) fail("field number " + std::to_string(tag >> 3));
    field = uint32_t(tag >> 3);
    type = WireType(t);
    return true;
  }

  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) fail("a varint runs past the end");
      const uint8_t b = *p_++;
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    fail("a varint longer than 10 bytes");
  }
  uint32_t fixed32() {
    uint32_t v;
    take(4, &v);
    return v;
  }
  uint64_t fixed64() {
    uint64_t v;
    take(8, &v);
    return v;
  }
  Span bytes() {
    const uint64_t n = varint();
    if (n > uint64_t(end_ - p_))
      fail("a field declares " + std::to_string(n) + " bytes, " + std::to_string(end_ - p_) + " are left");
    Span s{p_, size_t(n)};
    p_ += n;
    return s;
  }
  std::string string() {
    const Span s = bytes();
    return std::string(reinterpret_cast<const char*>(s.data), s.size);
  }
  void skip(WireType t) {
    switch (t) {
      case Varint: varint(); break;
      case Fixed64: fixed64(); break;
      case Fixed32: fixed32(); break;
      case Bytes: bytes(); break;
    }
  }

  // A field of the expected wire type (else an error naming the field).
  void expect(WireType got, WireType want, const char* name) const {
    if (got != want)
      fail("field '" + std::string(name) + "' has wire type " + std::to_string(uint32_t(got)) + ", expected " +
           std::to_string(uint32_t(want)));
  }

  [[noreturn]] void fail(const std::string& what) const { throw Error(where_ + ": " + what); }

 private:
  void take(size_t n, void* out) {
    if (size_t(end_ - p_) < n) fail("a fixed-size value runs past the end");
    std::memcpy(out, p_, n);
    p_ += n;
  }
  const uint8_t* p_;
  const uint8_t* end_;
  std::string where_;
};

// A repeated scalar field, packed (one Bytes field of values) or not (one value per field):
// both forms are valid protobuf, and writers use either. `one` reads a value from a Reader.
template <class T, class One> void repeated(Reader& r, WireType t, WireType scalar, T& out, One one) {
  if (t == Bytes && scalar != Bytes) {
    Reader packed(r.bytes(), r.where());
    while (!packed.done()) out.push_back(one(packed));
  } else {
    r.expect(t, scalar, "repeated value");
    out.push_back(one(r));
  }
}

}  // namespace vkfuse::detail::pb
