// The optimization passes: a plan's nodes become steps (lower.h), each one kernel's worth of
// work. In order:
//  1. patterns onto fused kernels: the attention of Q, K and V (MatMul, scales, masks,
//     Softmax, MatMul) becomes one fused attention step (ops::attention: the score matrix is
//     never stored); the LayerNorm that exporters before opset 17 write as
//     ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add becomes one
//     LayerNormalization; the exact GELU written as Div(√2), Erf, Add(1), Mul(x), Mul(0.5)
//     becomes one Gelu;
//  2. epilogues: a Conv takes the BatchNormalization that follows it (constant statistics and
//     weights: folded into the weights and bias when it is lowered); a Conv, MatMul or Gemm
//     then takes the Add of a constant bias, then an activation, then the Add of a residual of
//     its shape that follow it, when each is the only reader of the one before;
//  3. placement: a step whose op has no kernel, or that must make an output only the
//     reference makes, or whose op type the options force, runs on the host.
// (A batch norm after anything else is one multiply-add. Reshapes, transposes, slices and
// expands are views: see their lowerings.)
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "graph/lower.h"

namespace vkfuse::detail::graph {

namespace {

struct Uses {
  std::vector<std::vector<size_t>> readers;  // per value: the indices of the plan's nodes that read it
  std::vector<bool> output;                  // per value: a graph output
};

Uses uses_of(const Graph& g, const Plan& p) {
  Uses u;
  u.readers.resize(g.names.size());
  u.output.assign(g.names.size(), false);
  for (size_t k = 0; k < p.nodes.size(); ++k)
    for (ValueId v : p.nodes[k]->inputs)
      if (v != kNone && (u.readers[size_t(v)].empty() || u.readers[size_t(v)].back() != k)) u.readers[size_t(v)].push_back(k);
  for (const Decl& d : g.outputs) u.output[size_t(d.id)] = true;
  return u;
}

// The one node that reads v (none when v is a graph output or read by several).
const Node* only_reader(const Plan& p, const Uses& u, ValueId v) {
  if (v == kNone || u.output[size_t(v)] || u.readers[size_t(v)].size() != 1) return nullptr;
  return p.nodes[u.readers[size_t(v)][0]];
}

const HostArray* known(const Plan& p, ValueId v) { return v == kNone ? nullptr : p.known[size_t(v)].get(); }

// Whether v is a known scalar (any shape of one element) within 1e-6 of `want`.
bool is_scalar(const Plan& p, ValueId v, double want) {
  const HostArray* a = known(p, v);
  return a && a->numel() == 1 && std::fabs(a->at(0) - want) <= 1e-6 * std::max(1.0, std::fabs(want));
}

// The input of a binary node other than `v` (kNone when both or neither are v).
ValueId other(const Node& n, ValueId v) {
  if (n.inputs.size() != 2) return kNone;
  if (n.inputs[0] == v && n.inputs[1] != v) return n.inputs[1];
  if (n.inputs[1] == v && n.inputs[0] != v) return n.inputs[0];
  return kNone;
}

bool is(const Node* n, const char* op) { return n && n->op_type == op; }

// A made node: op type `op` from `first`'s place, reading `in`, writing `out`.
std::shared_ptr<Node> made_node(const char* op, const Node& first, std::vector<ValueId> in, ValueId out) {
  auto n = std::make_shared<Node>();
  n->op_type = op;
  n->op = find_op(op);
  if (!n->op) throw Error(std::string("graph passes: no op ") + op + " (a bug in vkfuse)");
  n->name = first.name;
  n->inputs = std::move(in);
  n->outputs = {out};
  n->index = first.index;
  return n;
}

// GELU, exact: y = x · (erf(x / √2) + 1) · 0.5, with the Mul of 0.5 first or last.
bool match_gelu(const Plan& p, const Uses& u, const Node& div, std::vector<const Node*>& nodes,
                std::shared_ptr<Node>& made) {
  if (!is(&div, "Div") || div.inputs.size() != 2 || !is_scalar(p, div.inputs[1], std::sqrt(2.0))) return false;
  const ValueId x = div.inputs[0];
  const Node* erf = only_reader(p, u, div.outputs[0]);
  if (!is(erf, "Erf")) return false;
  const Node* add = only_reader(p, u, erf->outputs[0]);
  if (!is(add, "Add") || !is_scalar(p, other(*add, erf->outputs[0]), 1.0)) return false;
  const Node* m1 = only_reader(p, u, add->outputs[0]);
  if (!is(m1, "Mul")) return false;
  const ValueId o1 = other(*m1, add->outputs[0]);
  const Node* m2 = only_reader(p, u, m1->outputs[0]);
  if (o1 == x && is(m2, "Mul") && is_scalar(p, other(*m2, m1->outputs[0]), 0.5)) {
    nodes = {&div, erf, add, m1, m2};
    made = made_node("Gelu", div, {x}, m2->outputs[0]);
    return true;
  }
  return false;
}

// LayerNorm over the last axis: mean = ReduceMean(x); d = x - mean; var = ReduceMean(d^2);
// y = d / sqrt(var + eps) · w + b.
bool match_layer_norm(const Plan& p, const Uses& u, const Node& mean, std::vector<const Node*>& nodes,
                      std::shared_ptr<Node>& made) {
  if (!is(&mean, "ReduceMean") || mean.inputs.size() != 1) return false;
  const ValueId x = mean.inputs[0];
  const TypeShape& xs = p.info[size_t(x)];
  const int64_t r = int64_t(xs.shape.size());
  auto last_axis = [&](const Node& n) {
    const auto axes = n.attrs.ints("axes");
    return axes.size() == 1 && (axes[0] == -1 || axes[0] == r - 1) && n.attrs.i("keepdims", 1) == 1;
  };
  if (r < 1 || !elem_is_float(xs.type) || !last_axis(mean)) return false;
  // Sub reads x and the mean; x has other readers (the Sub), the mean only the Sub.
  const Node* sub = only_reader(p, u, mean.outputs[0]);
  if (!is(sub, "Sub") || sub->inputs[0] != x || sub->inputs[1] != mean.outputs[0]) return false;
  const ValueId d = sub->outputs[0];
  if (u.output[size_t(d)] || u.readers[size_t(d)].size() != 2) return false;
  const Node *pow = nullptr, *div = nullptr;
  for (size_t k : u.readers[size_t(d)]) {
    const Node* n = p.nodes[k];
    if (is(n, "Pow") && n->inputs[0] == d && is_scalar(p, n->inputs[1], 2.0)) pow = n;
    else if (is(n, "Div") && n->inputs[0] == d) div = n;
  }
  if (!pow || !div) return false;
  const Node* var = only_reader(p, u, pow->outputs[0]);
  if (!is(var, "ReduceMean") || !last_axis(*var)) return false;
  const Node* add = only_reader(p, u, var->outputs[0]);
  if (!is(add, "Add")) return false;
  const HostArray* eps = known(p, other(*add, var->outputs[0]));
  if (!eps || eps->numel() != 1) return false;
  const Node* sq = only_reader(p, u, add->outputs[0]);
  if (!is(sq, "Sqrt") || only_reader(p, u, sq->outputs[0]) != div || div->inputs[1] != sq->outputs[0]) return false;
  const Node* mul = only_reader(p, u, div->outputs[0]);
  if (!is(mul, "Mul")) return false;
  const ValueId w = other(*mul, div->outputs[0]);
  const Node* badd = only_reader(p, u, mul->outputs[0]);
  auto param = [&](ValueId v) {
    const HostArray* a = known(p, v);
    return a && a->is_float() && shape_numel(a->shape) == xs.shape.back() && a->shape.size() <= 1;
  };
  if (!param(w)) return false;
  nodes = {&mean, sub, pow, var, add, sq, div, mul};
  ValueId b = kNone, out = mul->outputs[0];
  if (is(badd, "Add") && param(other(*badd, mul->outputs[0]))) {
    b = other(*badd, mul->outputs[0]);
    out = badd->outputs[0];
    nodes.push_back(badd);
  }
  std::vector<ValueId> in = {x, w};
  if (b != kNone) in.push_back(b);
  auto n = made_node("LayerNormalization", mean, in, out);
  n->attrs.set_int("axis", -1);
  n->attrs.set_float("epsilon", float(eps->at(0)));
  made = n;
  return true;
}

// Attention: O = Softmax(s · Q·Kᵀ + masks, over the keys) · V, as torch.onnx.export writes
// nn.MultiheadAttention ([N = B·H, L, D]) and Hugging Face's BERT, ViT and CLIP write their
// self-attention ([B, H, L, D]): s the product of the constant scalars the pattern multiplies
// or divides Q, Kᵀ or the scores by; each mask added to the scaled scores a key padding row
// per batch entry ([B|1, 1, 1, S]) or one [L, S] for all. Every value inside the pattern is
// read only by the next node of it. `last` is the second MatMul, where the step goes (the
// masks may be computed after the first nodes of the pattern).
struct AttentionMatch {
  std::vector<const Node*> nodes;
  const Node* last = nullptr;
  std::shared_ptr<Node> made;
};

bool match_attention(const Graph& g, const Plan& p, const Uses& u, const std::vector<const Node*>& producer,
                     const Node& sm, const LowerOptions& o, AttentionMatch& m) {
  if (!is(&sm, "Softmax") || sm.inputs.size() != 1 || sm.outputs.size() != 1) return false;
  const ValueId probs = sm.outputs[0];
  const Shape& ps = p.info[size_t(probs)].shape;
  const int64_t rank = int64_t(ps.size());
  if ((rank != 3 && rank != 4) || !elem_is_float(p.info[size_t(probs)].type)) return false;
  // Before opset 13 Softmax flattens from its axis (default 1): over the last axis alike.
  int64_t axis = sm.attrs.i("axis", g.opset >= 13 ? -1 : 1);
  if (axis < 0) axis += rank;
  if (axis != rank - 1) return false;
  const Node* mm2 = only_reader(p, u, probs);
  if (!is(mm2, "MatMul") || mm2->inputs[0] != probs) return false;
  std::vector<const Node*> nodes = {&sm, mm2};
  double scale = 1;
  // Mul or Div of v's producer by a constant scalar, while v is read by `next` alone.
  auto scalars = [&](ValueId& v, const Node* next) {
    while (v != kNone && producer[size_t(v)] && only_reader(p, u, v) == next) {
      const Node* n = producer[size_t(v)];
      const bool mul = is(n, "Mul"), div = is(n, "Div");
      if ((!mul && !div) || n->inputs.size() != 2) return;
      int k = -1;
      for (int i = div ? 1 : 0; i < 2 && k < 0; ++i) {
        const HostArray* c = known(p, n->inputs[size_t(i)]);
        if (c && c->is_float() && c->numel() == 1 && p.info[size_t(n->inputs[size_t(1 - i)])].shape == p.info[size_t(v)].shape)
          k = i;
      }
      if (k < 0) return;
      const double c = known(p, n->inputs[size_t(k)])->at(0);
      scale *= mul ? c : 1.0 / c;
      nodes.push_back(n);
      next = n;
      v = n->inputs[size_t(1 - k)];
    }
  };
  // Whether v comes from a MatMul through scalar scales and Adds (the scores' side of an Add).
  std::function<bool(ValueId, int)> from_matmul = [&](ValueId v, int depth) {
    const Node* n = v == kNone ? nullptr : producer[size_t(v)];
    if (!n || depth > 8) return false;
    if (is(n, "MatMul")) return true;
    if (!is(n, "Mul") && !is(n, "Div") && !is(n, "Add")) return false;
    return from_matmul(n->inputs[0], depth + 1) || (n->inputs.size() > 1 && from_matmul(n->inputs[1], depth + 1));
  };
  ValueId x = sm.inputs[0];
  const Node* next = &sm;
  // The mask Adds, nearest the Softmax first; at most one mask of each kind.
  std::vector<ValueId> masks;
  std::vector<int64_t> kinds;
  while (x != kNone && is(producer[size_t(x)], "Add") && only_reader(p, u, x) == next) {
    const Node* add = producer[size_t(x)];
    if (add->inputs.size() != 2) return false;
    int side = -1;
    for (int i = 0; i < 2; ++i)
      if (p.info[size_t(add->inputs[size_t(i)])].shape == ps && from_matmul(add->inputs[size_t(i)], 0) &&
          !from_matmul(add->inputs[size_t(1 - i)], 0))
        side = i;
    if (side < 0) return false;
    const ValueId mask = add->inputs[size_t(1 - side)];
    if (!elem_is_float(p.info[size_t(mask)].type)) return false;
    Shape ms = p.info[size_t(mask)].shape;
    if (int64_t(ms.size()) > rank) return false;
    ms.insert(ms.begin(), size_t(rank - int64_t(ms.size())), 1);
    const int64_t len = ps[size_t(rank - 2)], keys = ps.back();
    bool rows_one = ms[size_t(rank - 2)] == 1 && ms.back() == keys, batch_ok = ms[0] == 1 || ms[0] == ps[0];
    if (rank == 4) rows_one = rows_one && ms[1] == 1;
    bool shared = ms[size_t(rank - 2)] == len && ms.back() == keys && ms[0] == 1 && (rank == 3 || ms[1] == 1);
    int64_t kind = rows_one && batch_ok ? 0 : shared ? 1 : -1;
    if (kind < 0 || std::find(kinds.begin(), kinds.end(), kind) != kinds.end()) return false;
    masks.push_back(mask);
    kinds.push_back(kind);
    nodes.push_back(add);
    next = add;
    x = add->inputs[size_t(side)];
  }
  scalars(x, next);
  const Node* mm1 = x == kNone ? nullptr : producer[size_t(x)];
  if (!is(mm1, "MatMul") || only_reader(p, u, x) != (nodes.size() > 2 ? nodes.back() : &sm)) return false;
  nodes.push_back(mm1);
  ValueId q = mm1->inputs[0], kt = mm1->inputs[1];
  if (q == kt) return false;
  scalars(q, mm1);
  scalars(kt, mm1);
  const ValueId v = mm2->inputs[1];
  if (v == probs) return false;  // P·P: V would be the pattern's own value
  const Shape &qs = p.info[size_t(q)].shape, &ks = p.info[size_t(kt)].shape, &vs = p.info[size_t(v)].shape;
  if (qs.size() != ps.size() || ks.size() != ps.size() || vs.size() != ps.size()) return false;
  for (size_t d = 0; d + 2 < ps.size(); ++d)
    if (qs[d] != ps[d] || ks[d] != ps[d] || vs[d] != ps[d]) return false;
  const int64_t len = ps[ps.size() - 2], keys = ps.back(), dim = qs.back();
  if (qs[qs.size() - 2] != len || ks[ks.size() - 2] != dim || ks.back() != keys || vs[vs.size() - 2] != keys ||
      vs.back() != dim)
    return false;
  for (ValueId t : {q, kt, v})
    if (!elem_is_float(p.info[size_t(t)].type)) return false;
  if (!(std::isfinite(scale) && scale != 0) || !fused_attention_fits(keys, dim)) return false;
  for (const Node* n : nodes)
    for (const std::string& t : o.host_ops)
      if (t == n->op_type) return false;  // a test that keeps one of them on the host
  std::sort(nodes.begin(), nodes.end(), [](const Node* a, const Node* b) { return a->index < b->index; });
  auto n = std::make_shared<Node>();
  n->op_type = "vkfuse.Attention";
  n->op = &fused_attention_op();
  n->name = mm1->name;
  n->inputs = {q, kt, v};
  n->inputs.insert(n->inputs.end(), masks.begin(), masks.end());
  n->outputs = {mm2->outputs[0]};
  n->index = mm2->index;
  n->attrs.set_float("scale", float(scale));
  n->attrs.set_ints("masks", kinds);
  // The heads merged next (a Transpose of L before the heads, then a Reshape): the kernel
  // writes that layout, so the Transpose and the Reshape after it are views.
  const Node* t = only_reader(p, u, mm2->outputs[0]);
  const std::vector<int64_t> merge = rank == 3 ? std::vector<int64_t>{1, 0, 2} : std::vector<int64_t>{0, 2, 1, 3};
  if (is(t, "Transpose") && t->attrs.ints("perm") == merge) n->attrs.set_int("heads_merged", 1);
  m.nodes = std::move(nodes);
  m.last = mm2;
  m.made = std::move(n);
  return true;
}

// Whether a BatchNormalization can fold into the Conv it reads: the Conv's weights (and bias)
// and the norm's scale, B, mean and variance are all constants of the graph (the folded
// weights are uploaded once for every recording), and only its Y is used (the training
// outputs of opsets before 14 are left unread).
bool foldable_batch_norm(const Graph& g, const Plan& p, const Uses& u, const Node& conv, const Node& bn) {
  auto constant = [&](ValueId v) { return v != kNone && g.constant(v) && g.constant(v) == known(p, v) && g.constant(v)->is_float(); };
  if (conv.inputs.size() < 2 || !constant(conv.inputs[1])) return false;
  if (conv.inputs.size() > 2 && conv.inputs[2] != kNone && !constant(conv.inputs[2])) return false;
  if (bn.inputs.size() != 5) return false;
  for (size_t k = 1; k < 5; ++k)
    if (!constant(bn.inputs[k])) return false;
  for (size_t k = 1; k < bn.outputs.size(); ++k) {
    const ValueId v = bn.outputs[k];
    if (v != kNone && (u.output[size_t(v)] || !u.readers[size_t(v)].empty())) return false;
  }
  return true;
}

bool has_epilogue(const Plan& p, const Step& s) {
  const std::string& t = s.node->op_type;
  if (t == "Conv" || t == "MatMul") return true;
  if (t != "Gemm") return false;
  if (s.inputs.size() < 3 || s.inputs[2] == kNone) return true;
  // A Gemm's own C joins the epilogue as its bias where it is a constant row (nn.Linear's
  // bias, as the archs' graphs write it); any other C runs its own way.
  const ValueId c = s.inputs[2];
  const Shape& cs = p.info[size_t(c)].shape;
  const int64_t n = p.info[size_t(s.outputs[0])].shape.back();
  return p.known[size_t(c)] && (shape_numel(cs) == 1 || cs == Shape{n} || cs == Shape{1, n});
}

}  // namespace

std::vector<Step> make_steps(const Graph& g, const Plan& p, const LowerOptions& o) {
  const Uses u = uses_of(g, p);
  std::set<const Node*> absorbed;
  std::vector<Step> steps;
  std::vector<int> step_of(g.names.size(), -1);  // value -> the step that makes it
  auto new_step = [&](const Node& n, std::shared_ptr<Node> made, std::vector<const Node*> nodes) {
    Step s;
    s.made = std::move(made);
    s.node = s.made ? s.made.get() : &n;
    s.op = s.node->op;
    s.inputs = s.node->inputs;
    s.outputs = s.node->outputs;
    s.nodes = std::move(nodes);
    if (s.nodes.empty()) s.nodes = {&n};
    for (const Node* m : s.nodes) absorbed.insert(m);
    steps.push_back(std::move(s));
  };
  // Attention first: its step goes where its last node is, and its other nodes wait for it.
  std::map<const Node*, AttentionMatch> attention_at;
  std::set<const Node*> in_attention;
  if (o.fuse) {
    std::vector<const Node*> producer(g.names.size(), nullptr);
    for (const Node* n : p.nodes)
      for (ValueId v : n->outputs)
        if (v != kNone) producer[size_t(v)] = n;
    for (const Node* n : p.nodes) {
      AttentionMatch m;
      if (!is(n, "Softmax") || !match_attention(g, p, u, producer, *n, o, m)) continue;
      bool taken = false;
      for (const Node* x : m.nodes) taken = taken || in_attention.count(x);
      if (taken) continue;
      in_attention.insert(m.nodes.begin(), m.nodes.end());
      attention_at[m.last] = std::move(m);
    }
  }
  for (const Node* n : p.nodes) {
    if (absorbed.count(n)) continue;
    std::vector<const Node*> nodes;
    std::shared_ptr<Node> made;
    if (auto at = attention_at.find(n); at != attention_at.end()) {
      new_step(*n, at->second.made, at->second.nodes);
    } else if (in_attention.count(n)) {
      continue;
    } else if (o.fuse && (match_gelu(p, u, *n, nodes, made) || match_layer_norm(p, u, *n, nodes, made))) {
      new_step(*n, made, nodes);
    } else {
      new_step(*n, nullptr, {});
    }
    for (ValueId v : steps.back().outputs)
      if (v != kNone) step_of[size_t(v)] = int(steps.size() - 1);
  }
  // Placement, before the epilogues: a host step takes none, and is never one.
  for (Step& s : steps) {
    bool force = false;
    for (const std::string& t : o.host_ops) force = force || t == s.node->op_type;
    std::vector<bool> used;
    for (ValueId v : s.outputs) used.push_back(v != kNone && (u.output[size_t(v)] || !u.readers[size_t(v)].empty()));
    bool needs = false;
    if (s.op->needs_host) {
      std::vector<const TypeShape*> t;
      std::vector<const HostArray*> vals;
      for (ValueId x : s.node->inputs) {
        t.push_back(x == kNone ? nullptr : &p.info[size_t(x)]);
        vals.push_back(known(p, x));
      }
      needs = s.op->needs_host(NodeCtx(g, *s.node, t, vals), used);
    }
    s.host = !s.op->lower || force || needs;
  }
  // Epilogues: follow the one reader of each result while it is a bias Add, an activation or
  // a residual Add, in that order.
  std::set<size_t> merged;  // steps folded into an earlier one
  if (o.fuse) {
    std::map<const Node*, size_t> index_of;  // every node -> its step
    for (size_t k = 0; k < steps.size(); ++k)
      for (const Node* n : steps[k].nodes) index_of[n] = k;
    for (size_t k = 0; k < steps.size(); ++k) {
      Step& s = steps[k];
      if (merged.count(k) || s.host || !has_epilogue(p, s) || s.outputs.size() != 1) continue;
      const Shape shape = p.info[size_t(s.outputs[0])].shape;
      while (true) {
        const ValueId v = s.outputs[0];
        // The step that reads v: one node's, or a made activation's (the GELU pattern reads
        // its x from two of its nodes).
        std::set<size_t> readers;
        if (!u.output[size_t(v)])
          for (size_t ri : u.readers[size_t(v)]) {
            auto it = index_of.find(p.nodes[ri]);
            readers.insert(it == index_of.end() ? k : it->second);
          }
        if (readers.size() != 1 || *readers.begin() == k) break;
        const size_t j = *readers.begin();
        const Step& rs = steps[j];
        const bool plain = rs.nodes.size() == 1 && !rs.made && only_reader(p, u, v) == rs.node;
        const bool made_act = rs.made && rs.made->op->activation && rs.node->inputs.size() == 1 && rs.node->inputs[0] == v;
        if (rs.host || (!plain && !made_act)) break;
        const Node* r = rs.node;
        const ValueId out = r->outputs.empty() ? kNone : r->outputs[0];
        if (out == kNone || p.info[size_t(out)].shape != shape || !elem_is_float(p.info[size_t(out)].type)) break;
        ops::Activation act;
        float a = 0, b = 0;
        if (is(r, "BatchNormalization") && s.node->op_type == "Conv" && !s.epi.any() && foldable_batch_norm(g, p, u, *s.node, *r)) {
          s.epi.batch_norm = r;
        } else if (is(r, "Add")) {
          const ValueId w = other(*r, v);
          const HostArray* c = known(p, w);
          const Shape& ws = w == kNone ? Shape{} : p.info[size_t(w)].shape;
          const bool conv = s.node->op_type == "Conv";
          const int64_t ch = conv ? shape[1] : shape.back();
          // A bias: one value per output channel (Conv: [C, 1, ...] aligned at axis 1) or column.
          bool bias = c && c->is_float() && s.epi.act == ops::Activation::None && s.epi.residual == kNone &&
                      s.epi.bias == kNone && (c->numel() == 1 || c->numel() == ch);
          if (bias && c->numel() == ch && ch > 1) {
            size_t at = 0;
            for (size_t d = 0; d < ws.size(); ++d)
              if (ws[d] != 1) at = d + shape.size() - ws.size();
            bias = conv ? at == 1 : at == shape.size() - 1;
          }
          if (bias) {
            s.epi.bias = w;
          } else if (w != kNone && !c && s.epi.residual == kNone && ws == shape && step_of[size_t(w)] < int(k) &&
                     p.info[size_t(w)].type == p.info[size_t(v)].type) {
            s.epi.residual = w;
            // After the optional third input (a Conv's B, a Gemm's C), so that one left out
            // stays absent rather than being read as the residual.
            if ((conv || s.node->op_type == "Gemm") && s.inputs.size() < 3) s.inputs.resize(3, kNone);
            s.inputs.push_back(w);
          } else {
            break;
          }
        } else if (r->op->activation && s.epi.act == ops::Activation::None && s.epi.residual == kNone &&
                   r->op->activation(NodeCtx(g, *r,
                                             [&] {
                                               std::vector<const TypeShape*> t;
                                               for (ValueId x : r->inputs) t.push_back(x == kNone ? nullptr : &p.info[size_t(x)]);
                                               return t;
                                             }(),
                                             [&] {
                                               std::vector<const HostArray*> t;
                                               for (ValueId x : r->inputs) t.push_back(known(p, x));
                                               return t;
                                             }()),
                                     act, a, b)) {
          s.epi.act = act;
          s.epi.alpha = a;
          s.epi.beta = b;
        } else {
          break;
        }
        s.nodes.insert(s.nodes.end(), rs.nodes.begin(), rs.nodes.end());
        s.outputs = {out};
        merged.insert(j);
      }
    }
  }
  std::vector<Step> kept;
  for (size_t k = 0; k < steps.size(); ++k)
    if (!merged.count(k)) kept.push_back(std::move(steps[k]));
  return kept;
}

}  // namespace vkfuse::detail::graph
