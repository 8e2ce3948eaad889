// The op table: every family's entries in one map by op type (op_table.h).
#include "graph/op_table.h"

#include <map>
#include <memory>
#include <mutex>

#include "io/message_text.h"

namespace vkfuse::detail::graph {

const TypeShape& NodeCtx::in(size_t k) const {
  if (!has(k)) fail("input " + std::to_string(k) + " is required");
  return *in_[k];
}

void NodeCtx::fail(const std::string& what) const { throw Error(graph.where(node) + ": " + what); }

const HostArray& NodeCtx::need(size_t k, const char* what) const {
  const HostArray* v = value(k);
  if (!v)
    fail(std::string("input ") + std::to_string(k) + " (" + what +
         ") must be known when the graph is recorded: a constant, or computed from shapes; here it is computed "
         "from the data of a run, which vkfuse does not take");
  return *v;
}

std::vector<int64_t> NodeCtx::ints(size_t k, const char* what) const {
  const HostArray& a = need(k, what);
  if (a.is_float()) fail(std::string("input ") + std::to_string(k) + " (" + what + ") should be integers");
  return a.i;
}

std::vector<double> NodeCtx::reals(size_t k, const char* what) const {
  const HostArray& a = need(k, what);
  std::vector<double> r(size_t(a.numel()));
  for (size_t e = 0; e < r.size(); ++e) r[e] = a.at(int64_t(e));
  return r;
}

int64_t NodeCtx::axis(int64_t a, int64_t rank, const char* what) const {
  if (a < -rank || a >= std::max<int64_t>(rank, 1))
    fail(std::string(what) + " " + std::to_string(a) + " is outside rank " + std::to_string(rank));
  return a < 0 ? a + rank : a;
}

HostArray make_array(Elem type, Shape shape) { return HostArray::zeros(type, std::move(shape)); }

HostArray wrap_array(Elem type, ref::Array a) {
  HostArray h(type, std::move(a));
  // A reference gives floats or int64s; a value of another integer type keeps its range.
  if (!h.is_float() && type != Elem::Int64)
    for (auto& v : h.i) v = wrap_to(type, v);
  if (h.is_float() && h.f.size() != size_t(h.numel())) h.f.resize(size_t(h.numel()));
  return h;
}

namespace {

struct Table {
  std::vector<OpDef> defs;
  std::map<std::string, const OpDef*> by_name;
};

const Table& table() {
  static const Table t = [] {
    Table r;
    for (auto family : {pointwise_ops, conv_ops, matmul_ops, norm_ops, reduce_ops, shape_ops, movement_ops, resize_ops,
                        other_ops, attention_ops}) {
      auto defs = family();
      r.defs.insert(r.defs.end(), std::make_move_iterator(defs.begin()), std::make_move_iterator(defs.end()));
    }
    for (const OpDef& d : r.defs)
      if (!r.by_name.emplace(d.name, &d).second)
        throw Error(std::string("op table: ") + d.name + " is defined twice (a bug in vkfuse)");
    return r;
  }();
  return t;
}

}  // namespace

bool is_vkfuse_op(const std::string& name) { return name.rfind("vkfuse.", 0) == 0; }

const OpDef* find_op(const std::string& name) { return is_vkfuse_op(name) ? nullptr : find_any_op(name); }

const OpDef* find_any_op(const std::string& name) {
  const auto& t = table();
  auto it = t.by_name.find(name);
  return it == t.by_name.end() ? nullptr : it->second;
}

std::vector<const OpDef*> all_ops() {
  std::vector<const OpDef*> r;
  for (const auto& [name, def] : table().by_name)
    if (!is_vkfuse_op(name)) r.push_back(def);
  return r;
}

}  // namespace vkfuse::detail::graph
