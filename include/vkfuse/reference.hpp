#pragma once
#include <cstdint>

#include "vkfuse/ops.hpp"

// Plain C++ CPU references of the kernels in ops.hpp, on contiguous host arrays. They
// accumulate in double so that they are a tighter reference than any fp32 kernel.
namespace vkfuse::ref {

float relu(float x);
float gelu(float x);  // 0.5·x·(1 + erf(x/√2))

// c[b] = act(alpha·a[b]·op(b[b]) + bias) (+ residual[b]); a [batch,M,K]; b [batch or 1,K,N]
// ([.., N,K] if trans_b); c and residual [batch,M,N].
void matmul(const float* a, const float* b, float* c, int64_t batch, int64_t m, int64_t n,
            int64_t k, const ops::MatmulOptions& o, const float* bias, bool b_broadcast,
            const float* residual = nullptr);

// Rows of length n; mask [mask_rows, n] or null. A row with no finite logit gives zeros.
void softmax(const float* x, float* y, int64_t rows, int64_t n, float scale,
             const float* mask, int64_t mask_rows);

void layer_norm(const float* x, const float* residual, float* y, int64_t rows, int64_t n,
                float eps, const float* weight, const float* bias);

// c[i] = a[i] + b[i % bn]
void add(const float* a, const float* b, float* c, int64_t n, int64_t bn);

// [B,L,H·D] -> [B,H,L,D]
void split_heads(const float* x, float* y, int64_t b, int64_t l, int64_t h, int64_t d);

// Attention on contiguous q [B,H,L,D], k, v [B,H,S,D] into out [B,H,L,D]; weights [B,L,S]
// (averaged over heads) when not null. key_pad [B,S] and attn_mask [L,S] are additive.
void attention(const float* q, const float* k, const float* v, float* out, float* weights, int64_t b,
               int64_t h, int64_t l, int64_t s, int64_t d, ops::Score score, float scale,
               const float* key_pad, const float* attn_mask);

}  // namespace vkfuse::ref
