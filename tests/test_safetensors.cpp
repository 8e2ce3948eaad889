// safetensors reading and writing, and the fp16/bf16 conversions. No GPU.
// Malformed files are built byte by byte here; each must be one vkfuse::Error naming the file,
// the tensor where there is one, and the fault.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "temp_dir.hpp"
#include "vkfuse/error.hpp"
#include "vkfuse/half.hpp"
#include "vkfuse/safetensors.hpp"

namespace fs = std::filesystem;
using vkfuse::DType;
using vkfuse::SafetensorsFile;

namespace {

float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

using vkt::temp_dir;

std::string write_file(const std::string& name, const std::string& bytes) {
  const std::string path = (temp_dir() / name).string();
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  return path;
}

// A safetensors file from a header text and data bytes; the length field can be forged.
std::string st_bytes(const std::string& header, const std::string& data, uint64_t len = ~0ull) {
  if (len == ~0ull) len = header.size();
  std::string r(8, '\0');
  for (int i = 0; i < 8; ++i) r[i] = char(uint8_t(len >> (8 * i)));
  return r + header + data;
}

// Opening the file must throw one vkfuse::Error whose message holds the path and every part.
void expect_rejected(const std::string& name, const std::string& bytes,
                     const std::vector<std::string>& parts) {
  SCOPED_TRACE(name);
  const std::string path = write_file(name + ".safetensors", bytes);
  try {
    SafetensorsFile::open(path);
    ADD_FAILURE() << "accepted a malformed file";
  } catch (const vkfuse::Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind(path + ": ", 0), 0u) << what;
    for (const auto& p : parts)
      EXPECT_NE(what.find(p), std::string::npos) << "'" << p << "' not in: " << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    EXPECT_LT(what.size(), path.size() + 400) << what;
  }
}

const std::string kA = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
const std::string k8(8, '\0');

}  // namespace

