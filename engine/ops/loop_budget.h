#pragma once
// How much looping one shader invocation may do. lavapipe (gallivm) keeps one counter per
// shader function, starts it at 65,535 and takes one off at every loop back-edge of any
// loop; at zero every loop exits early and the result is silently wrong. The ops keep the
// back-edges an invocation can take below kLoopBudget, which leaves a margin for the small
// loops the estimates below leave out. Other drivers have no such counter, but a bound on
// per-invocation work also keeps a dispatch short enough for a watchdog.
#include <cstdint>

namespace vkfuse::detail {

constexpr uint64_t kLoopBudget = 49152;

// Back-edges a matmul invocation takes per BK-deep K tile: the tile loop, the two
// cooperative loads and the BK inner steps (the TM x TN register loops unroll); measured on
// lavapipe at 101 for wg 8x8, tm = tn = 8, bk = 32, where this gives 99.
inline uint64_t matmul_edges_per_tile(uint32_t wg_x, uint32_t wg_y, uint32_t tm, uint32_t tn, uint32_t bk) {
  uint64_t nt = uint64_t(wg_x) * wg_y, bm = uint64_t(wg_y) * tm, bn = uint64_t(wg_x) * tn;
  return 3 + (bm * bk + nt - 1) / nt + (bn * bk + nt - 1) / nt + bk;
}

// The cooperative-matrix kernel per 16 of K: its two staging loops over a 16·tm x 16 block of A
// and a 16 x 16·tn block of B by `lanes` invocations, and the step itself; its epilogue's loop
// (tm·tn·256 / lanes, at most 64 with 32 lanes) fits in the margin kLoopBudget keeps.
inline uint64_t matmul_coopmat_edges_per_step(uint32_t lanes, uint32_t tm, uint32_t tn) {
  return 3 + (uint64_t(tm) * 256 + lanes - 1) / lanes + (uint64_t(tn) * 256 + lanes - 1) / lanes;
}

// Back-edges a row-kernel invocation takes: `passes` strided walks over n elements, plus the
// log2(tpr) steps of each of `reductions` tree reductions.
inline uint64_t row_edges(uint64_t n, uint32_t tpr, uint32_t passes, uint32_t reductions) {
  uint32_t lg = 0;
  while ((1u << lg) < tpr) ++lg;
  return passes * ((n + tpr - 1) / tpr) + reductions * (lg + 1) + 4;
}

}  // namespace vkfuse::detail
