// score(q, k) of model-format.md §4, with scale = p.scale (1/sqrt(D) by default):
//   dot: scale·(q·k);  neg_euclidean: -scale·‖q-k‖₂;  neg_manhattan: -scale·‖q-k‖₁
// Needs D and SCORE (specialization constants) and p.scale.
#define SCORE_DOT 0u
#define SCORE_NEG_EUCLIDEAN 1u
#define SCORE_NEG_MANHATTAN 2u

float score(float qv[D], float kv[D]) {
  float a = 0.0;
  if (SCORE == SCORE_DOT) {
    [[unroll]] for (uint d = 0u; d < D; ++d) a = fma(qv[d], kv[d], a);
    return p.scale * a;
  }
  if (SCORE == SCORE_NEG_EUCLIDEAN) {
    [[unroll]] for (uint d = 0u; d < D; ++d) {
      float t = qv[d] - kv[d];
      a = fma(t, t, a);
    }
    return -p.scale * sqrt(a);
  }
  [[unroll]] for (uint d = 0u; d < D; ++d) a += abs(qv[d] - kv[d]);
  return -p.scale * a;
}
