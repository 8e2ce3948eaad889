// CPU reference of ops::pool (engine/ops/pool.cpp), in double.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "vkfuse/error.hpp"
#include "vkfuse/reference.hpp"

namespace vkfuse::ref {

void pool(const float* x, const Shape& xs, float* y, const Shape& ys, ops::PoolKind kind, const ops::PoolOptions& o) {
  if (xs.size() < 3 || xs.size() > 5 || ys.size() != xs.size())
    throw Error("ref::pool: x " + shape_string(xs) + " and y " + shape_string(ys) + " should be [N, C, *spatial]");
  const size_t sp = xs.size() - 2;
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, k[3] = {1, 1, 1}, st[3] = {1, 1, 1}, dl[3] = {1, 1, 1};
  int64_t pb[3] = {0, 0, 0}, pe[3] = {0, 0, 0};
  for (size_t a = 0; a < sp; ++a) {
    const size_t d = 3 - sp + a;
    in[d] = xs[2 + a];
    out[d] = ys[2 + a];
    k[d] = o.kernel.at(a);
    if (!o.strides.empty()) st[d] = o.strides[a];
    if (!o.dilations.empty()) dl[d] = o.dilations[a];
    if (!o.pads.empty()) pb[d] = o.pads[a], pe[d] = o.pads[a + sp];
  }
  const int64_t planes = xs[0] * xs[1], in_vol = in[0] * in[1] * in[2];
  int64_t at = 0;
  for (int64_t pl = 0; pl < planes; ++pl)
    for (int64_t od = 0; od < out[0]; ++od)
      for (int64_t oh = 0; oh < out[1]; ++oh)
        for (int64_t ow = 0; ow < out[2]; ++ow) {
          const int64_t o3[3] = {od, oh, ow};
          double acc = kind == ops::PoolKind::Max ? -std::numeric_limits<double>::infinity() : 0.0;
          int64_t count = 0, padded = 1;
          bool nan = false;
          // The window's extent inside the padded input, per axis.
          for (int d = 0; d < 3; ++d) {
            int64_t inside = 0;
            for (int64_t t = 0; t < k[d]; ++t) inside += o3[d] * st[d] + t * dl[d] - pb[d] < in[d] + pe[d];
            padded *= inside;
          }
          for (int64_t kd = 0; kd < k[0]; ++kd)
            for (int64_t kh = 0; kh < k[1]; ++kh)
              for (int64_t kw = 0; kw < k[2]; ++kw) {
                const int64_t id = od * st[0] + kd * dl[0] - pb[0], ih = oh * st[1] + kh * dl[1] - pb[1],
                              iw = ow * st[2] + kw * dl[2] - pb[2];
                if (id < 0 || ih < 0 || iw < 0 || id >= in[0] || ih >= in[1] || iw >= in[2]) continue;
                const double v = x[pl * in_vol + (id * in[1] + ih) * in[2] + iw];
                nan = nan || std::isnan(v);
                acc = kind == ops::PoolKind::Max ? std::max(acc, v) : acc + v;
                ++count;
              }
          if (kind == ops::PoolKind::Average) acc = o.count_include_pad ? (padded ? acc / padded : 0) : (count ? acc / count : 0);
          y[at++] = nan ? std::numeric_limits<float>::quiet_NaN() : float(acc);
        }
}

}  // namespace vkfuse::ref
