#pragma once
#include "vkfuse/sequence.hpp"

// The core kernels. Each records one dispatch into a Sequence; each has a CPU reference of
// the same name in vkfuse::ref (reference.hpp). All arithmetic is fp32.
namespace vkfuse::ops {

// Gelu is the exact erf form; QuickGelu x·sigmoid(1.702x) (OpenAI CLIP); GeluTanh the tanh
// approximation (Hugging Face's "gelu_new", PyTorch's approximate='tanh').
enum class Activation { None, Relu, Gelu, QuickGelu, GeluTanh, Tanh };

struct MatmulOptions {
  bool trans_b = false;          // C = A·Bᵀ, B given as [..., N, K]
  const Tensor* bias = nullptr;  // [N], added to every row
  Activation act = Activation::None;
  float alpha = 1.f;             // C = act(alpha·A·B + bias) (+ residual)
  const Tensor* residual = nullptr;  // added after the activation; C's shape and strides
};
// a [..., M, K], b [..., K, N] (or [..., N, K] with trans_b), c [..., M, N]; at most two
// batch dimensions, b's may be missing or of size 1 (broadcast). Rows may be strided, the
// last dimension of each must be contiguous.
void matmul(Sequence& s, const Tensor& a, const Tensor& b, const Tensor& c,
            const MatmulOptions& o = {});

struct SoftmaxOptions {
  float scale = 1.f;             // y = softmax(scale·x + mask) over the last axis
  const Tensor* mask = nullptr;  // additive [R, N]; row r of x uses mask row r % R
};
void softmax(Sequence& s, const Tensor& x, const Tensor& y, const SoftmaxOptions& o = {});

struct LayerNormOptions {
  float eps = 1e-5f;
  const Tensor* weight = nullptr;    // [N]
  const Tensor* bias = nullptr;      // [N]
  const Tensor* residual = nullptr;  // y = LN(x + residual), same shape as x
};
void layer_norm(Sequence& s, const Tensor& x, const Tensor& y, const LayerNormOptions& o = {});

// c = a + b, b of a's shape or of its trailing dimensions (broadcast over the leading ones).
void add(Sequence& s, const Tensor& a, const Tensor& b, const Tensor& c);
void relu(Sequence& s, const Tensor& x, const Tensor& y);
void sigmoid(Sequence& s, const Tensor& x, const Tensor& y);
// out[r] = table[ids[r]] row by row: the embedding lookup. ids I32, each in [0, V) (the
// caller checks them: the shader does not).
void gather_rows(Sequence& s, const Tensor& table, const Tensor& ids, const Tensor& out);
void gelu(Sequence& s, const Tensor& x, const Tensor& y);
// y = f(x) element by element for any of the activations (ref::activate).
void activation(Sequence& s, const Tensor& x, const Tensor& y, Activation f);
// dst = src element by element, any strides, rank <= 6, same shape: with Tensor::permute
// this splits [B,L,H·D] into heads [B,H,L,D] and merges them back.
void copy(Sequence& s, const Tensor& src, const Tensor& dst);
void split_heads(Sequence& s, const Tensor& x, const Tensor& heads, int64_t num_heads);
void merge_heads(Sequence& s, const Tensor& heads, const Tensor& x);

// Scaled attention scores, model-format.md §4.
enum class Score { Dot, NegEuclidean, NegManhattan };

struct AttentionOptions {
  Score score = Score::Dot;
  float scale = 0.f;                    // 0: 1/sqrt(head_dim)
  const Tensor* key_padding = nullptr;  // additive F32 [B, S]: 0 or -inf per key
  const Tensor* attn_mask = nullptr;    // additive F32 [L, S]
  bool causal = false;                  // key j > query l masked (L = S), computed, not stored
  const Tensor* lse = nullptr;          // F32 [B, H, L] out: each row's log-sum-exp (for weights)
};
// Fused attention: out = softmax(score(q, k) + masks) · v per batch and head, the L x S
// scores never stored. q [B,H,L,D], k [B,H,S,D], v [B,H,S,D], out [B,H,L,D], any strides
// with a contiguous D, so heads are split and merged by views of [B, L, H·D] tensors.
// Any D: up to 256 in one dispatch, beyond in dispatches of 128 output columns that
// recompute the full-width scores. A row whose keys are all masked gives zeros.
void attention(Sequence& s, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
               const AttentionOptions& o = {});
// The probabilities of that attention averaged over heads, [B, L, S], from the lse that
// attention() wrote with the same q, k, masks and options.
void attention_weights(Sequence& s, const Tensor& q, const Tensor& k, const Tensor& weights,
                       const AttentionOptions& o);

// y = x / max(||x||_2, eps) row by row over the last axis (eps 0: x / x.norm(), as CLIP).
void l2_normalize(Sequence& s, const Tensor& x, const Tensor& y, float eps = 0.f);

// The k largest of each row of x [R, N] (k <= N), best first: values [R, k] F32 and their
// column indices [R, k] I32. Ties go to the lower index; NaN ranks below -inf.
void top_k(Sequence& s, const Tensor& x, const Tensor& values, const Tensor& indices);

// The longest row top_k takes for this k on ctx's device (0: k itself is too large): each of
// the k rounds walks the row, and an invocation's loop steps are bounded (lavapipe).
int64_t top_k_max_columns(Context& ctx, int64_t k);

// The device's arithmetic ceiling (no memory traffic): out.numel() invocations each run
// independent FMA chains for `steps` loop steps (1..49,136, the loop budget of one
// invocation); fma_peak_flops is the work it does. The benches print their GFLOP/s as a
// fraction of it. out[i] = ref::fma_peak's value.
void fma_peak(Sequence& s, const Tensor& out, uint32_t steps);
double fma_peak_flops(int64_t n, uint32_t steps);

}  // namespace vkfuse::ops
