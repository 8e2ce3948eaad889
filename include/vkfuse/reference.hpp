#pragma once
#include <cstdint>
#include <vector>

#include "vkfuse/ops.hpp"

// Plain C++ CPU references of every op in ops.hpp (engine/ref/<op>.cpp), on host arrays. They
// accumulate in double so that they are a tighter reference than any fp32 kernel.
namespace vkfuse::ref {

// A row-major host tensor for the references of the graph ops, which take floats and integers
// alike: floats in f, or (integer) 64-bit integers in i for integer and bool data (0/1).
struct Array {
  bool integer = false;
  Shape shape;
  std::vector<float> f;
  std::vector<int64_t> i;

  int64_t numel() const { return shape_numel(shape); }
  double at(int64_t k) const { return integer ? double(i[size_t(k)]) : double(f[size_t(k)]); }
  int64_t int_at(int64_t k) const { return integer ? i[size_t(k)] : int64_t(f[size_t(k)]); }
  static Array floats(Shape shape, std::vector<float> v);
  static Array ints(Shape shape, std::vector<int64_t> v);
};

// The activations of ops::relu, ops::gelu, ops::sigmoid, element by element.
float relu(float x);
float gelu(float x);     // 0.5·x·(1 + erf(x/√2))
float sigmoid(float x);  // 1 / (1 + e^-x)
// Any ops::Activation of x (double: the matmul epilogue's accumulator) with its parameters a,
// b, rounded to float.
float activate(ops::Activation f, double x, double a = 0, double b = 0);

// c[b] = act(alpha·a[b]·op(b[b]) + bias) (+ residual[b]); a [batch,M,K]; b [batch or 1,K,N]
// ([.., N,K] if trans_b); c and residual [batch,M,N].
void matmul(const float* a, const float* b, float* c, int64_t batch, int64_t m, int64_t n,
            int64_t k, const ops::MatmulOptions& o, const float* bias, bool b_broadcast,
            const float* residual = nullptr);

// Rows of length n; mask [mask_rows, n] or null. A row with a NaN logit is NaN (as PyTorch);
// a row with no finite logit (all masked) gives zeros.
// With log, log-softmax: v - max - log Σ e^(v - max) (an all-masked row is still zeros).
void softmax(const float* x, float* y, int64_t rows, int64_t n, float scale,
             const float* mask, int64_t mask_rows, bool log = false);

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

// ---- The graph ops' references (ops.hpp, "The ops of graphs") ----

// ops::pointwise with numpy broadcasting, in double (int64 for integer math); the result is
// integer when `integer_out` (comparisons and the like give 0/1).
Array pointwise(ops::Pointwise op, const std::vector<const Array*>& in, bool integer_out,
                const ops::PointwiseOptions& o = {});
// The broadcast shape of shapes, numpy's rule; an Error naming both when they do not broadcast.
Shape broadcast_shape(const Shape& a, const Shape& b);

// ops::conv: x [N, C, *in], w [OC, C/groups, *kernel], y [N, OC, *out] (sized by the caller);
// bias [OC] and residual (y's shape) may be null. o.bias and o.residual are not read.
void conv(const float* x, const Shape& xs, const float* w, const Shape& ws, const float* bias, const float* residual,
          float* y, const Shape& ys, const ops::ConvOptions& o);

// ops::pool: x [N, C, *in] into y [N, C, *out] (sized by the caller).
void pool(const float* x, const Shape& xs, float* y, const Shape& ys, ops::PoolKind kind, const ops::PoolOptions& o);

// ops::reduce over the axes listed (any, each once; none reduces nothing) of x; the result has
// x's shape with those axes of size 1 (keepdims). ArgMax/ArgMin give integers.
Array reduce(const Array& x, const std::vector<int64_t>& axes, ops::Reduce op, bool select_last = false);

// One axis of a resize: for each output index, `taps` input indices (clamped inside the axis)
// and their weights, as ops::resize's options give them; scale is out / in (as ONNX's scales).
struct ResizeTaps {
  int taps = 1;
  std::vector<int64_t> index;  // [out, taps]
  std::vector<double> weight;  // [out, taps]
};
ResizeTaps resize_taps(int64_t in, int64_t out, double scale, const ops::ResizeOptions& o);
// ops::resize: x [*in] into y [*out] (sized by the caller, same rank).
void resize(const float* x, const Shape& xs, float* y, const Shape& ys, const ops::ResizeOptions& o);

// ops::pad: y of shape `out` from x placed at `before` per axis, the rest by `mode`.
Array pad(const Array& x, const std::vector<int64_t>& before, const Shape& out, ops::PadMode mode, double value);

// ops::gather along axis by indices (negative count from the end); an index outside the axis
// is an Error naming it.
Array gather(const Array& x, const Array& indices, int axis);

}  // namespace vkfuse::ref
