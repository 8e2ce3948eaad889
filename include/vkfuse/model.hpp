#pragma once
// Model files (docs/model-format.md §2): a safetensors file whose metadata key `vkfuse.config`
// holds the architecture's config as JSON and whose tensors are the PyTorch state_dict().
#include <any>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "vkfuse/context.hpp"
#include "vkfuse/error.hpp"
#include "vkfuse/fusion.hpp"
#include "vkfuse/multihead_attention.hpp"
#include "vkfuse/safetensors.hpp"
#include "vkfuse/transformer.hpp"

namespace vkfuse {

// A host tensor: what `vkfuse run` reads from and writes to files. F32 (in data), or I64 or
// Bool (in ints, bool as 0/1) for the integer outputs of an ONNX graph (ArgMax, TopK's
// indices, a comparison).
struct HostTensor {
  Shape shape;
  std::vector<float> data;
  DType dtype = DType::F32;
  std::vector<int64_t> ints;
};
using HostTensors = std::map<std::string, HostTensor>;

// A loaded model. Copies share the loaded weights (they are cheap), and every Session holds
// one, so the model lives as long as anything that runs it.
class Model {
 public:
  // Reads and checks the file: every config key known to the arch with its type (an unknown
  // key is an error), every tensor present with the shape the config implies, none
  // unexpected. Only the header is read here; the weights (F16 and BF16 widened to F32 once)
  // when a session or the CPU reference first needs them.
  static Model load(const std::string& path);
  // The same from a file already opened or parsed from memory (SafetensorsFile::parse).
  static Model load(SafetensorsFile file);

  // The state_dict() names and shapes a config (the JSON of vkfuse.config) needs: what a
  // converter or a benchmark with random weights must write. Optional tensors (BERT's
  // pooler) are left out. Errors as load() gives them for the config.
  static std::vector<std::pair<std::string, Shape>> tensors_for(const std::string& config_json);

  const std::string& path() const;
  const std::string& arch() const;         // the arch's name in the file
  // The input that takes pictures [B, C, H, W]: "pixel_values" (vit, clip), "image"
  // (vision_text_fusion).
  std::string image_input() const;
  const std::string& config_json() const;  // as stored in the file
  // Every metadata string of the file (vkfuse.config, and what the exporter added, such as
  // vkfuse.vocab and vkfuse.image_preprocess; docs/model-format.md).
  const std::map<std::string, std::string>& metadata() const;
  const WeightMap& weights() const;  // converted on the first call
  // F16 or BF16 where the file stores every tensor of rank 2 or more so, else F32: the dtype a
  // Session keeps the weight matrices in on the device (values widened from a 16-bit file
  // narrow back exactly, so keeping them 16-bit loses nothing).
  DType weight_dtype() const;

  // The arch's parsed config: FusionConfig for vision_text_fusion, TransformerConfig for
  // transformer_encoder and _decoder, MultiheadAttentionConfig for multihead_attention. An
  // Error when the model's arch has no config of type T.
  template <class T> const T& config() const {
    const T* c = std::any_cast<T>(&config_any());
    if (!c) throw Error(path() + ": arch " + arch() + " has no config of the type asked for");
    return *c;
  }
  const std::any& config_any() const;

  // What `vkfuse info` shows of an ONNX graph (its opset and producer, the inputs and outputs
  // with dtypes and shapes, symbolic dims by name, each op type with its node count and
  // whether it runs on the GPU or the host); "" for the other archs.
  std::string graph_summary() const;
  // The inputs an ONNX graph declares, in order: the name, the dtype a run takes for it (F32
  // for floating types, I64 for integers, Bool), and the shape with -1 for a symbolic or
  // unknown dim (has_shape false where the graph declares none). Empty for the archs, whose
  // inputs docs/model-format.md §2 lists.
  struct GraphInput {
    std::string name;
    DType dtype = DType::F32;
    Shape shape;
    bool has_shape = false;
  };
  std::vector<GraphInput> graph_inputs() const;

  // The forward pass on named inputs (docs/model-format.md §2 lists them per arch), on the
  // GPU or, without a context, on the CPU reference. Outputs by name; the attention weights
  // too when need_weights. Errors name the input and what is wrong.
  HostTensors run(const SafetensorsFile& inputs, bool need_weights, Context* gpu) const;

  struct State;  // engine/models/model_state.h
  const State& state() const { return *state_; }

 private:
  Model() = default;
  std::shared_ptr<const State> state_;
};

}  // namespace vkfuse
