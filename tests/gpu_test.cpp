#include "gpu_test.hpp"

namespace vkt {

namespace {
std::map<Mode, std::unique_ptr<vkfuse::Context>>& contexts() {
  static std::map<Mode, std::unique_ptr<vkfuse::Context>> c;
  return c;
}

// The shared contexts go before main() returns: destroyed during static destruction, after
// the validation layer's own statics, several instances crash inside the layer.
class ContextTeardown : public ::testing::Environment {
 public:
  void TearDown() override { contexts().clear(); }
};
const auto* const kTeardown = ::testing::AddGlobalTestEnvironment(new ContextTeardown);
}  // namespace

std::vector<std::string>& messages() {
  static std::vector<std::string> m;
  return m;
}

vkfuse::Context& context(Mode m) {
  auto& c = contexts()[m];
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
  c->set_weight_dtype(vkfuse::DType::F32);
  return *c;
}

}  // namespace vkt
