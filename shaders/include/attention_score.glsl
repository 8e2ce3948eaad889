// score(q, k) of model-format.md §4, with scale = p.scale (1/sqrt(D) by default):
//   dot: scale·(q·k);  neg_euclidean: -scale·‖q-k‖₂;  neg_manhattan: -scale·‖q-k‖₁
// Needs D and SCORE (specialization constants) and p.scale.
// SCORE_DOT, SCORE_NEG_EUCLIDEAN, SCORE_NEG_MANHATTAN: attention_contract.h

#ifdef WIDE
// head_dim above what one invocation keeps in registers: the score over all d_total columns,
// read straight from q and k, 8 columns a loop step (a back-edge per 8: lavapipe's budget).
float wide_score(uint qi, uint ki) {
  float a = 0.0;
  for (uint d = 0u; d < p.d_total; d += 8u) {
    [[unroll]] for (uint u = 0u; u < 8u; ++u) {
      if (d + u < p.d_total) {
        float qd = q_buf[qi + d + u], kd = k_buf[ki + d + u];
        if (SCORE == SCORE_DOT) a = fma(qd, kd, a);
        else if (SCORE == SCORE_NEG_EUCLIDEAN) a = fma(qd - kd, qd - kd, a);
        else a += abs(qd - kd);
      }
    }
  }
  return SCORE == SCORE_DOT ? p.scale * a : SCORE == SCORE_NEG_EUCLIDEAN ? -p.scale * sqrt(a) : -p.scale * a;
}
#endif

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
