// The element-by-element ops: unary math and activations, Cast, the broadcasting binary ops
// and comparisons, the variadic Sum/Mean/Max/Min, Where. One kernel (ops::pointwise) serves
// them all; each op's code and parameters come from the tables below.
#include <cmath>
#include <limits>
#include <map>

#include "graph/ops/rules.h"

namespace vkfuse::detail::graph {

namespace {

using namespace rules;
using ops::Activation;
using ops::Pointwise;

// ---- unary ----

struct Unary {
  Pointwise op;
  Activation act = Activation::None;
  // The activation's parameters from the node's attributes (or inputs: Clip at 11+).
  bool (*params)(const NodeCtx&, float& a, float& b) = nullptr;
};

bool no_params(const NodeCtx&, float&, float&) { return true; }
bool elu_params(const NodeCtx& c, float& a, float&) { return a = c.attrs().f("alpha", 1.f), true; }
bool leaky_params(const NodeCtx& c, float& a, float&) { return a = c.attrs().f("alpha", 0.01f), true; }
bool selu_params(const NodeCtx& c, float& a, float& b) {
  a = c.attrs().f("alpha", 1.67326319217681884765625f);
  b = c.attrs().f("gamma", 1.05070102214813232421875f);
  return true;
}
bool hard_sigmoid_params(const NodeCtx& c, float& a, float& b) {
  a = c.attrs().f("alpha", 0.2f);
  b = c.attrs().f("beta", 0.5f);
  return true;
}
// Clip's bounds: attributes before opset 11, optional inputs from it; false when an input
// bound is computed on the device (then Max and Min run as tensors).
bool clip_params(const NodeCtx& c, float& a, float& b) {
  a = -std::numeric_limits<float>::infinity();
  b = std::numeric_limits<float>::infinity();
  if (c.opset() < 11) {
    a = c.attrs().f("min", a);
    b = c.attrs().f("max", b);
    return true;
  }
  for (size_t k = 1; k <= 2; ++k) {
    if (!c.has(k)) continue;
    const HostArray* v = c.value(k);
    if (!v || v->numel() != 1) return false;
    (k == 1 ? a : b) = float(v->at(0));
  }
  return true;
}
bool gelu_params(const NodeCtx&, float&, float&) { return true; }

const std::map<std::string, Unary>& unary_table() {
  static const std::map<std::string, Unary> t = {
      {"Neg", {Pointwise::Neg}}, {"Abs", {Pointwise::Abs}}, {"Exp", {Pointwise::Exp}}, {"Log", {Pointwise::Log}},
      {"Sqrt", {Pointwise::Sqrt}}, {"Reciprocal", {Pointwise::Reciprocal}}, {"Erf", {Pointwise::Erf}},
      {"Floor", {Pointwise::Floor}}, {"Ceil", {Pointwise::Ceil}}, {"Round", {Pointwise::Round}},
      {"Sign", {Pointwise::Sign}}, {"Sin", {Pointwise::Sin}}, {"Cos", {Pointwise::Cos}}, {"Not", {Pointwise::Not}},
      {"IsNaN", {Pointwise::IsNaN}}, {"IsInf", {Pointwise::IsInf}}, {"Softsign", {Pointwise::Softsign}},
      {"Relu", {Pointwise::Activate, Activation::Relu, no_params}},
      {"Sigmoid", {Pointwise::Activate, Activation::Sigmoid, no_params}},
      {"Tanh", {Pointwise::Activate, Activation::Tanh, no_params}},
      {"Elu", {Pointwise::Activate, Activation::Elu, elu_params}},
      {"LeakyRelu", {Pointwise::Activate, Activation::LeakyRelu, leaky_params}},
      {"Selu", {Pointwise::Activate, Activation::Selu, selu_params}},
      {"Softplus", {Pointwise::Activate, Activation::Softplus, no_params}},
      {"HardSigmoid", {Pointwise::Activate, Activation::HardSigmoid, hard_sigmoid_params}},
      {"HardSwish", {Pointwise::Activate, Activation::HardSwish, no_params}},
      {"Clip", {Pointwise::Activate, Activation::Clip, clip_params}},
      {"Gelu", {Pointwise::Activate, Activation::Gelu, gelu_params}},
      // x·sigmoid(1.702x), OpenAI CLIP's (ONNX Runtime's com.microsoft QuickGelu): no ONNX op.
      {"vkfuse.QuickGelu", {Pointwise::Activate, Activation::QuickGelu, no_params}},
  };
  return t;
}

const Unary& unary_of(const NodeCtx& c) {
  const auto& t = unary_table();
  auto it = t.find(c.node.op_type);
  if (it == t.end()) c.fail("not a unary op (a bug in vkfuse)");
  return it->second;
}

// The node's activation and parameters: Gelu's approximate attribute picks its form.
Activation act_of(const NodeCtx& c, const Unary& u) {
  if (u.act == Activation::Gelu && c.attrs().s("approximate", "none") == "tanh") return Activation::GeluTanh;
  return u.act;
}

bool unary_activation(const NodeCtx& c, Activation& act, float& a, float& b) {
  const Unary& u = unary_of(c);
  if (u.op != Pointwise::Activate || !elem_is_float(c.in(0).type)) return false;
  a = b = 0;
  if (!u.params(c, a, b)) return false;
  act = act_of(c, u);
  return true;
}

bool is_compare(Pointwise op) {
  return op == Pointwise::Equal || op == Pointwise::Less || op == Pointwise::Greater || op == Pointwise::LessOrEqual ||
         op == Pointwise::GreaterOrEqual || op == Pointwise::Not || op == Pointwise::IsNaN || op == Pointwise::IsInf ||
         op == Pointwise::And || op == Pointwise::Or || op == Pointwise::Xor;
}

void unary_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  const Unary& u = unary_of(c);
  const Elem t = c.in(0).type;
  out[0] = c.in(0);
  if (is_compare(u.op)) out[0].type = Elem::Bool;
  const bool any_number = u.op == Pointwise::Neg || u.op == Pointwise::Abs || u.op == Pointwise::Sign ||
                          u.act == Activation::Relu || u.act == Activation::Clip;
  if (u.op == Pointwise::Not) {
    if (t != Elem::Bool) c.fail(std::string("takes bool, not ") + elem_name(t));
  } else if (!any_number && !elem_is_float(t)) {
    c.fail(std::string("takes floats, not ") + elem_name(t));
  }
}

ops::PointwiseOptions unary_options(const NodeCtx& c, const Unary& u) {
  ops::PointwiseOptions o;
  o.act = act_of(c, u);
  if (u.params) u.params(c, o.alpha, o.beta);
  o.inf_positive = c.attrs().i("detect_positive", 1) != 0;
  o.inf_negative = c.attrs().i("detect_negative", 1) != 0;
  return o;
}

void unary_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  const Unary& u = unary_of(c);
  const Elem t = is_compare(u.op) ? Elem::Bool : c.in(0).type;
  float a = 0, b = 0;
  if (u.act == Activation::Clip && !u.params(c, a, b)) {  // bounds from device-computed inputs
    ref::Array r = *in[0];
    if (c.has(1)) r = ref::pointwise(Pointwise::Max, {&r, in[1]}, r.integer);
    if (c.has(2)) r = ref::pointwise(Pointwise::Min, {&r, in[2]}, r.integer);
    out[0] = wrap_array(t, std::move(r));
    return;
  }
  // Relu and Clip of integers: max/min on integers, exactly.
  if (!in[0]->is_float() && (u.act == Activation::Relu || u.act == Activation::Clip)) {
    u.params(c, a, b);
    ref::Array r = *in[0];
    const ref::Array lo = ref::Array::ints({}, {u.act == Activation::Relu ? 0 : int64_t(std::max<float>(a, -9.2e18f))});
    r = ref::pointwise(Pointwise::Max, {&r, &lo}, true);
    if (u.act == Activation::Clip) {
      const ref::Array hi = ref::Array::ints({}, {int64_t(std::min<float>(b, 9.2e18f))});
      r = ref::pointwise(Pointwise::Min, {&r, &hi}, true);
    }
    out[0] = wrap_array(t, std::move(r));
    return;
  }
  out[0] = wrap_array(t, ref::pointwise(u.op, {in[0]}, !elem_is_float(t), unary_options(c, u)));
}

