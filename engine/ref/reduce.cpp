// CPU reference of ops::reduce (engine/ops/reduce.cpp), in double, over any set of axes.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "vkfuse/error.hpp"
#include "vkfuse/reference.hpp"

namespace vkfuse::ref {

Array reduce(const Array& x, const std::vector<int64_t>& axes, ops::Reduce op, bool select_last) {
  const size_t rank = x.shape.size();
  std::vector<bool> reduced(rank, false);
  for (int64_t a : axes) {
    if (a < 0 || size_t(a) >= rank || reduced[size_t(a)])
      throw Error("ref::reduce: axis " + std::to_string(a) + " of " + shape_string(x.shape) + " is out of range or repeated");
    reduced[size_t(a)] = true;
  }
  Shape out = x.shape;
  for (size_t d = 0; d < rank; ++d)
    if (reduced[d]) out[d] = 1;
  const bool arg = op == ops::Reduce::ArgMax || op == ops::Reduce::ArgMin;
  const int64_t n_out = shape_numel(out);
  const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
  // Per output: the accumulator, a second value (log-sum-exp's sum), the best index.
  std::vector<double> acc(static_cast<size_t>(n_out)), aux(static_cast<size_t>(n_out), 0.0);
  std::vector<int64_t> best(size_t(n_out), -1);
  const double start = op == ops::Reduce::Prod ? 1.0
                       : op == ops::Reduce::Max || op == ops::Reduce::ArgMax || op == ops::Reduce::LogSumExp ? -inf
                       : op == ops::Reduce::Min || op == ops::Reduce::ArgMin ? inf
                                                                            : 0.0;
  std::fill(acc.begin(), acc.end(), start);
  // Log-sum-exp: the max first, then the sum of exp(x - max).
  std::vector<double> mx(size_t(n_out), -inf);
  const int64_t n = x.numel();
  std::vector<int64_t> out_of(static_cast<size_t>(n)), pos_of(static_cast<size_t>(n));
  for (int64_t e = 0; e < n; ++e) {
    int64_t r = e, o = 0, ostep = 1, pos = 0, pstep = 1;
    for (size_t d = rank; d-- > 0;) {
      const int64_t c = r % x.shape[d];
      r /= x.shape[d];
      if (reduced[d]) {
        pos += c * pstep;
        pstep *= x.shape[d];
      } else {
        o += c * ostep;
      }
      ostep *= out[d];
    }
    out_of[size_t(e)] = o;
    pos_of[size_t(e)] = pos;
    if (op == ops::Reduce::LogSumExp) mx[size_t(o)] = std::isnan(x.at(e)) ? nan : std::max(mx[size_t(o)], x.at(e));
  }
  for (int64_t e = 0; e < n; ++e) {
    const size_t o = size_t(out_of[size_t(e)]);
    const double v = x.at(e);
    switch (op) {
      case ops::Reduce::Sum: case ops::Reduce::Mean: case ops::Reduce::LogSum: acc[o] += v; break;
      case ops::Reduce::Max: acc[o] = std::isnan(v) || std::isnan(acc[o]) ? nan : std::max(acc[o], v); break;
      case ops::Reduce::Min: acc[o] = std::isnan(v) || std::isnan(acc[o]) ? nan : std::min(acc[o], v); break;
      case ops::Reduce::Prod: acc[o] *= v; break;
      case ops::Reduce::L1: acc[o] += std::fabs(v); break;
      case ops::Reduce::L2: case ops::Reduce::SumSquare: acc[o] += v * v; break;
      case ops::Reduce::LogSumExp: if (std::isfinite(mx[o])) aux[o] += std::exp(v - mx[o]); break;
      case ops::Reduce::ArgMax: case ops::Reduce::ArgMin: {
        const bool better = best[o] < 0 || (v == acc[o] ? select_last : op == ops::Reduce::ArgMax ? v > acc[o] : v < acc[o]);
        if (better) acc[o] = v, best[o] = pos_of[size_t(e)];
        break;
      }
    }
  }
  const int64_t count = n_out ? n / n_out : 0;
  Array y;
  y.integer = arg;
  y.shape = out;
  if (arg) y.i.resize(size_t(n_out));
  else y.f.resize(size_t(n_out));
  for (size_t o = 0; o < size_t(n_out); ++o) {
    double v = acc[o];
    if (op == ops::Reduce::Mean) v = count ? v / double(count) : nan;
    if (op == ops::Reduce::L2) v = std::sqrt(v);
    if (op == ops::Reduce::LogSum) v = std::log(v);
    if (op == ops::Reduce::LogSumExp) v = std::isfinite(mx[o]) ? mx[o] + std::log(aux[o]) : mx[o];
    if (arg) y.i[o] = std::max<int64_t>(best[o], 0);
    else y.f[o] = float(v);
  }
  return y;
}

}  // namespace vkfuse::ref
