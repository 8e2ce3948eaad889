// CPU reference of ops::pointwise (engine/ops/pointwise.cpp): numpy broadcasting, each op in
// double (int64 for integer math), as ONNX defines it.
#include <cmath>
#include <limits>
#include <string>

#include "ref/activation.h"
#include "vkfuse/error.hpp"
#include "vkfuse/half.hpp"
#include "vkfuse/reference.hpp"

namespace vkfuse::ref {

Array Array::floats(Shape shape, std::vector<float> v) {
  Array a;
  a.shape = std::move(shape);
  a.f = std::move(v);
  return a;
}

Array Array::ints(Shape shape, std::vector<int64_t> v) {
  Array a;
  a.integer = true;
  a.shape = std::move(shape);
  a.i = std::move(v);
  return a;
}

Shape broadcast_shape(const Shape& a, const Shape& b) {
  const size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t d = 0; d < r; ++d) {
    const int64_t x = d + a.size() >= r ? a[d + a.size() - r] : 1;
    const int64_t y = d + b.size() >= r ? b[d + b.size() - r] : 1;
    if (x != y && x != 1 && y != 1)
      throw Error("shapes " + shape_string(a) + " and " + shape_string(b) + " do not broadcast");
    out[d] = x == 1 ? y : x;
  }
  return out;
}

namespace {

using ops::Pointwise;

// The comparisons, logic and the ternary ops: one rule for floats (double) and integers.
template <class T> T common_op(Pointwise op, T x, T y, T z) {
  switch (op) {
    case Pointwise::Equal: return x == y;
    case Pointwise::Less: return x < y;
    case Pointwise::Greater: return x > y;
    case Pointwise::LessOrEqual: return x <= y;
    case Pointwise::GreaterOrEqual: return x >= y;
    case Pointwise::And: return x != 0 && y != 0;
    case Pointwise::Or: return x != 0 || y != 0;
    case Pointwise::Xor: return (x != 0) != (y != 0);
    case Pointwise::PRelu: return x < 0 ? y * x : x;
    case Pointwise::Where: return x != 0 ? y : z;
    case Pointwise::MulAdd: return x * y + z;
    default: return x;  // Copy, Cast (integers: the ops with no integer form)
  }
}

double float_op(Pointwise op, double x, double y, double z, const ops::PointwiseOptions& o) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  switch (op) {
    case Pointwise::Copy: case Pointwise::Cast: return x;
    case Pointwise::Neg: return -x;
    case Pointwise::Abs: return std::fabs(x);
    case Pointwise::Exp: return std::exp(x);
    case Pointwise::Log: return std::log(x);
    case Pointwise::Sqrt: return std::sqrt(x);
    case Pointwise::Reciprocal: return 1.0 / x;
    case Pointwise::Erf: return std::erf(x);
    case Pointwise::Floor: return std::floor(x);
    case Pointwise::Ceil: return std::ceil(x);
    case Pointwise::Round: return std::nearbyint(x);  // the default rounding mode: half to even
    case Pointwise::Sign: return std::isnan(x) ? x : double((x > 0) - (x < 0));
    case Pointwise::Sin: return std::sin(x);
    case Pointwise::Cos: return std::cos(x);
    case Pointwise::Not: return x == 0;
    case Pointwise::IsNaN: return std::isnan(x);
    case Pointwise::IsInf: return std::isinf(x) && ((o.inf_positive && x > 0) || (o.inf_negative && x < 0));
    case Pointwise::Softsign: return x / (1 + std::fabs(x));
    case Pointwise::Activate: return activate(o.act, x, o.alpha, o.beta);
    case Pointwise::Add: return x + y;
    case Pointwise::Sub: return x - y;
    case Pointwise::Mul: return x * y;
    case Pointwise::Div: return x / y;
    case Pointwise::Pow: return std::pow(x, y);
    case Pointwise::Max: return std::isnan(x) || std::isnan(y) ? nan : std::max(x, y);
    case Pointwise::Min: return std::isnan(x) || std::isnan(y) ? nan : std::min(x, y);
    case Pointwise::Mod: {
      const double r = std::fmod(x, y);
      return r != 0 && ((r < 0) != (y < 0)) ? r + y : r;
    }
    case Pointwise::FMod: return std::fmod(x, y);
    default: return common_op(op, x, y, z);
  }
}

