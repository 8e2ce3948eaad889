// A node's attributes by name, typed (graph.h).
#include "graph/graph.h"

namespace vkfuse::detail::graph {

const onnx::Attribute* Attrs::find(const std::string& name) const {
  for (const auto& a : a_)
    if (a.name == name) return &a;
  return nullptr;
}

int64_t Attrs::i(const std::string& name, int64_t dflt) const {
  const auto* a = find(name);
  return a ? a->i : dflt;
}

float Attrs::f(const std::string& name, float dflt) const {
  const auto* a = find(name);
  return a ? a->f : dflt;
}

std::string Attrs::s(const std::string& name, const std::string& dflt) const {
  const auto* a = find(name);
  return a ? a->s : dflt;
}

std::vector<int64_t> Attrs::ints(const std::string& name, std::vector<int64_t> dflt) const {
  const auto* a = find(name);
  return a ? a->ints : dflt;
}

std::vector<float> Attrs::floats(const std::string& name, std::vector<float> dflt) const {
  const auto* a = find(name);
  return a ? a->floats : dflt;
}

const HostArray* Attrs::tensor(const std::string& name) const {
  const auto* a = find(name);
  return a && !a->t.empty() ? &a->t.front() : nullptr;
}

namespace {
onnx::Attribute& slot(std::vector<onnx::Attribute>& all, const std::string& name, onnx::AttrType type) {
  for (auto& a : all)
    if (a.name == name) {
      a.type = type;
      return a;
    }
  all.push_back({});
  all.back().name = name;
  all.back().type = type;
  return all.back();
}
}  // namespace

void Attrs::set_int(const std::string& name, int64_t v) { slot(a_, name, onnx::AttrType::Int).i = v; }
void Attrs::set_float(const std::string& name, float v) { slot(a_, name, onnx::AttrType::Float).f = v; }
void Attrs::set_string(const std::string& name, std::string v) {
  slot(a_, name, onnx::AttrType::String).s = std::move(v);
}
void Attrs::set_ints(const std::string& name, std::vector<int64_t> v) {
  slot(a_, name, onnx::AttrType::Ints).ints = std::move(v);
}

}  // namespace vkfuse::detail::graph
