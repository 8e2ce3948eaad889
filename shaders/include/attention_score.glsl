// score(q, k) of model-format.md §4, with scale = p.scale (1/sqrt(D) by default):
//   dot: scale·(q·k);  neg_euclidean: -scale·‖q-k‖₂;  neg_manhattan: -scale·‖q-k‖₁
// Needs D and SCORE (specialization constants) and p.scale.
// SCORE_DOT, SCORE_NEG_EUCLIDEAN, SCORE_NEG_MANHATTAN: attention_contract.h

// The score as a sum over columns: each column's term added to a, then the sum finished.
float score_term(float a, float qd, float kd) {
  if (SCORE == SCORE_DOT) return fma(qd, kd, a);
  if (SCORE == SCORE_NEG_EUCLIDEAN) return fma(qd - kd, qd - kd, a);
  return a + abs(qd - kd);
}
#ifdef FP16_MATH
// The same term with its product (or difference) in fp16, added to an fp32 sum.
float score_term_h(float a, float16_t qd, float16_t kd) {
  if (SCORE == SCORE_DOT) return a + float(qd * kd);
  float16_t t = qd - kd;
  return SCORE == SCORE_NEG_EUCLIDEAN ? a + float(t * t) : a + float(abs(t));
}
#endif
float finish_score(float a) {
  return SCORE == SCORE_DOT ? p.scale * a : SCORE == SCORE_NEG_EUCLIDEAN ? -p.scale * sqrt(a) : -p.scale * a;
}

#ifdef WIDE
// head_dim above what one invocation keeps in registers: the score over all d_total columns,
// read straight from q and k, 8 columns a loop step (a back-edge per 8: lavapipe's budget).
float wide_score(uint qi, uint ki) {
  float a = 0.0;
  for (uint d = 0u; d < p.d_total; d += 8u) {
    [[unroll]] for (uint u = 0u; u < 8u; ++u) {
      if (d + u < p.d_total) a = score_term(a, q_buf[qi + d + u], k_buf[ki + d + u]);
    }
  }
  return finish_score(a);
}
#endif

float score(float qv[D], float kv[D]) {
  float a = 0.0;
  [[unroll]] for (uint d = 0u; d < D; ++d) a = score_term(a, qv[d], kv[d]);
  return finish_score(a);
}