void unary_lower(Lowering& l, const Step& st) {
  const NodeCtx c = l.node_ctx(st);
  const Unary& u = unary_of(c);
  Tensor x = l.in(st, 0), y = l.out(st, 0);
  float a = 0, b = 0;
  const bool ints = x.dtype() == DType::I32;
  if ((u.act == Activation::Clip && (!u.params(c, a, b) || ints)) || (u.act == Activation::Relu && ints)) {
    // Bounds as tensors (or integers): Max, then Min, each a broadcasting binary op.
    Tensor lo, hi;
    if (u.act == Activation::Relu) lo = l.constant("zero:i32", HostArray::scalar_ints({0}, Elem::Int32));
    if (u.act == Activation::Clip && c.has(1)) lo = l.in(st, 1);
    if (u.act == Activation::Clip && c.has(2)) hi = l.in(st, 2);
    if (u.act == Activation::Clip && c.opset() < 11) {
      u.params(c, a, b);
      HostArray la = HostArray::scalar_ints({int64_t(a)}, Elem::Int32), ha = HostArray::scalar_ints({int64_t(b)}, Elem::Int32);
      lo = l.constant("clip_lo:" + std::to_string(a), la);
      hi = l.constant("clip_hi:" + std::to_string(b), ha);
    }
    Tensor cur = x;
    if (lo.defined() && hi.defined()) {
      Tensor t = l.scratch(y.shape(), y.dtype());
      ops::pointwise(l.seq(), Pointwise::Max, {&cur, &lo}, t);
      ops::pointwise(l.seq(), Pointwise::Min, {&t, &hi}, y);
    } else if (lo.defined()) {
      ops::pointwise(l.seq(), Pointwise::Max, {&cur, &lo}, y);
    } else if (hi.defined()) {
      ops::pointwise(l.seq(), Pointwise::Min, {&cur, &hi}, y);
    } else {
      ops::pointwise(l.seq(), Pointwise::Copy, {&cur}, y);
    }
    return;
  }
  ops::pointwise(l.seq(), u.op, {&x}, y, unary_options(c, u));
}

