// Layer names, patch embedding and the small steps of the standard archs.
#include "models/standard_layers.h"

#include <algorithm>

#include "io/message_text.h"
#include "runtime/workspace.h"
#include "vkfuse/error.hpp"
#include "vkfuse/reference.hpp"

namespace vkfuse::detail {

namespace {
std::string layer_prefix(const LayerNames& n, int64_t i) {
  std::string p = n.layer;
  const auto at = p.find("{i}");
  return at == std::string::npos ? p : p.replace(at, 3, std::to_string(i));
}
}  // namespace

TensorList layer_tensors(const LayerNames& n, int64_t layers, int64_t e, int64_t f) {
  TensorList t;
  for (int64_t i = 0; i < layers; ++i) {
    const std::string p = layer_prefix(n, i);
    auto lin = [&](const std::string& m, int64_t out, int64_t in) {
      t.push_back({p + m + ".weight", {out, in}});
      t.push_back({p + m + ".bias", {out}});
    };
    if (!n.in_proj.empty()) {
      t.push_back({p + n.in_proj + "in_proj_weight", {3 * e, e}});
      t.push_back({p + n.in_proj + "in_proj_bias", {3 * e}});
      lin(n.in_proj + "out_proj", e, e);
    } else {
      for (const std::string* m : {&n.q, &n.k, &n.v, &n.out}) lin(*m, e, e);
    }
    t.push_back({p + n.norm1 + ".weight", {e}});
    t.push_back({p + n.norm1 + ".bias", {e}});
    lin(n.fc1, f, e);
    lin(n.fc2, e, f);
    t.push_back({p + n.norm2 + ".weight", {e}});
    t.push_back({p + n.norm2 + ".bias", {e}});
  }
  return t;
}

TransformerConfig encoder_config(int64_t width, int64_t heads, int64_t feedforward, int64_t layers,
                                 ops::Activation act, float eps, bool norm_first) {
  TransformerConfig t;
  t.d_model = width;
  t.nhead = heads;
  t.dim_feedforward = feedforward;
  t.num_layers = layers;
  t.activation = act;
  t.layer_norm_eps = eps;
  t.norm_first = norm_first;
  return t;
}

const std::vector<float>& weight(const WeightMap& w, const std::string& name) {
  auto it = w.find(name);
  if (it == w.end()) throw Error("tensor " + quote(name) + " is missing");
  return it->second;
}

WeightMap torch_layers(const WeightMap& w, const LayerNames& n, int64_t layers, int64_t /*e*/) {
  WeightMap out;
  for (int64_t i = 0; i < layers; ++i) {
    const std::string p = layer_prefix(n, i), to = "layers." + std::to_string(i) + ".";
    auto copy = [&](const std::string& from, const std::string& name) { out[to + name] = weight(w, p + from); };
    if (!n.in_proj.empty()) {
      copy(n.in_proj + "in_proj_weight", "self_attn.in_proj_weight");
      copy(n.in_proj + "in_proj_bias", "self_attn.in_proj_bias");
      copy(n.in_proj + "out_proj.weight", "self_attn.out_proj.weight");
      copy(n.in_proj + "out_proj.bias", "self_attn.out_proj.bias");
    } else {
      // nn.MultiheadAttention's in_proj is [Wq; Wk; Wv] by rows, its bias [bq; bk; bv].
      std::vector<float>& wi = out[to + "self_attn.in_proj_weight"];
      std::vector<float>& bi = out[to + "self_attn.in_proj_bias"];
      for (const std::string* m : {&n.q, &n.k, &n.v}) {
        const auto& mw = weight(w, p + *m + ".weight");
        const auto& mb = weight(w, p + *m + ".bias");
        wi.insert(wi.end(), mw.begin(), mw.end());
        bi.insert(bi.end(), mb.begin(), mb.end());
      }
      copy(n.out + ".weight", "self_attn.out_proj.weight");
      copy(n.out + ".bias", "self_attn.out_proj.bias");
    }
    for (const char* part : {".weight", ".bias"}) {
      copy(n.fc1 + part, std::string("linear1") + part);
      copy(n.fc2 + part, std::string("linear2") + part);
      copy(n.norm1 + part, std::string("norm1") + part);
      copy(n.norm2 + part, std::string("norm2") + part);
    }
  }
  return out;
}

namespace {
Tensor as_rows(const Tensor& t) {
  if (t.rank() <= 2) return t;
  int64_t rows = 1;
  for (int i = 0; i + 1 < t.rank(); ++i) rows *= t.dim(i);
  return t.reshape({rows, t.dim(t.rank() - 1)});
}
}  // namespace

void linear(Sequence& s, const Tensor& x, const Tensor& w, const Tensor* bias, const Tensor& y, ops::Activation act) {
  ops::MatmulOptions o;
  o.trans_b = true;  // W as PyTorch stores it: [out_features, in_features]
  o.bias = bias;
  o.act = act;
  ops::matmul(s, x.contiguous() ? as_rows(x) : x, w, y.contiguous() ? as_rows(y) : y, o);
}

void patch_embedding(Sequence& s, const Tensor& image, int64_t p, const Tensor& w, const Tensor* bias,
                     const Tensor& out) {
  const int64_t b = image.dim(0), ch = image.dim(1), hw = image.dim(2), g = hw / p, e = w.dim(0);
  Scratch scratch(s);
  // [B, C, gH·P, gW·P] seen as [B, gH, gW, C, P, P]: one strided copy makes the patch rows.
  Tensor patches = scratch({b, g * g, ch * p * p});
  ops::copy(s, image.view({b, g, g, ch, p, p}, {ch * hw * hw, p * hw, p, hw * hw, hw, 1}, image.offset()),
            patches.reshape({b, g, g, ch, p, p}));
  ops::MatmulOptions o;
  o.trans_b = true;
  o.bias = bias;
  ops::matmul(s, patches, w.rank() == 2 ? w : w.reshape({e, ch * p * p}), out, o);
}

void class_token_embedding(Sequence& s, const Tensor& image, int64_t patch, const Tensor& w, const Tensor* bias,
                           const Tensor& cls, const Tensor& pos, const Tensor& x) {
  const int64_t b = x.dim(0), n = x.dim(1), e = x.dim(2);
  patch_embedding(s, image, patch, w, bias, x.view({b, n - 1, e}, {n * e, e, 1}, e));
  ops::copy(s, cls.view({b, 1, e}, {0, e, 1}, 0), x.view({b, 1, e}, {n * e, e, 1}, 0));
  ops::add(s, x, pos, x);
}

std::vector<float> ref_class_token_embedding(const float* image, int64_t b, int64_t c, int64_t hw, int64_t patch,
                                             const std::vector<float>& w, const std::vector<float>* bias,
                                             const std::vector<float>& cls, const std::vector<float>& pos, int64_t e) {
  const std::vector<float> patches = ref_patch_embedding(image, b, c, hw, patch, w, bias, e);
  const int64_t n = static_cast<int64_t>(patches.size()) / std::max<int64_t>(b * e, 1) + 1;
  std::vector<float> x(static_cast<size_t>(b * n * e));
  for (int64_t ib = 0; ib < b; ++ib)
    for (int64_t t = 0; t < n; ++t)
      for (int64_t j = 0; j < e; ++j)
        x[(ib * n + t) * e + j] = (t == 0 ? cls[j] : patches[(ib * (n - 1) + t - 1) * e + j]) + pos[t * e + j];
  return x;
}

std::vector<float> first_rows(const std::vector<float>& x, int64_t b, int64_t n, int64_t e) {
  std::vector<float> r(static_cast<size_t>(b * e));
  for (int64_t ib = 0; ib < b; ++ib) std::copy_n(x.begin() + ib * n * e, e, r.begin() + ib * e);
  return r;
}

std::vector<float> ref_linear(const float* x, int64_t rows, int64_t in, const std::vector<float>& w,
                              const std::vector<float>* bias, int64_t out, ops::Activation act) {
  std::vector<float> y(static_cast<size_t>(rows * out));
  ops::MatmulOptions o;
  o.trans_b = true;
  o.act = act;
  ref::matmul(x, w.data(), y.data(), 1, rows, out, in, o, bias ? bias->data() : nullptr, false);
  return y;
}

std::vector<float> ref_layer_norm(const float* x, int64_t rows, int64_t n, const WeightMap& w, const std::string& name,
                                  float eps) {
  std::vector<float> y(static_cast<size_t>(rows * n));
  ref::layer_norm(x, nullptr, y.data(), rows, n, eps, weight(w, name + ".weight").data(),
                  weight(w, name + ".bias").data());
  return y;
}

std::vector<float> ref_patch_embedding(const float* image, int64_t b, int64_t c, int64_t hw, int64_t p,
                                       const std::vector<float>& w, const std::vector<float>* bias, int64_t e) {
  const int64_t g = hw / p, k = c * p * p;
  std::vector<float> patches(static_cast<size_t>(b * g * g * k));
  for (int64_t ib = 0; ib < b; ++ib)
    for (int64_t gy = 0; gy < g; ++gy)
      for (int64_t gx = 0; gx < g; ++gx)
        for (int64_t ic = 0; ic < c; ++ic)
          for (int64_t py = 0; py < p; ++py)
            for (int64_t px = 0; px < p; ++px)
              patches[((ib * g + gy) * g + gx) * k + (ic * p + py) * p + px] =
                  image[((ib * c + ic) * hw + gy * p + py) * hw + gx * p + px];
  return ref_linear(patches.data(), b * g * g, k, w, bias, e);
}

}  // namespace vkfuse::detail
