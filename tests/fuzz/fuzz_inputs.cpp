// libFuzzer target: any bytes as an input file, prepared by each of the seven fixture archs
// (names, dtypes, shapes, ids, masks checked), and run on the CPU reference when small. Each
// either refuses the input with one vkfuse::Error or computes.
#include <cstddef>
#include <cstdint>

#include "fixtures.hpp"
#include "models/model_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto file = vkfuse::SafetensorsFile::parse("fuzz", data, size);
    const auto in = vkfuse::detail::InputSet::of(file);
    for (const auto& model : fuzz::fixtures()) {
      for (bool need_weights : {false, true}) {
        try {
          const auto p = model.state().arch->prepare(in, need_weights);
          int64_t work = 0;
          for (const auto& [name, x] : p.inputs) work += vkfuse::shape_numel(x.shape);
          for (const auto& [name, o] : p.outputs) work += vkfuse::shape_numel(o.shape);
          if (work < 4096) vkfuse::detail::run_cpu(model, p);
        } catch (const vkfuse::Error&) {
        }
      }
    }
  } catch (const vkfuse::Error&) {
  }
  return 0;
}