// ---- Cast ----

ops::CastTo cast_to(Elem to) {
  switch (to) {
    case Elem::Bool: return ops::CastTo::Bool;
    case Elem::Int8: return ops::CastTo::I8;
    case Elem::UInt8: return ops::CastTo::U8;
    case Elem::Int16: return ops::CastTo::I16;
    case Elem::UInt16: return ops::CastTo::U16;
    case Elem::Float16: return ops::CastTo::F16;
    case Elem::BFloat16: return ops::CastTo::BF16;
    default: return ops::CastTo::Same;
  }
}

Elem cast_target(const NodeCtx& c) {
  Elem to = c.node.op_type == "CastLike" ? c.in(1).type : Elem(int32_t(c.attrs().i("to", 0)));
  if (!elem_supported(to)) c.fail(std::string("casts to ") + elem_name(to) + ", which vkfuse does not compute with");
  return to;
}

void cast_infer(const NodeCtx& c, std::vector<TypeShape>& out) { out[0] = {cast_target(c), c.in(0).shape}; }

void cast_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  const Elem to = cast_target(c);
  ops::PointwiseOptions o;
  o.cast = cast_to(to);
  out[0] = wrap_array(to, ref::pointwise(Pointwise::Cast, {in[0]}, !elem_is_float(to), o));
}

