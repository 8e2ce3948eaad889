// CPU reference of ops::conv (engine/ops/conv.cpp): the definition, one output at a time, in
// double.
#include <string>

#include "vkfuse/error.hpp"
#include "vkfuse/reference.hpp"

namespace vkfuse::ref {

namespace {
// Spatial sizes right-aligned into three axes (leading ones of size 1).
struct Axes3 {
  int64_t v[3] = {1, 1, 1};
};
Axes3 spatial(const Shape& s) {
  Axes3 a;
  const size_t sp = s.size() - 2;
  for (size_t d = 0; d < sp; ++d) a.v[3 - sp + d] = s[2 + d];
  return a;
}
Axes3 option(const std::vector<int64_t>& v, size_t sp, int64_t missing, size_t offset = 0) {
  Axes3 a;
  for (size_t d = 0; d < 3; ++d) a.v[d] = d + sp >= 3 ? (v.empty() ? missing : v[offset + d + sp - 3]) : (missing ? 1 : 0);
  return a;
}
}  // namespace

void conv(const float* x, const Shape& xs, const float* w, const Shape& ws, const float* bias, const float* residual,
          float* y, const Shape& ys, const ops::ConvOptions& o) {
  if (xs.size() < 3 || xs.size() > 5 || ws.size() != xs.size() || ys.size() != xs.size())
    throw Error("ref::conv: x " + shape_string(xs) + ", w " + shape_string(ws) + ", y " + shape_string(ys) +
                " should be [N, C, *spatial] with 1 to 3 spatial axes");
  const size_t sp = xs.size() - 2;
  const int64_t n = xs[0], c = xs[1], oc = ws[0], g = o.groups, cg = c / g, ocg = oc / g;
  const Axes3 in = spatial(xs), k = spatial(ws), out = spatial(ys);
  const Axes3 st = option(o.strides, sp, 1), dl = option(o.dilations, sp, 1), pad = option(o.pads, sp, 0);
  const int64_t in_vol = in.v[0] * in.v[1] * in.v[2], taps = k.v[0] * k.v[1] * k.v[2];
  const int64_t out_vol = out.v[0] * out.v[1] * out.v[2];
  for (int64_t b = 0; b < n; ++b)
    for (int64_t m = 0; m < oc; ++m) {
      const int64_t grp = m / ocg;
      for (int64_t od = 0; od < out.v[0]; ++od)
        for (int64_t oh = 0; oh < out.v[1]; ++oh)
          for (int64_t ow = 0; ow < out.v[2]; ++ow) {
            double acc = 0;
            for (int64_t ci = 0; ci < cg; ++ci) {
              const float* plane = x + (b * c + grp * cg + ci) * in_vol;
              const float* wk = w + (m * cg + ci) * taps;
              for (int64_t kd = 0; kd < k.v[0]; ++kd) {
                const int64_t id = od * st.v[0] + kd * dl.v[0] - pad.v[0];
                if (id < 0 || id >= in.v[0]) continue;
                for (int64_t kh = 0; kh < k.v[1]; ++kh) {
                  const int64_t ih = oh * st.v[1] + kh * dl.v[1] - pad.v[1];
                  if (ih < 0 || ih >= in.v[1]) continue;
                  for (int64_t kw = 0; kw < k.v[2]; ++kw) {
                    const int64_t iw = ow * st.v[2] + kw * dl.v[2] - pad.v[2];
                    if (iw < 0 || iw >= in.v[2]) continue;
                    acc += double(wk[(kd * k.v[1] + kh) * k.v[2] + kw]) * plane[(id * in.v[1] + ih) * in.v[2] + iw];
                  }
                }
              }
            }
            if (bias) acc += bias[m];
            const int64_t at = (b * oc + m) * out_vol + (od * out.v[1] + oh) * out.v[2] + ow;
            float r = activate(o.act, acc, o.act_alpha, o.act_beta);
            y[at] = residual ? r + residual[at] : r;
          }
    }
}

}  // namespace vkfuse::ref