TEST(SafetensorsHalf, HandCheckedValues) {
  EXPECT_EQ(vkfuse::half_to_float(0x3c00), 1.0f);
  EXPECT_EQ(vkfuse::half_to_float(0xc100), -2.5f);
  EXPECT_EQ(vkfuse::half_to_float(0x7bff), 65504.0f);
  EXPECT_EQ(vkfuse::half_to_float(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(vkfuse::half_to_float(0x03ff), std::ldexp(1023.0f, -24));  // largest subnormal
  EXPECT_EQ(vkfuse::half_to_float(0x0400), std::ldexp(1.0f, -14));  // smallest normal
  EXPECT_EQ(vkfuse::half_to_float(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(vkfuse::half_to_float(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(vkfuse::half_to_float(0x7e00)));
  EXPECT_TRUE(std::isnan(vkfuse::half_to_float(0x7c01)));  // signalling payload is still NaN
  EXPECT_TRUE(std::signbit(vkfuse::half_to_float(0x8000)));

  EXPECT_EQ(vkfuse::float_to_half(1.0f), 0x3c00);
  EXPECT_EQ(vkfuse::float_to_half(-2.5f), 0xc100);
  EXPECT_EQ(vkfuse::float_to_half(65504.0f), 0x7bff);
  EXPECT_EQ(vkfuse::float_to_half(65519.0f), 0x7bff);  // below the midpoint to 65536
  EXPECT_EQ(vkfuse::float_to_half(65520.0f), 0x7c00);  // the tie rounds to even: inf
  EXPECT_EQ(vkfuse::float_to_half(1e10f), 0x7c00);
  EXPECT_EQ(vkfuse::float_to_half(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(vkfuse::float_to_half(std::ldexp(1.0f, -25)), 0x0000);    // tie to even (0)
  EXPECT_EQ(vkfuse::float_to_half(std::ldexp(3.0f, -25)), 0x0002);    // tie to even (2)
  EXPECT_EQ(vkfuse::float_to_half(std::ldexp(1.0f, -26)), 0x0000);
  EXPECT_EQ(vkfuse::float_to_half(1.0f + std::ldexp(1.0f, -11)), 0x3c00);      // tie, even
  EXPECT_EQ(vkfuse::float_to_half(1.0f + std::ldexp(3.0f, -11)), 0x3c02);      // tie, even
  EXPECT_EQ(vkfuse::float_to_half(-std::numeric_limits<float>::infinity()), 0xfc00);
  EXPECT_EQ(vkfuse::float_to_half(-0.0f), 0x8000);
  const uint16_t nan = vkfuse::float_to_half(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7c00, 0x7c00);
  EXPECT_NE(nan & 0x03ff, 0);

  EXPECT_EQ(vkfuse::bf16_to_float(0x4049), 3.140625f);
  EXPECT_EQ(vkfuse::float_to_bf16(3.14159265f), 0x4049);
  EXPECT_EQ(vkfuse::float_to_bf16(3.140625f), 0x4049);
  EXPECT_EQ(vkfuse::bf16_to_float(0x3f80), 1.0f);
  EXPECT_EQ(vkfuse::bf16_to_float(0xc020), -2.5f);
  EXPECT_EQ(vkfuse::bf16_to_float(0x0001), std::ldexp(1.0f, -133));  // subnormal
  EXPECT_EQ(vkfuse::bf16_to_float(0x7f80), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(vkfuse::bf16_to_float(0x7fc0)));
  EXPECT_EQ(vkfuse::float_to_bf16(bits_float(0x3f808000)), 0x3f80);  // tie, even
  EXPECT_EQ(vkfuse::float_to_bf16(bits_float(0x3f818000)), 0x3f82);  // tie, even
  EXPECT_EQ(vkfuse::float_to_bf16(bits_float(0x3f808001)), 0x3f81);
  EXPECT_EQ(vkfuse::float_to_bf16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_TRUE(std::isnan(vkfuse::bf16_to_float(
      vkfuse::float_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_TRUE(std::isnan(vkfuse::bf16_to_float(vkfuse::float_to_bf16(bits_float(0x7f800001)))));
}

// Every half survives the trip through float, and every midpoint between neighbouring halves
// rounds to the even one while anything off the midpoint rounds to the nearer.
TEST(SafetensorsHalf, ExhaustiveRoundTripAndTies) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = vkfuse::half_to_float(uint16_t(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(vkfuse::float_to_half(f), h) << std::hex << h;
    if ((h & 0x7fff) >= 0x7bff) continue;  // no finite neighbour above
    const float next = vkfuse::half_to_float(uint16_t(h + 1));
    const float mid = (f + next) / 2;  // exact: one more bit than a half holds
    const uint16_t even = (h & 1) ? uint16_t(h + 1) : uint16_t(h);
    ASSERT_EQ(vkfuse::float_to_half(mid), even) << std::hex << h;
    ASSERT_EQ(vkfuse::float_to_half(std::nextafter(mid, f)), h) << std::hex << h;
    ASSERT_EQ(vkfuse::float_to_half(std::nextafter(mid, next)), h + 1) << std::hex << h;
  }
}

TEST(Safetensors, RoundTripWithMetadata) {
  const std::string path = (temp_dir() / "round_trip.safetensors").string();
  const std::vector<float> w = {1.5f, -2.0f, 3.25f, 0.0f, -0.0f, 1e-30f};
  const std::vector<float> b = {7.0f, 8.0f, 9.0f};
  const std::vector<uint16_t> h = {0x3c00, 0xc100, 0x0001};
  const std::vector<uint16_t> bf = {0x4049, 0xff80};
  const std::vector<int64_t> ids = {0, -1, int64_t(1) << 40};
  const std::vector<int32_t> ids32 = {5, -7};
  const std::vector<uint8_t> mask = {1, 0, 1}, u8 = {0, 200};
  const std::map<std::string, std::string> meta = {{"vkfuse.config", R"({"arch":"x"})"},
                                                   {"format", "pt"}};
  vkfuse::write_safetensors(
      path,
      {{"w", vkfuse::f32_bytes({2, 3}, w)},
       {"h", {DType::F16, {3}, h.data()}},  // 6 bytes: the next tensor is not 8-aligned
       {"b", vkfuse::f32_bytes({3}, b)},
       {"bf", {DType::BF16, {1, 2}, bf.data()}},
       {"empty", vkfuse::f32_bytes({0, 4}, {})},
       {"ids", {DType::I64, {3}, ids.data()}},
       {"ids32", {DType::I32, {2}, ids32.data()}},
       {"mask", {DType::Bool, {3}, mask.data()}},
       {"u8", {DType::U8, {2}, u8.data()}},
       {"scalar", vkfuse::f32_bytes({}, {4.5f})}},
      meta);

  // The header is padded with spaces so the data section starts on an 8-byte boundary.
  std::ifstream in(path, std::ios::binary);
  uint8_t len[8];
  in.read(reinterpret_cast<char*>(len), 8);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t(len[i]) << (8 * i);
  EXPECT_EQ(n % 8, 0u);
  std::string header(n, '\0');
  in.read(header.data(), std::streamsize(n));
  EXPECT_EQ(header.front(), '{');

  SafetensorsFile file = SafetensorsFile::open(path);
  SafetensorsFile f = std::move(file);  // the tensors are views into a mapping that moves whole
  EXPECT_EQ(f.path(), path);
  EXPECT_EQ(f.metadata(), meta);
  EXPECT_EQ(f.names(), (std::vector<std::string>{"w", "h", "b", "bf", "empty", "ids", "ids32",
                                                  "mask", "u8", "scalar"}));
  EXPECT_TRUE(f.contains("w"));
  EXPECT_FALSE(f.contains("nope"));
  EXPECT_EQ(f.tensor("w").dtype, DType::F32);
  EXPECT_EQ(f.tensor("w").shape, (vkfuse::Shape{2, 3}));
  EXPECT_EQ(f.tensor("w").offset, 0u);
  EXPECT_EQ(f.tensor("w").bytes, 24u);
  EXPECT_EQ(f.tensor("h").offset, 24u);
  EXPECT_EQ(f.tensor("b").offset, 30u);
  EXPECT_EQ(f.tensor("empty").bytes, 0u);
  EXPECT_EQ(f.tensor("scalar").shape, vkfuse::Shape{});

  const auto rw = f.to_f32("w");
  ASSERT_EQ(rw.size(), w.size());
  EXPECT_EQ(std::memcmp(rw.data(), w.data(), 24), 0);  // bit-exact, -0.0 included
  EXPECT_EQ(f.to_f32("b"), b);
  EXPECT_EQ(f.to_f32("h"), (std::vector<float>{1.0f, -2.5f, std::ldexp(1.0f, -24)}));
  EXPECT_EQ(f.to_f32("bf"),
            (std::vector<float>{3.140625f, -std::numeric_limits<float>::infinity()}));
  EXPECT_TRUE(f.to_f32("empty").empty());
  EXPECT_EQ(f.to_f32("scalar"), std::vector<float>{4.5f});
  EXPECT_EQ(f.to_i64("ids"), ids);
  EXPECT_EQ(f.to_i64("ids32"), (std::vector<int64_t>{5, -7}));
  EXPECT_EQ(f.to_mask("mask"), mask);
  EXPECT_EQ(f.to_mask("u8"), u8);

  // Wrong-dtype and missing lookups name the file, the tensor and the fault.
  for (auto call : {+[](const SafetensorsFile& s) { s.to_f32("ids"); },
                    +[](const SafetensorsFile& s) { s.to_i64("w"); },
                    +[](const SafetensorsFile& s) { s.to_mask("h"); },
                    +[](const SafetensorsFile& s) { s.tensor("missing"); }}) {
    try {
      call(f);
      ADD_FAILURE() << "no error";
    } catch (const vkfuse::Error& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.rfind(path + ": tensor '", 0), 0u) << what;
    }
  }

  // Rewriting replaces the file whole and leaves no temporary file behind.
  vkfuse::write_safetensors(path, {{"only", vkfuse::f32_bytes({1}, {2.0f})}});
  EXPECT_EQ(SafetensorsFile::open(path).names(), std::vector<std::string>{"only"});
  EXPECT_TRUE(SafetensorsFile::open(path).metadata().empty());
  for (const auto& e : fs::directory_iterator(temp_dir()))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
}

TEST(Safetensors, WriterRejectsBadInput) {
  const std::string path = (temp_dir() / "bad_write.safetensors").string();
  const std::vector<float> v = {1, 2};
  EXPECT_THROW(vkfuse::f32_bytes({3}, v), vkfuse::Error);
  EXPECT_THROW(vkfuse::write_safetensors(path, {{"a", vkfuse::f32_bytes({2}, v)},
                                                {"a", vkfuse::f32_bytes({2}, v)}}),
               vkfuse::Error);
  EXPECT_THROW(vkfuse::write_safetensors(path, {{"__metadata__", vkfuse::f32_bytes({2}, v)}}),
               vkfuse::Error);
  EXPECT_THROW(vkfuse::write_safetensors(path, {{"a\xff", vkfuse::f32_bytes({2}, v)}}),
               vkfuse::Error);
  EXPECT_FALSE(fs::exists(path));
}

TEST(Safetensors, BoolMaskHoldsOnlyZeroOrOne) {
  const std::string path = write_file(
      "bool2.safetensors",
      st_bytes(R"({"m":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}})", std::string("\1\2", 2)));
  const auto f = SafetensorsFile::open(path);
  try {
    f.to_mask("m");
    ADD_FAILURE() << "no error";
  } catch (const vkfuse::Error& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'm': BOOL element 1 is 2"), std::string::npos)
        << e.what();
  }
}

// Tensors built in memory read back as a file of the same tensors would, and are held by
// copy (the caller's buffers may go away), with the writer's checks and file-like errors.
TEST(Safetensors, FromTensorsInMemory) {
  std::vector<float> f = {1.5f, -2.f, 3.25f};
  std::vector<int32_t> ids = {7, -1};
  std::vector<uint8_t> mask = {0, 1, 2};
  auto m = SafetensorsFile::from_tensors("inputs", {{"x", vkfuse::f32_bytes({3}, f)},
                                                    {"ids", {vkfuse::DType::I32, {1, 2}, ids.data()}},
                                                    {"m", {vkfuse::DType::Bool, {3}, mask.data()}},
                                                    {"none", {vkfuse::DType::F32, {0, 4}, nullptr}}},
                                         {{"k", "v"}});
  f.assign(3, 0.f);
  ids.assign(2, 0);
  EXPECT_EQ(m.to_f32("x"), (std::vector<float>{1.5f, -2.f, 3.25f}));
  EXPECT_EQ(m.to_i64("ids"), (std::vector<int64_t>{7, -1}));
  EXPECT_EQ(m.tensor("ids").shape, (vkfuse::Shape{1, 2}));
  EXPECT_TRUE(m.to_f32("none").empty());
  EXPECT_EQ(m.metadata().at("k"), "v");
  EXPECT_EQ(m.names(), (std::vector<std::string>{"x", "ids", "m", "none"}));
  try {
    m.to_mask("m");
    ADD_FAILURE() << "no error";
  } catch (const vkfuse::Error& e) {
    EXPECT_NE(std::string(e.what()).find("inputs: tensor 'm': BOOL element 2 is 2"), std::string::npos) << e.what();
  }
  SafetensorsFile moved = std::move(m);
  EXPECT_EQ(moved.to_i64("ids"), (std::vector<int64_t>{7, -1}));
  EXPECT_THROW(SafetensorsFile::from_tensors("in", {{"a", vkfuse::f32_bytes({3}, f)}, {"a", vkfuse::f32_bytes({3}, f)}}),
               vkfuse::Error);
  EXPECT_THROW(SafetensorsFile::from_tensors("in", {{"a", {vkfuse::DType::F32, {-1}, f.data()}}}), vkfuse::Error);
  EXPECT_THROW(SafetensorsFile::from_tensors("in", {{"a", {vkfuse::DType::F32, {2}, nullptr}}}), vkfuse::Error);
}

TEST(Safetensors, EmptyFileOfNoTensors) {
  const auto f = SafetensorsFile::open(write_file("empty.safetensors", st_bytes("{}", "")));
  EXPECT_TRUE(f.names().empty());
  EXPECT_TRUE(f.metadata().empty());
}

// What other writers may do and the format allows: entry keys in any order, metadata after
// the tensors, a scalar (shape []) and an empty tensor; the same file parsed from memory.
TEST(Safetensors, AcceptsAnyKeyOrderScalarsAndEmptyTensors) {
  const std::string header =
      R"({"b":{"data_offsets":[4,4],"shape":[0,3],"dtype":"I64"},)"
      R"("a":{"shape":[],"dtype":"F32","data_offsets":[0,4]},"__metadata__":{"k":"v"}})";
  const float one = 1.f;
  const std::string bytes = st_bytes(header, std::string(reinterpret_cast<const char*>(&one), 4));
  for (int from_memory = 0; from_memory < 2; ++from_memory) {
    const auto f = from_memory ? SafetensorsFile::parse("mem", bytes.data(), bytes.size())
                               : SafetensorsFile::open(write_file("order.safetensors", bytes));
    ASSERT_EQ(f.names(), (std::vector<std::string>{"a", "b"}));  // in data order
    EXPECT_EQ(f.tensor("a").shape, vkfuse::Shape{});
    EXPECT_EQ(f.to_f32("a"), std::vector<float>{1.f});
    EXPECT_EQ(f.tensor("b").shape, (vkfuse::Shape{0, 3}));
    EXPECT_TRUE(f.to_i64("b").empty());
    EXPECT_EQ(f.metadata().at("k"), "v");
  }
}

TEST(Safetensors, RejectsMalformedFiles) {
  expect_rejected("short", std::string("\x10\0\0", 3), {"3 bytes", "too short"});
  expect_rejected("len_past_end", st_bytes("{" + kA + "}", k8, 1000),
                  {"header length 1000 runs past the end of the file"});
  {
    // Sparse: the header limit must trip before a 100 MB header is parsed.
    const uint64_t n = 100'000'001;
    const std::string path = write_file("huge_header.safetensors", st_bytes("{}", "", n));
    fs::resize_file(path, 8 + n);
    try {
      SafetensorsFile::open(path);
      ADD_FAILURE() << "accepted a 100 MB header";
    } catch (const vkfuse::Error& e) {
      EXPECT_NE(std::string(e.what()).find("header length 100000001 is over the 100000000-byte limit"),
                std::string::npos) << e.what();
    }
    fs::remove(path);
  }
  // Deep nesting and long tokens must give short messages, not a stack overflow.
  // The header is read as a stream: a structure it cannot be stops the read at once.
  expect_rejected("deep_header", st_bytes(std::string(1'000'000, '[') + std::string(1'000'000, ']'), ""),
                  {"header is a JSON array, not an object"});
  expect_rejected("deep_shape",
                  st_bytes(R"({"a":{"dtype":"F32","shape":[)" + std::string(1'000'000, '[') +
                               std::string(1'000'000, ']') + R"(],"data_offsets":[0,0]}})", ""),
                  {"tensor 'a': shape[0] is a JSON array, not a non-negative integer"});
  expect_rejected("rank65", st_bytes(R"({"a":{"dtype":"F32","shape":[)" + [] {
                    std::string d = "1";
                    for (int i = 0; i < 64; ++i) d += ",1";
                    return d;
                  }() + R"(],"data_offsets":[0,4]}})", std::string(4, '\0')),
                  {"tensor 'a': shape has more than 64 dimensions"});
  expect_rejected("long_token", st_bytes("{\"" + std::string(1'000'000, 'x'), ""),
                  {"header is not valid UTF-8 JSON"});
  expect_rejected("bad_json", st_bytes("{\"a\": {", ""), {"header is not valid UTF-8 JSON"});
  expect_rejected("bad_utf8", st_bytes("{\"a\xff\": {}}", ""), {"not valid UTF-8 JSON", "\\xff"});
  expect_rejected("not_object", st_bytes("[1, 2]", ""), {"header is a JSON array, not an object"});
  expect_rejected("entry_not_object", st_bytes(R"({"a": 5})", ""),
                  {"tensor 'a'", "not an object"});
  expect_rejected("missing_dtype", st_bytes(R"({"a":{"shape":[2],"data_offsets":[0,8]}})", k8),
                  {"tensor 'a'", "missing \"dtype\""});
  expect_rejected("dtype_type", st_bytes(R"({"a":{"dtype":4,"shape":[2],"data_offsets":[0,8]}})", k8),
                  {"tensor 'a'", "dtype is a JSON number"});
  expect_rejected("unknown_dtype",
                  st_bytes(R"({"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", k8),
                  {"tensor 'a'", "dtype 'F64' is not one vkfuse reads"});
  expect_rejected("extra_key",
                  st_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", k8),
                  {"tensor 'a'", "unexpected key 'x'"});
  expect_rejected("negative_shape",
                  st_bytes(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", k8),
                  {"tensor 'a'", "shape[0] is -2"});
  expect_rejected("float_shape",
                  st_bytes(R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", k8),
                  {"tensor 'a'", "shape[0] is 2.0, not a non-negative integer"});
  expect_rejected("shape_type", st_bytes(R"({"a":{"dtype":"F32","shape":2,"data_offsets":[0,8]}})", k8),
                  {"tensor 'a'", "shape is a JSON number"});
  expect_rejected("offsets_form",
                  st_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8]}})", k8),
                  {"tensor 'a'", "data_offsets is [8], not [begin, end]"});
  expect_rejected("offsets_reversed",
                  st_bytes(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", k8),
                  {"tensor 'a'", "data_offsets [8, 0] end before they begin"});
  expect_rejected("offsets_outside",
                  st_bytes(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", k8),
                  {"tensor 'a'", "data_offsets [0, 16] run past the end of the data section (8 bytes)"});
  expect_rejected(
      "byte_count",
      st_bytes(R"({"in_proj_weight":{"dtype":"F32","shape":[3,4],"data_offsets":[0,100]}})",
               std::string(100, '\0')),
      {"tensor 'in_proj_weight': data_offsets [0, 100] hold 100 bytes, but F32 [3,4] needs 48"});
  expect_rejected(
      "overflow",
      st_bytes(R"({"a":{"dtype":"F32","shape":[4611686018427387904,8],"data_offsets":[0,8]}})", k8),
      {"tensor 'a'", "is over 2^64 bytes"});
  expect_rejected("overlap",
                  st_bytes(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                           R"("b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
                           std::string(24, '\0')),
                  {"tensor 'b': data_offsets [8, 24] overlap tensor 'a' at [0, 16]"});
  expect_rejected("gap",
                  st_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                           R"("b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}})",
                           std::string(24, '\0')),
                  {"tensor 'b'", "leave bytes [8, 16) of the data section unused"});
  expect_rejected("trailing", st_bytes("{" + kA + "}", std::string(12, '\0')),
                  {"the data section is 12 bytes, but the tensors end at byte 8"});
  expect_rejected("duplicate_name", st_bytes("{" + kA + "," + kA + "}", k8),
                  {"duplicate tensor name 'a'"});
  expect_rejected("duplicate_key",
                  st_bytes(R"({"a":{"dtype":"F32","dtype":"F16","shape":[2],"data_offsets":[0,8]}})", k8),
                  {"tensor 'a': duplicate key 'dtype'"});
  expect_rejected("metadata_type", st_bytes(R"({"__metadata__":[1],)" + kA + "}", k8),
                  {"__metadata__ is a JSON array, not an object of strings"});
  expect_rejected("metadata_value", st_bytes(R"({"__metadata__":{"k":1},)" + kA + "}", k8),
                  {"__metadata__ 'k' is a JSON number, not a string"});
  expect_rejected("metadata_duplicate",
                  st_bytes(R"({"__metadata__":{"k":"1","k":"2"},)" + kA + "}", k8),
                  {"__metadata__: duplicate key 'k'"});
  expect_rejected("control_char_name",
                  st_bytes(R"({"a\nb":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", k8),
                  {"tensor 'a\\x0ab'"});
  try {
    SafetensorsFile::open((temp_dir() / "does_not_exist.safetensors").string());
    ADD_FAILURE() << "opened a missing file";
  } catch (const vkfuse::Error& e) {
    EXPECT_NE(std::string(e.what()).find("does_not_exist.safetensors: cannot open"),
              std::string::npos);
  }
}