void cast_lower(Lowering& l, const Step& st) {
  const NodeCtx c = l.node_ctx(st);
  Tensor x = l.in(st, 0), y = l.out(st, 0);
  ops::PointwiseOptions o;
  o.cast = cast_to(cast_target(c));
  ops::pointwise(l.seq(), Pointwise::Cast, {&x}, y, o);
}

// ---- binary and variadic ----

const std::map<std::string, Pointwise>& binary_table() {
  static const std::map<std::string, Pointwise> t = {
      {"Add", Pointwise::Add},         {"Sub", Pointwise::Sub},
      {"Mul", Pointwise::Mul},         {"Div", Pointwise::Div},
      {"Pow", Pointwise::Pow},         {"Equal", Pointwise::Equal},
      {"Less", Pointwise::Less},       {"Greater", Pointwise::Greater},
      {"LessOrEqual", Pointwise::LessOrEqual}, {"GreaterOrEqual", Pointwise::GreaterOrEqual},
      {"And", Pointwise::And},         {"Or", Pointwise::Or},
      {"Xor", Pointwise::Xor},         {"PRelu", Pointwise::PRelu},
      {"Mod", Pointwise::Mod},         {"Max", Pointwise::Max},
      {"Min", Pointwise::Min},         {"Sum", Pointwise::Add},
      {"Mean", Pointwise::Add},
  };
  return t;
}

Pointwise binary_of(const NodeCtx& c) {
  auto it = binary_table().find(c.node.op_type);
  if (it == binary_table().end()) c.fail("not a binary op (a bug in vkfuse)");
  Pointwise op = it->second;
  if (op == Pointwise::Mod && c.attrs().i("fmod", 0)) op = Pointwise::FMod;
  return op;
}

// Input k's shape as it broadcasts: before opset 7, `broadcast` with `axis` aligns B at an
// axis of A (B's shape followed by ones), not at A's end; without `broadcast` the shapes of
// an op that has the attribute must be equal.
Shape aligned_shape(const NodeCtx& c, size_t k) {
  Shape s = c.shape(k);
  if (k != 1 || c.opset() >= 7) return s;
  // PRelu before opset 7: a slope of one value per channel (axis 1).
  if (c.node.op_type == "PRelu" && s.size() == 1 && c.rank(0) >= 2 && s[0] == c.shape(0)[1] && s[0] != c.shape(0).back()) {
    s.resize(size_t(c.rank(0) - 1), 1);
    return s;
  }
  bool legacy = false;
  for (const auto& a : c.node.op->attrs) legacy = legacy || std::string(a.name) == "broadcast";
  if (!legacy) return s;
  if (!c.attrs().i("broadcast", 0)) {
    if (s != c.shape(0))
      c.fail("shapes " + shape_string(c.shape(0)) + " and " + shape_string(s) + " differ and broadcast is 0 (opset " +
             std::to_string(c.opset()) + ")");
    return s;
  }
  const int64_t ra = c.rank(0);
  int64_t axis = c.attrs().has("axis") ? c.attrs().i("axis", 0) : ra - int64_t(s.size());
  if (axis < 0) axis += ra;
  if (axis < 0 || axis + int64_t(s.size()) > ra) c.fail("legacy broadcast axis out of range");
  s.resize(size_t(ra - axis), 1);
  return s;
}

void binary_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  const Pointwise op = binary_of(c);
  Shape s = aligned_shape(c, 0);
  Elem t = c.in(0).type;
  for (size_t k = 1; k < c.inputs(); ++k) {
    s = broadcast(c, s, aligned_shape(c, k));
    if (c.in(k).type != t && op != Pointwise::PRelu && op != Pointwise::Pow)
      c.fail(std::string("inputs of types ") + elem_name(t) + " and " + elem_name(c.in(k).type) + " differ");
  }
  if (op == Pointwise::PRelu && s != c.shape(0)) c.fail("the slope does not broadcast to X's shape");
  const bool logic = op == Pointwise::And || op == Pointwise::Or || op == Pointwise::Xor;
  if (logic && t != Elem::Bool) c.fail(std::string("takes bool, not ") + elem_name(t));
  out[0] = {is_compare(op) ? Elem::Bool : t, s};
}