int64_t int_op(Pointwise op, int64_t x, int64_t y, int64_t z) {
  switch (op) {
    case Pointwise::Neg: return -x;
    case Pointwise::Abs: return x < 0 ? -x : x;
    case Pointwise::Sign: return (x > 0) - (x < 0);
    case Pointwise::Not: return x == 0;
    case Pointwise::Add: return x + y;
    case Pointwise::Sub: return x - y;
    case Pointwise::Mul: return x * y;
    case Pointwise::Div: return y == 0 ? 0 : x / y;
    case Pointwise::Pow: {
      int64_t r = 1;
      for (int64_t e = 0; e < y && e < 64; ++e) r *= x;
      return r;
    }
    case Pointwise::Max: return std::max(x, y);
    case Pointwise::Min: return std::min(x, y);
    case Pointwise::Mod: {
      if (y == 0) return 0;
      const int64_t r = x % y;
      return r != 0 && ((r < 0) != (y < 0)) ? r + y : r;
    }
    case Pointwise::FMod: return y == 0 ? 0 : x % y;
    case Pointwise::Copy: case Pointwise::Cast: return x;
    default: return common_op(op, x, y, z);
  }
}

int64_t wrap(ops::CastTo c, int64_t v) {
  switch (c) {
    case ops::CastTo::Bool: return v != 0;
    case ops::CastTo::I8: return int8_t(uint8_t(v));
    case ops::CastTo::U8: return uint8_t(v);
    case ops::CastTo::I16: return int16_t(uint16_t(v));
    case ops::CastTo::U16: return uint16_t(v);
    default: return v;
  }
}

}  // namespace

Array pointwise(ops::Pointwise op, const std::vector<const Array*>& in, bool integer_out,
                const ops::PointwiseOptions& o) {
  const int arity = ops::pointwise_arity(op);
  if (int(in.size()) != arity)
    throw Error(std::string("ref::pointwise ") + ops::pointwise_name(op) + ": takes " + std::to_string(arity) +
                " inputs, got " + std::to_string(in.size()));
  Shape shape = in[0]->shape;
  for (size_t k = 1; k < in.size(); ++k) shape = broadcast_shape(shape, in[k]->shape);
  const size_t rank = shape.size();
  // Row-major strides of each input over the output's dimensions, 0 where it broadcasts.
  std::vector<Shape> strides;
  for (const Array* a : in) {
    Shape st(rank, 0);
    int64_t step = 1;
    for (size_t d = a->shape.size(); d-- > 0;) {
      const size_t od = d + rank - a->shape.size();
      if (a->shape[d] != 1) st[od] = step;
      step *= a->shape[d];
    }
    strides.push_back(std::move(st));
  }
  bool int_math = true;
  for (size_t k = op == Pointwise::Where ? 1 : 0; k < in.size(); ++k) int_math = int_math && in[k]->integer;
  Array y;
  y.integer = integer_out;
  y.shape = shape;
  const int64_t n = shape_numel(shape);
  if (integer_out) y.i.resize(size_t(n));
  else y.f.resize(size_t(n));
  std::vector<int64_t> at(in.size());
  for (int64_t e = 0; e < n; ++e) {
    int64_t r = e;
    std::fill(at.begin(), at.end(), 0);
    for (size_t d = rank; d-- > 0;) {
      const int64_t c = r % shape[d];
      r /= shape[d];
      for (size_t k = 0; k < in.size(); ++k) at[k] += c * strides[k][d];
    }
    auto val = [&](size_t k) { return k < in.size() ? in[k]->at(at[k]) : 0.0; };
    auto ival = [&](size_t k) { return k < in.size() ? in[k]->int_at(at[k]) : int64_t(0); };
    if (op == Pointwise::Where) {
      const bool c = in[0]->integer ? in[0]->i[size_t(at[0])] != 0 : in[0]->f[size_t(at[0])] != 0;
      const size_t k = c ? 1 : 2;
      if (integer_out) y.i[size_t(e)] = ival(k);
      else y.f[size_t(e)] = float(val(k));
    } else if (int_math) {
      const int64_t v = wrap(op == Pointwise::Cast ? o.cast : ops::CastTo::Same, int_op(op, ival(0), ival(1), ival(2)));
      if (integer_out) y.i[size_t(e)] = v;
      else y.f[size_t(e)] = float(v);
    } else {
      const double v = float_op(op, val(0), val(1), val(2), o);
      if (integer_out) {
        const bool to_bool = op == Pointwise::Cast && o.cast == ops::CastTo::Bool;
        // A float to an integer truncates toward zero; NaN and values past int64 become 0.
        const int64_t t = to_bool ? int64_t(v != 0) : (std::isfinite(v) && std::fabs(v) < 9.2e18 ? int64_t(v) : 0);
        y.i[size_t(e)] = wrap(op == Pointwise::Cast ? o.cast : ops::CastTo::Same, t);
      } else if (op == Pointwise::Cast && o.cast == ops::CastTo::F16) {
        y.f[size_t(e)] = round_to_16bit(float(v), DType::F16);
      } else if (op == Pointwise::Cast && o.cast == ops::CastTo::BF16) {
        y.f[size_t(e)] = round_to_16bit(float(v), DType::BF16);
      } else {
        y.f[size_t(e)] = float(v);
      }
    }
  }
  return y;
}

}  // namespace vkfuse::ref
