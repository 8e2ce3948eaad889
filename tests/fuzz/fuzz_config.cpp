// libFuzzer target: any bytes as a model's config (vkfuse.config), with the tensors of one of
// the seven fixtures (the first byte picks it). Model::load either refuses it with one
// vkfuse::Error or accepts a config whose every key it knows.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fixtures.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const std::vector<vkfuse::SafetensorsFile> files = [] {
    std::vector<vkfuse::SafetensorsFile> f;
    for (const auto& p : fuzz::fixture_paths()) f.push_back(vkfuse::SafetensorsFile::open(p));
    return f;
  }();
  const auto& file = files[data[0] % files.size()];
  std::vector<std::pair<std::string, vkfuse::TensorBytes>> tensors;
  for (const auto& n : file.names()) {
    const auto& t = file.tensor(n);
    tensors.push_back({n, {t.dtype, t.shape, t.data}});
  }
  const std::string config(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    vkfuse::Model::load(vkfuse::SafetensorsFile::from_tensors("fuzz", tensors, {{"vkfuse.config", config}}));
  } catch (const vkfuse::Error&) {
  }
  return 0;
}
