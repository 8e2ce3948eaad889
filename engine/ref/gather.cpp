// CPU reference of ops::gather (engine/ops/gather.cpp), for floats and integers alike.
#include <string>

#include "vkfuse/error.hpp"
#include "vkfuse/reference.hpp"

namespace vkfuse::ref {

Array gather(const Array& x, const Array& indices, int axis) {
  const int rank = int(x.shape.size());
  if (axis < 0 || axis >= rank) throw Error("gather: axis " + std::to_string(axis) + " is outside " + shape_string(x.shape));
  const int64_t len = x.shape[size_t(axis)];
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= x.shape[size_t(d)];
  for (int d = axis + 1; d < rank; ++d) inner *= x.shape[size_t(d)];
  const int64_t m = indices.numel();
  std::vector<int64_t> idx(static_cast<size_t>(m));
  for (int64_t j = 0; j < m; ++j) {
    int64_t k = indices.int_at(j);
    if (k < -len || k >= len)
      throw Error("gather: index " + std::to_string(k) + " (element " + std::to_string(j) + ") is outside an axis of " +
                  std::to_string(len));
    idx[size_t(j)] = k < 0 ? k + len : k;
  }
  Array y;
  y.integer = x.integer;
  y.shape.assign(x.shape.begin(), x.shape.begin() + axis);
  y.shape.insert(y.shape.end(), indices.shape.begin(), indices.shape.end());
  y.shape.insert(y.shape.end(), x.shape.begin() + axis + 1, x.shape.end());
  const int64_t n = outer * m * inner;
  if (y.integer) y.i.resize(size_t(n));
  else y.f.resize(size_t(n));
  int64_t at = 0;
  for (int64_t a = 0; a < outer; ++a)
    for (int64_t j = 0; j < m; ++j)
      for (int64_t b = 0; b < inner; ++b, ++at) {
        const size_t src = size_t((a * len + idx[size_t(j)]) * inner + b);
        if (y.integer) y.i[size_t(at)] = x.i[src];
        else y.f[size_t(at)] = x.f[src];
      }
  return y;
}

}  // namespace vkfuse::ref
