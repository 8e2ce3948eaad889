// CPU reference of ops::pad (engine/ops/pad.cpp), for floats and integers alike.
#include <string>

#include "vkfuse/error.hpp"
#include "vkfuse/reference.hpp"

namespace vkfuse::ref {

Array pad(const Array& x, const std::vector<int64_t>& before, const Shape& out, ops::PadMode mode, double value) {
  const size_t rank = x.shape.size();
  if (before.size() != rank || out.size() != rank)
    throw Error("ref::pad: x " + shape_string(x.shape) + ", offsets and output " + shape_string(out) + " differ in rank");
  Array y;
  y.integer = x.integer;
  y.shape = out;
  const int64_t n = shape_numel(out);
  if (y.integer) y.i.assign(size_t(n), int64_t(value));
  else y.f.assign(size_t(n), float(value));
  if (x.numel() == 0) return y;
  for (int64_t e = 0; e < n; ++e) {
    int64_t r = e, at = 0, step = 1;
    bool fill = false;
    for (size_t d = rank; d-- > 0;) {
      const int64_t o = r % out[d], len = x.shape[d];
      r /= out[d];
      int64_t c = o - before[d];
      if (c < 0 || c >= len) {
        switch (mode) {
          case ops::PadMode::Constant: fill = true; break;
          case ops::PadMode::Edge: c = c < 0 ? 0 : len - 1; break;
          case ops::PadMode::Wrap: c = ((c % len) + len) % len; break;
          case ops::PadMode::Reflect: {
            const int64_t period = len > 1 ? 2 * (len - 1) : 1;
            c = ((c % period) + period) % period;
            if (c >= len) c = period - c;
            break;
          }
        }
      }
      at += c * step;
      step *= len;
    }
    if (fill) continue;
    if (y.integer) y.i[size_t(e)] = x.i[size_t(at)];
    else y.f[size_t(e)] = x.f[size_t(at)];
  }
  return y;
}

}  // namespace vkfuse::ref
