#pragma once
// What the op families (graph/ops/*.cpp) share: schema shorthands, shape helpers, and the
// lowering's common moves.
#include <string>
#include <vector>

#include "graph/lower.h"
#include "graph/op_table.h"
#include "io/message_text.h"

namespace vkfuse::detail::graph::rules {

using A = onnx::AttrType;

// Output 0 takes input 0's type and shape.
inline void same_as_input(const NodeCtx& c, std::vector<TypeShape>& out) { out[0] = c.in(0); }

// numpy's broadcast of two shapes, or an Error naming the node.
inline Shape broadcast(const NodeCtx& c, const Shape& a, const Shape& b) {
  try {
    return ref::broadcast_shape(a, b);
  } catch (const Error& e) {
    c.fail(e.what());
  }
}

// Axes made non-negative, each once.
inline std::vector<int64_t> axes_of(const NodeCtx& c, std::vector<int64_t> axes, int64_t rank, const char* what) {
  std::vector<bool> seen(size_t(std::max<int64_t>(rank, 0)), false);
  for (auto& a : axes) {
    a = c.axis(a, rank, what);
    if (seen[size_t(a)]) c.fail(std::string(what) + " names axis " + std::to_string(a) + " twice");
    seen[size_t(a)] = true;
  }
  return axes;
}

// BatchNormalization in inference is y = x·mul + add per channel: mul = scale / sqrt(var +
// eps), add = B - mean·mul, computed in double (graph/ops/norm_ops.cpp). The BatchNormalization
// lowering applies it; the Conv lowering folds it into the weights and bias before it.
void batch_norm_affine(double eps, const HostArray& scale, const HostArray& b, const HostArray& mean,
                       const HostArray& var, std::vector<float>& mul, std::vector<float>& add);

// The strides that view a tensor of shape `from` and strides `st` as `to` (same element
// count) without a copy, or false where its strides do not allow one: each run of axes that
// merges or splits must be contiguous within itself (PyTorch's view rule).
inline bool view_strides(const Shape& from, const Shape& st, const Shape& to, Shape& out) {
  if (from.empty() || shape_numel(from) == 0) return false;
  out.assign(to.size(), 1);
  int64_t view_d = int64_t(to.size()) - 1, base = st.back(), tensor_n = 1, view_n = 1;
  for (int64_t d = int64_t(from.size()) - 1; d >= 0; --d) {
    tensor_n *= from[size_t(d)];
    if (d == 0 || (from[size_t(d - 1)] != 1 && st[size_t(d - 1)] != tensor_n * base)) {
      while (view_d >= 0 && (view_n < tensor_n || to[size_t(view_d)] == 1)) {
        out[size_t(view_d)] = view_n * base;
        view_n *= to[size_t(view_d)];
        --view_d;
      }
      if (view_n != tensor_n) return false;
      if (d > 0) {
        base = st[size_t(d - 1)];
        tensor_n = view_n = 1;
      }
    }
  }
  return view_d == -1;
}

// t with another shape of the same element count: a view where t's strides allow one and
// keep the last axis contiguous (a slice's rows split into heads: every kernel reads that
// form), else a contiguous copy first.
inline Tensor reshaped(Lowering& l, const Tensor& t, const Shape& shape) {
  if (t.contiguous()) return t.reshape(shape);
  Shape st;
  if (view_strides(t.shape(), t.strides(), shape, st) && (shape.empty() || shape.back() == 1 || st.back() == 1))
    return t.view(shape, st, t.offset());
  return l.contiguous(t).reshape(shape);
}

// The attribute `name` of a node, or the step's own.
inline std::string q(const std::string& s) { return quote(clipped(s, 200)); }

}  // namespace vkfuse::detail::graph::rules
