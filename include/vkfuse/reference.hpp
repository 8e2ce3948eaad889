#pragma once
#include <cstdint>
#include <vector>

#include "vkfuse/ops.hpp"

// Plain C++ CPU references of every op in ops.hpp (engine/ref/<op>.cpp), on host arrays. They
// accumulate in double so that they are a tighter reference than any fp32 kernel.
namespace vkfuse::ref {

// The activations of ops::relu, ops::gelu, ops::sigmoid, element by element.
float relu(float x);
float gelu(float x);     // 0.5·x·(1 + erf(x/√2))
float sigmoid(float x);  // 1 / (1 + e^-x)
// Any ops::Activation of x (double: the matmul epilogue's accumulator), rounded to float.
float activate(ops::Activation f, double x);

// c[b] = act(alpha·a[b]·op(b[b]) + bias) (+ residual[b]); a [batch,M,K]; b [batch or 1,K,N]
// ([.., N,K] if trans_b); c and residual [batch,M,N].
void matmul(const float* a, const float* b, float* c, int64_t batch, int64_t m, int64_t n,
            int64_t k, const ops::MatmulOptions& o, const float* bias, bool b_broadcast,
            const float* residual = nullptr);

// Rows of length n; mask [mask_rows, n] or null. A row with a NaN logit is NaN (as PyTorch);
// a row with no finite logit (all masked) gives zeros.
void softmax(const float* x, float* y, int64_t rows, int64_t n, float scale,
             const float* mask, int64_t mask_rows);

void layer_norm(const float* x, const float* residual, float* y, int64_t rows, int64_t n,
                float eps, const float* weight, const float* bias);

// y = x / max(||x||_2, eps) per row of n.
void l2_normalize(const float* x, float* y, int64_t rows, int64_t n, float eps);

// ops::top_k: the k best of each row of n, values [rows, k] and indices [rows, k].
void top_k(const float* x, int64_t rows, int64_t n, int64_t k, float* values, int32_t* indices);

// The causal mask as ops::attention computes it, stored: [l, l] additive, 0 or -inf.
std::vector<float> causal_mask(int64_t l);

// c[i] = a[i] + b[i % bn]
void add(const float* a, const float* b, float* c, int64_t n, int64_t bn);

// ops::copy: dst at dst_strides = src at src_strides, element by element over shape (any rank).
void copy(const float* src, const Shape& src_strides, float* dst, const Shape& dst_strides, const Shape& shape);

// [B,L,H·D] -> [B,H,L,D], and back.
void split_heads(const float* x, float* y, int64_t b, int64_t l, int64_t h, int64_t d);
void merge_heads(const float* heads, float* x, int64_t b, int64_t l, int64_t h, int64_t d);

// ops::gather_rows: out[r] = table[ids[r]] for n ids, table [v, e]; an id outside [0, v) is
// an Error naming it (the shader trusts its ids; this is where they are checked).
void gather_rows(const float* table, int64_t v, int64_t e, const int32_t* ids, int64_t n, float* out);

// Attention on contiguous q [B,H,L,D], k, v [B,H,S,D] into out [B,H,L,D]; weights [B,L,S]
// (averaged over heads) when not null. key_pad [B,S] and attn_mask [L,S] are additive. A row
// with a NaN score is NaN; a row whose keys are all masked gives zeros.
void attention(const float* q, const float* k, const float* v, float* out, float* weights, int64_t b,
               int64_t h, int64_t l, int64_t s, int64_t d, ops::Score score, float scale,
               const float* key_pad, const float* attn_mask);
// ops::attention_weights: the head-averaged probabilities [B,L,S] alone, same arguments.
void attention_weights(const float* q, const float* k, float* weights, int64_t b, int64_t h, int64_t l, int64_t s,
                       int64_t d, ops::Score score, float scale, const float* key_pad, const float* attn_mask);

// What ops::fma_peak's chains sum to (out [n]).
void fma_peak(float* out, int64_t n, uint32_t steps);

}  // namespace vkfuse::ref
