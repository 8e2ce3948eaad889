// The registry: every arch by the name model files give it, and the function in its file
// (engine/models/archs/<name>.cpp) that reads its config. Adding an arch is one line here.
#include "models/arch.h"
#include "vkfuse/error.hpp"

#define VKFUSE_ARCHS(X)                              \
  X("multihead_attention", multihead_attention)      \
  X("transformer_encoder", transformer_encoder)      \
  X("transformer_decoder", transformer_decoder)      \
  X("vision_text_fusion", vision_text_fusion)        \
  X("vit", vit)                                      \
  X("clip", clip)                                    \
  X("bert", bert)

namespace vkfuse::detail {

#define VKFUSE_DECLARE_ARCH(name, fn) std::unique_ptr<Arch> parse_##fn(ConfigReader& config);
VKFUSE_ARCHS(VKFUSE_DECLARE_ARCH)
#undef VKFUSE_DECLARE_ARCH

namespace {
struct Entry {
  const char* name;
  std::unique_ptr<Arch> (*parse)(ConfigReader&);
};
#define VKFUSE_ARCH_ENTRY(name, fn) {name, parse_##fn},
constexpr Entry kArchs[] = {VKFUSE_ARCHS(VKFUSE_ARCH_ENTRY)};
#undef VKFUSE_ARCH_ENTRY
}  // namespace

std::vector<std::string> arch_names() {
  std::vector<std::string> names;
  for (const Entry& e : kArchs) names.push_back(e.name);
  return names;
}

std::unique_ptr<Arch> parse_arch(const std::string& name, ConfigReader& config) {
  for (const Entry& e : kArchs)
    if (name == e.name) return e.parse(config);
  std::string list;
  for (const Entry& e : kArchs) list += std::string(list.empty() ? "" : ", ") + e.name;
  throw Error(config.where() + ": arch '" + name + "' is not supported (supported: " + list + ")");
}

}  // namespace vkfuse::detail