// The inputs as they broadcast (legacy alignment applied by a reshape of B's array).
std::vector<HostArray> aligned_arrays(const NodeCtx& c, const std::vector<const HostArray*>& in) {
  std::vector<HostArray> a;
  for (size_t k = 0; k < in.size(); ++k) {
    a.push_back(*in[k]);
    a.back().shape = aligned_shape(c, k);
  }
  return a;
}

void binary_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  const Pointwise op = binary_of(c);
  const std::vector<HostArray> a = aligned_arrays(c, in);
  const Elem t = is_compare(op) ? Elem::Bool : c.in(0).type;
  ref::Array acc = a[0];
  for (size_t k = 1; k < a.size(); ++k) acc = ref::pointwise(op, {&acc, &a[k]}, !elem_is_float(t));
  if (c.node.op_type == "Mean") {
    const ref::Array n = ref::Array::floats({}, {float(a.size())});
    acc = ref::pointwise(Pointwise::Div, {&acc, &n}, false);
  }
  out[0] = wrap_array(t, std::move(acc));
}

void binary_lower(Lowering& l, const Step& st) {
  const NodeCtx c = l.node_ctx(st);
  const Pointwise op = binary_of(c);
  Tensor y = l.out(st, 0);
  std::vector<Tensor> x;
  for (size_t k = 0; k < st.inputs.size(); ++k) {
    Tensor t = l.in(st, k);
    const Shape s = aligned_shape(c, k);
    if (s != t.shape()) t = l.contiguous(t).reshape(s);
    x.push_back(t);
  }
  if (x.size() == 1) {
    ops::pointwise(l.seq(), Pointwise::Copy, {&x[0]}, y);
    return;
  }
  // Variadic: a running result through scratch, the last step into y.
  const bool mean = c.node.op_type == "Mean";
  Tensor acc = x[0];
  for (size_t k = 1; k < x.size(); ++k) {
    const bool last = k + 1 == x.size() && !mean;
    Tensor dst = last ? y : l.scratch(y.shape(), y.dtype());
    ops::pointwise(l.seq(), op, {&acc, &x[k]}, dst);
    acc = dst;
  }
  if (mean) {
    HostArray n = make_array(Elem::Float, {});
    n.f = {float(x.size())};
    Tensor d = l.constant("mean_count:" + std::to_string(x.size()), n);
    ops::pointwise(l.seq(), Pointwise::Div, {&acc, &d}, y);
  }
}

// ---- Where ----

void where_infer(const NodeCtx& c, std::vector<TypeShape>& out) {
  if (c.in(0).type != Elem::Bool) c.fail("the condition must be bool");
  if (c.in(1).type != c.in(2).type) c.fail("X and Y differ in type");
  out[0] = {c.in(1).type, broadcast(c, broadcast(c, c.shape(0), c.shape(1)), c.shape(2))};
}

void where_ref(const NodeCtx& c, const std::vector<const HostArray*>& in, std::vector<HostArray>& out) {
  out[0] = wrap_array(c.in(1).type, ref::pointwise(Pointwise::Where, {in[0], in[1], in[2]}, !elem_is_float(c.in(1).type)));
}

void where_lower(Lowering& l, const Step& st) {
  Tensor a = l.in(st, 0), b = l.in(st, 1), cc = l.in(st, 2), y = l.out(st, 0);
  ops::pointwise(l.seq(), Pointwise::Where, {&a, &b, &cc}, y);
}

const std::vector<AttrSpec> kLegacyBroadcast = {{"broadcast", A::Int, 1, 6}, {"axis", A::Int, 1, 6},
                                                {"consumed_inputs", A::Ints, 1, 5}};
const std::vector<AttrSpec> kConsumed = {{"consumed_inputs", A::Ints, 1, 5}};

