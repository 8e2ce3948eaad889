// CPU references of ops::attention and ops::attention_weights (engine/ops/attention.cpp): the
// scores of docs/model-format.md §4, masks, softmax over keys, in double. A NaN score makes
// its row NaN (PyTorch's semantics); a row whose keys are all masked gives zeros.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "vkfuse/reference.hpp"

namespace vkfuse::ref {

namespace {
// Both outputs from one pass: out [B,H,L,D] when v and out are given, the head-averaged
// probabilities [B,L,S] when weights is.
void attend(const float* q, const float* k, const float* v, float* out, float* weights, int64_t b, int64_t h,
            int64_t l, int64_t s, int64_t d, ops::Score score, float scale, const float* key_pad,
            const float* attn_mask) {
  const double sc = scale != 0.f ? scale : 1.0 / std::sqrt(static_cast<double>(d));
  const double ninf = -std::numeric_limits<double>::infinity();
  std::vector<double> x(static_cast<size_t>(s)), acc(static_cast<size_t>(d));
  std::vector<double> wsum(weights ? static_cast<size_t>(b * l * s) : 0, 0.0);
  for (int64_t ib = 0; ib < b; ++ib)
    for (int64_t ih = 0; ih < h; ++ih)
      for (int64_t il = 0; il < l; ++il) {
        const float* qr = q + ((ib * h + ih) * l + il) * d;
        double mx = ninf;
        bool nan = false;  // a NaN score makes the row NaN, as PyTorch's softmax does
        for (int64_t j = 0; j < s; ++j) {
          const float* kr = k + ((ib * h + ih) * s + j) * d;
          double a = 0;
          for (int64_t e = 0; e < d; ++e) {
            double t = static_cast<double>(qr[e]) - kr[e];
            a += score == ops::Score::Dot            ? double(qr[e]) * kr[e]
                 : score == ops::Score::NegEuclidean ? t * t
                                                     : std::fabs(t);
          }
          double sj = score == ops::Score::Dot            ? sc * a
                      : score == ops::Score::NegEuclidean ? -sc * std::sqrt(a)
                                                          : -sc * a;
          if (key_pad) sj += key_pad[ib * s + j];
          if (attn_mask) sj += attn_mask[il * s + j];
          x[j] = sj;
          nan = nan || std::isnan(sj);
          mx = std::max(mx, sj);
        }
        float* o = out ? out + ((ib * h + ih) * l + il) * d : nullptr;
        if (nan) {
          if (o) std::fill(o, o + d, std::numeric_limits<float>::quiet_NaN());
          if (weights)
            for (int64_t j = 0; j < s; ++j) wsum[(ib * l + il) * s + j] = std::numeric_limits<double>::quiet_NaN();
          continue;
        }
        if (o) std::fill(o, o + d, 0.f);
        if (mx == ninf) continue;  // every key masked: zeros
        double sum = 0;
        for (int64_t j = 0; j < s; ++j) sum += std::exp(x[j] - mx);
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t j = 0; j < s; ++j) {
          double pj = std::exp(x[j] - mx) / sum;
          if (weights) wsum[(ib * l + il) * s + j] += pj;
          if (!o) continue;
          const float* vr = v + ((ib * h + ih) * s + j) * d;
          for (int64_t e = 0; e < d; ++e) acc[e] += pj * vr[e];
        }
        if (o)
          for (int64_t e = 0; e < d; ++e) o[e] = static_cast<float>(acc[e]);
      }
  if (weights)
    for (size_t i = 0; i < wsum.size(); ++i) weights[i] = static_cast<float>(wsum[i] / static_cast<double>(h));
}
}  // namespace

void attention(const float* q, const float* k, const float* v, float* out, float* weights, int64_t b, int64_t h,
               int64_t l, int64_t s, int64_t d, ops::Score score, float scale, const float* key_pad,
               const float* attn_mask) {
  attend(q, k, v, out, weights, b, h, l, s, d, score, scale, key_pad, attn_mask);
}

void attention_weights(const float* q, const float* k, float* weights, int64_t b, int64_t h, int64_t l, int64_t s,
                       int64_t d, ops::Score score, float scale, const float* key_pad, const float* attn_mask) {
  attend(q, k, nullptr, nullptr, weights, b, h, l, s, d, score, scale, key_pad, attn_mask);
}

}  // namespace vkfuse::ref

namespace vkfuse::ref {

std::vector<float> causal_mask(int64_t l) {
  std::vector<float> m(static_cast<size_t>(l * l), 0.f);
  for (int64_t i = 0; i < l; ++i)
    for (int64_t j = i + 1; j < l; ++j) m[i * l + j] = -std::numeric_limits<float>::infinity();
  return m;
}

}  // namespace vkfuse::ref
