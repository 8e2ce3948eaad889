#include "gpu_test.hpp"

namespace vkt {

std::vector<std::string>& messages() {
  static std::vector<std::string> m;
  return m;
}

vkfuse::Context& context(Mode m) {
  static std::map<Mode, std::unique_ptr<vkfuse::Context>> contexts;
  auto& c = contexts[m];
  if (!c) {
    vkfuse::Options o;
    o.validation = true;
    o.portable = m == Mode::Portable;
    o.force_staging = m == Mode::Staged;
    o.pipeline_cache_dir = "none";
    o.on_message = [](vkfuse::MessageSeverity, const std::string& msg) { messages().push_back(msg); };
    c = std::make_unique<vkfuse::Context>(o);
  }
  c->tuning() = vkfuse::choose_tuning(c->device(), c->caps());
  return *c;
}

}  // namespace vkt