OpDef unary(const char* name, int since, std::vector<AttrSpec> attrs = {}) {
  OpDef d{name, since, 1, 1, 1, 1, std::move(attrs), unary_infer, unary_ref, unary_lower};
  d.activation = unary_activation;
  return d;
}

// Pow of a base and an exponent of different types (ONNX allows it; the kernel's math is one
// kind) runs on the host.
bool mixed_types(const NodeCtx& c, const std::vector<bool>&) {
  for (size_t k = 1; k < c.inputs(); ++k)
    if (c.has(k) && c.in(k).type != c.in(0).type) return true;
  return false;
}

OpDef binary(const char* name, int since, std::vector<AttrSpec> attrs = kLegacyBroadcast) {
  OpDef d{name, since, 2, 2, 1, 1, std::move(attrs), binary_infer, binary_ref, binary_lower};
  d.needs_host = mixed_types;
  return d;
}

}  // namespace

std::vector<OpDef> pointwise_ops() {
  std::vector<OpDef> v = {
      unary("Neg", 1, kConsumed), unary("Abs", 1, kConsumed), unary("Exp", 1, kConsumed), unary("Log", 1, kConsumed),
      unary("Sqrt", 1, kConsumed), unary("Reciprocal", 1, kConsumed), unary("Erf", 9), unary("Floor", 1, kConsumed),
      unary("Ceil", 1, kConsumed), unary("Round", 11), unary("Sign", 9), unary("Sin", 7), unary("Cos", 7),
      unary("Not", 1), unary("IsNaN", 9), unary("IsInf", 10, {{"detect_negative", A::Int}, {"detect_positive", A::Int}}),
      unary("Softsign", 1), unary("Relu", 1, kConsumed), unary("Sigmoid", 1, kConsumed), unary("Tanh", 1, kConsumed),
      unary("Elu", 1, {{"alpha", A::Float}, {"consumed_inputs", A::Ints, 1, 5}}),
      unary("LeakyRelu", 1, {{"alpha", A::Float}, {"consumed_inputs", A::Ints, 1, 5}}),
      unary("Selu", 1, {{"alpha", A::Float}, {"gamma", A::Float}, {"consumed_inputs", A::Ints, 1, 5}}),
      unary("Softplus", 1),
      unary("HardSigmoid", 1, {{"alpha", A::Float}, {"beta", A::Float}, {"consumed_inputs", A::Ints, 1, 5}}),
      unary("HardSwish", 14), unary("Gelu", 20, {{"approximate", A::String}}), unary("vkfuse.QuickGelu", 1),
      binary("Add", 1), binary("Sub", 1), binary("Mul", 1), binary("Div", 1), binary("Pow", 1, kLegacyBroadcast),
      binary("Equal", 1), binary("Less", 1), binary("Greater", 1), binary("LessOrEqual", 12, {}),
      binary("GreaterOrEqual", 12, {}), binary("And", 1), binary("Or", 1), binary("Xor", 1),
      binary("PRelu", 1, kConsumed), binary("Mod", 10, {{"fmod", A::Int}}),
      OpDef{"Cast", 6, 1, 1, 1, 1, {{"to", A::Int}, {"saturate", A::Int, 19}}, cast_infer, cast_ref, cast_lower},
      OpDef{"CastLike", 15, 2, 2, 1, 1, {}, cast_infer, cast_ref, cast_lower},
      OpDef{"Where", 9, 3, 3, 1, 1, {}, where_infer, where_ref, where_lower},
  };
  // Clip: min and max attributes before opset 11, optional inputs from it.
  OpDef clip = unary("Clip", 1, {{"min", A::Float, 1, 10}, {"max", A::Float, 1, 10}, {"consumed_inputs", A::Ints, 1, 5}});
  clip.max_in = 3;
  v.push_back(clip);
  for (const char* name : {"Sum", "Mean", "Max", "Min"}) {
    OpDef d = binary(name, 1, kConsumed);
    d.min_in = 1;
    d.max_in = 1 << 16;
    v.push_back(d);
  }
  return v;
}

}  // namespace vkfuse::detail::graph
