#pragma once
#include "vkfuse/sequence.hpp"

// The core kernels. Each records one dispatch into a Sequence; each has a CPU reference of
// the same name in vkfuse::ref (reference.hpp). All arithmetic is fp32.
namespace vkfuse::ops {

// Gelu is the exact erf form; QuickGelu x·sigmoid(1.702x) (OpenAI CLIP); GeluTanh the tanh
// approximation (Hugging Face's "gelu_new", PyTorch's approximate='tanh'). The rest take their
// parameters a, b as ONNX defines them (shaders/include/activation_contract.h): Clip
// min(max(x, a), b), HardSigmoid max(0, min(1, a·x + b)), LeakyRelu and Elu a, Selu a and b.
enum class Activation {
  None, Relu, Gelu, QuickGelu, GeluTanh, Tanh,
  Sigmoid, Clip, HardSigmoid, HardSwish, LeakyRelu, Silu, Elu, Softplus, Selu
};

struct MatmulOptions {
  bool trans_b = false;          // C = A·Bᵀ, B given as [..., N, K]
  const Tensor* bias = nullptr;  // [N], added to every row
  Activation act = Activation::None;
  float alpha = 1.f;             // C = act(alpha·A·B + bias) (+ residual)
  const Tensor* residual = nullptr;  // added after the activation; C's shape and strides
  float act_alpha = 0.f, act_beta = 0.f;  // the activation's parameters a, b
};
// a [..., M, K], b [..., K, N] (or [..., N, K] with trans_b), c [..., M, N]; at most two
// batch dimensions, b's may be missing or of size 1 (broadcast). Rows may be strided, the
// last dimension of each must be contiguous.
void matmul(Sequence& s, const Tensor& a, const Tensor& b, const Tensor& c,
            const MatmulOptions& o = {});

struct SoftmaxOptions {
  float scale = 1.f;             // y = softmax(scale·x + mask) over the last axis
  const Tensor* mask = nullptr;  // additive [R, N]; row r of x uses mask row r % R
  bool log = false;              // log-softmax: y = l - max - log Σ e^(l - max)
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
// dst = src element by element (F32, or I32), any strides, rank <= 6, same shape: with Tensor::permute
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

// ---- The ops of graphs (ONNX): any rank, broadcasting, integers ----
// Tensors here are F32, or I32 for integer and bool data (bool as 0/1): a graph's int64 values
// live on the device as int32 (the graph layer checks the values it uploads fit).

// The element-by-element ops (pointwise_contract.h has their codes). One input: Copy ... Cast;
// two: Add ... PRelu; three: Where (a != 0 ? b : c), MulAdd (a·b + c).
enum class Pointwise : uint32_t {
  Copy, Neg, Abs, Exp, Log, Sqrt, Reciprocal, Erf, Floor, Ceil, Round, Sign, Sin, Cos, Not, IsNaN, IsInf,
  Softsign, Activate, Cast,
  Add, Sub, Mul, Div, Pow, Max, Min, Mod, FMod, Equal, Less, Greater, LessOrEqual, GreaterOrEqual, And, Or, Xor,
  PRelu,
  Where, MulAdd
};
int pointwise_arity(Pointwise op);
const char* pointwise_name(Pointwise op);

// Cast's conversion after the change of kind (F32 <-> I32 by y's dtype): integers wrap to a
// narrower type, floats round to a 16-bit one.
enum class CastTo : uint32_t { Same, Bool, I8, U8, I16, U16, F16, BF16 };

struct PointwiseOptions {
  Activation act = Activation::None;  // Activate: f and its parameters
  float alpha = 0.f, beta = 0.f;
  CastTo cast = CastTo::Same;         // Cast
  bool inf_positive = true, inf_negative = true;  // IsInf: which infinities count
};
// y = op(in...) with numpy broadcasting: each input has y's shape or broadcasts to it (its
// dimensions right-aligned with y's, each equal or 1); inputs are views of any strides
// (transposes, expands, negative-step slices are read in place), y is contiguous, rank <= 6
// once adjacent dimensions that move together are merged. Comparisons, Not, IsNaN, IsInf,
// And, Or, Xor give 0/1. Integer math where every data input is I32 (Div truncates, Mod takes
// the divisor's sign as Python's), else float math.
void pointwise(Sequence& s, Pointwise op, const std::vector<const Tensor*>& in, const Tensor& y,
               const PointwiseOptions& o = {});

struct ConvOptions {
  std::vector<int64_t> strides, dilations;  // per spatial axis (empty: 1)
  std::vector<int64_t> pads;                // begins then ends, per spatial axis (empty: 0)
  int64_t groups = 1;
  const Tensor* bias = nullptr;             // [OC]
  Activation act = Activation::None;
  float act_alpha = 0.f, act_beta = 0.f;
  const Tensor* residual = nullptr;         // y's shape, contiguous: added after the activation
};
// Convolution (cross-correlation, as ONNX and PyTorch define it) over 1 to 3 spatial axes:
// x [N, C, *in], w [OC, C / groups, *kernel], y [N, OC, *out], each contiguous; y = act(x ⋆ w +
// bias) + residual. Dense groups run as an implicit GEMM (the im2col matrix is never stored);
// depthwise ones (one input and one output channel a group) as a direct loop.
void conv(Sequence& s, const Tensor& x, const Tensor& w, const Tensor& y, const ConvOptions& o);
// Output size of one axis: floor((in + pads - dilation·(kernel - 1) - 1) / stride) + 1.
int64_t conv_out_size(int64_t in, int64_t kernel, int64_t stride, int64_t dilation, int64_t pad_begin, int64_t pad_end);

enum class PoolKind { Max, Average };
struct PoolOptions {
  std::vector<int64_t> kernel, strides, dilations, pads;  // per spatial axis; pads begins then ends
  bool count_include_pad = false;  // Average: divide by the window inside the padded input
};
// Max or average pooling over 1 to 3 spatial axes: x [N, C, *in], y [N, C, *out] contiguous,
// y's size chosen by the caller (ceil_mode gives a last window that may run past the padding:
// it is cut to the input). Padding never wins a max; an average divides by the elements inside
// the input, or with count_include_pad by those inside the padded input.
void pool(Sequence& s, const Tensor& x, const Tensor& y, PoolKind kind, const PoolOptions& o);

enum class Reduce { Sum, Mean, Max, Min, Prod, L1, L2, SumSquare, LogSum, LogSumExp, ArgMax, ArgMin };
// y[o] = reduce over the last `axes` dimensions of x (a view of any strides, rank <= 6: the
// caller permutes the reduced axes last); y contiguous with numel = x's kept elements, F32, or
// I32 for ArgMax/ArgMin (the first index of the extreme, the last with select_last). An empty
// reduction gives the op's identity (0, 1, -inf or +inf).
void reduce(Sequence& s, const Tensor& x, const Tensor& y, Reduce op, int axes, bool select_last = false);

struct ResizeOptions {
  enum Mode { Nearest, Linear, Cubic } mode = Nearest;
  enum Coordinate { HalfPixel, PytorchHalfPixel, AlignCorners, Asymmetric, TfHalfPixelForNn } coordinate = HalfPixel;
  enum Rounding { RoundPreferFloor, RoundPreferCeil, Floor, Ceil } nearest = RoundPreferFloor;
  float cubic_coeff_a = -0.75f;
  bool exclude_outside = false;
  std::vector<float> scales;  // per axis of x: y's size / x's as ONNX's scales (empty: from the sizes)
};
// Resize as ONNX defines it, on any axes of a rank <= 6 tensor: each output coordinate maps to
// an input coordinate by `coordinate`, then to one input element (Nearest) or to 2 (Linear) or
// 4 (Cubic) neighbours per resized axis, weighted; x and y contiguous F32.
void resize(Sequence& s, const Tensor& x, const Tensor& y, const ResizeOptions& o);

enum class PadMode { Constant, Reflect, Edge, Wrap };
// y[o] = x[o - before] per axis, with the places outside x (before and after) filled by
// `value` (Constant), mirrored without repeating the edge (Reflect), the edge repeated (Edge)
// or x repeated (Wrap: Tile is Wrap with before 0). Rank <= 6; x any strides, y contiguous; F32
// or I32 (value converted).
void pad(Sequence& s, const Tensor& x, const Tensor& y, const std::vector<int64_t>& before, PadMode mode,
         double value = 0);

// y = x gathered along `axis` by indices (I32, any shape; negative ones count from the end):
// y's shape is x's with the axis replaced by the indices' shape. x and y contiguous, F32 or
// I32. The shader clamps an index out of range to the axis (no read outside x); the graph
// layer checks the indices that come from a run's inputs first.
void gather(Sequence& s, const Tensor& x, const Tensor& indices, const Tensor& y, int axis);

}  // namespace vkfuse::ops
