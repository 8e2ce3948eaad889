#pragma once
// Argument checks and small helpers shared by the op files.
#include <string>
#include <utility>

#include "runtime/dispatch.h"
#include "vkfuse/error.hpp"
#include "vkfuse/ops.hpp"
#include "vkfuse/tensor.hpp"

namespace vkfuse::detail {

inline uint32_t u32(int64_t v) { return static_cast<uint32_t>(v); }
inline uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

inline void require(bool ok, const std::string& op, const std::string& what) {
  if (!ok) throw Error(op + ": " + what);
}

inline void check_f32(const Tensor& t, const std::string& op, const char* name) {
  require(t.defined(), op, std::string(name) + " is an empty tensor");
  require(t.dtype() == DType::F32, op, std::string(name) + " is " + t.describe() + ", not F32");
}

// A tensor seen as `rows` rows of `n` contiguous elements, `ld` elements apart.
struct Rows {
  uint32_t rows, n, ld;
};

inline Rows as_rows(const Tensor& t, const std::string& op, const char* name) {
  check_f32(t, op, name);
  require(t.rank() >= 1, op, std::string(name) + " must have at least one dimension");
  const Shape& s = t.shape();
  const Shape& st = t.strides();
  int r = t.rank();
  require(s[r - 1] <= 1 || st[r - 1] == 1, op,
          std::string(name) + " " + t.describe() + " must be contiguous in its last dimension");
  int64_t ld = r >= 2 ? st[r - 2] : s[r - 1];
  for (int i = r - 3; i >= 0; --i)
    require(s[i] <= 1 || st[i] == st[i + 1] * s[i + 1], op,
            std::string(name) + " " + t.describe() + ": leading dimensions must be one run of rows");
  return {u32(t.numel() / std::max<int64_t>(s[r - 1], 1)), u32(s[r - 1]), u32(ld)};
}

// Invocations per row for a row kernel: the tuned value, doubled (up to the workgroup) until
// one invocation's walk over its share of the row fits the loop budget.
inline uint32_t row_tpr(uint32_t n, uint32_t tpr, uint32_t wg, const std::string& op);

// x and y as rows of the same shape (the row kernels' input and output).
inline std::pair<Rows, Rows> same_rows(const Tensor& x, const Tensor& y, const std::string& op) {
  Rows rx = as_rows(x, op, "x"), ry = as_rows(y, op, "y");
  require(rx.rows == ry.rows && rx.n == ry.n, op, "x " + x.describe() + " and y " + y.describe() + " differ in shape");
  return {rx, ry};
}

inline Binding reads(const Tensor& t) { return {t.storage(), false}; }
inline Binding writes(const Tensor& t) { return {t.storage(), true}; }
inline Binding reads_texels(const Tensor& t) { return {t.storage(), false, true, texel_format(t.dtype())}; }

}  // namespace vkfuse::detail

#include "loop_budget.h"

inline uint32_t vkfuse::detail::row_tpr(uint32_t n, uint32_t tpr, uint32_t wg, const std::string& op) {
  while (row_edges(n, tpr, 3, 2) > kLoopBudget && tpr < wg) tpr *= 2;
  require(row_edges(n, tpr, 3, 2) <= kLoopBudget, op,
          "rows of " + std::to_string(n) + " elements are too long for one workgroup of " +
              std::to_string(wg) + " invocations (a shader invocation may take at most " +
              std::to_string(kLoopBudget) + " loop steps)");
  return tpr;
}
