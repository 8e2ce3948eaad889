#pragma once
// A safetensors header read as a stream of JSON events straight into tensor entries: linear
// in the header's size, with no JSON tree (one of 150,000 tensors took 150 MB as a tree), and
// every malformed entry one message naming the tensor.
#include <map>
#include <string>
#include <vector>

#include "vkfuse/safetensors.hpp"

namespace vkfuse::detail {

// Past these a header is corruption or an attack: PyTorch's tensors have at most 64
// dimensions, and the largest checkpoints hold tens of thousands of tensors.
constexpr size_t kMaxRank = 64;
constexpr size_t kMaxTensors = 1'000'000;

// Reads the header text (already checked for a BOM and NUL bytes) into `tensors` (data
// pointers left null, offsets relative to the data section, each checked against
// data_size), `index` (each name once) and `metadata`. Errors: "<path>: <what>".
void read_header(const char* text, size_t size, uint64_t data_size, const std::string& path,
                 std::vector<SafetensorsFile::TensorInfo>& tensors, std::map<std::string, size_t>& index,
                 std::map<std::string, std::string>& metadata);

}  // namespace vkfuse::detail
