// Binary metrics (metrics.hpp).
#include "shapes/metrics.hpp"

#include <algorithm>
#include <numeric>
#include <string>

#include "vkfuse/error.hpp"

namespace shapes {

namespace {
void check(const std::vector<float>& probs, const std::vector<uint8_t>& labels) {
  if (probs.size() != labels.size())
    throw vkfuse::Error("metrics: " + std::to_string(probs.size()) + " probabilities for " +
                        std::to_string(labels.size()) + " labels");
  if (probs.empty()) throw vkfuse::Error("metrics: nothing to evaluate");
}
double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }
}  // namespace

BinaryMetrics evaluate(const std::vector<float>& probs, const std::vector<uint8_t>& labels, float threshold) {
  check(probs, labels);
  BinaryMetrics m;
  for (size_t i = 0; i < probs.size(); ++i) {
    const bool yes = probs[i] >= threshold, truth = labels[i] != 0;
    (yes ? (truth ? m.tp : m.fp) : (truth ? m.fn : m.tn))++;
  }
  m.accuracy = ratio(double(m.tp + m.tn), double(probs.size()));
  m.precision = ratio(double(m.tp), double(m.tp + m.fp));
  m.recall = ratio(double(m.tp), double(m.tp + m.fn));
  m.f1 = ratio(2.0 * m.precision * m.recall, m.precision + m.recall);
  const bool both = m.tp + m.fn > 0 && m.tn + m.fp > 0;
  m.roc_auc = both ? roc_auc(probs, labels) : 0.0;
  return m;
}

double roc_auc(const std::vector<float>& probs, const std::vector<uint8_t>& labels) {
  check(probs, labels);
  std::vector<size_t> order(probs.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return probs[a] < probs[b]; });
  // U = (sum of the yes ranks) - n_yes (n_yes + 1) / 2, ranks from 1, tied scores sharing the
  // average of their ranks.
  double rank_sum = 0, n_yes = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && probs[order[j]] == probs[order[i]]) ++j;
    const double rank = (double(i + 1) + double(j)) / 2;
    for (size_t k = i; k < j; ++k)
      if (labels[order[k]]) {
        rank_sum += rank;
        ++n_yes;
      }
    i = j;
  }
  const double n_no = double(probs.size()) - n_yes;
  if (n_yes == 0 || n_no == 0) throw vkfuse::Error("metrics: ROC AUC needs both yes and no labels");
  return (rank_sum - n_yes * (n_yes + 1) / 2) / (n_yes * n_no);
}

double recall_at(const std::vector<std::vector<int64_t>>& ranked,
                 const std::function<bool(size_t, int64_t)>& relevant, int k) {
  if (ranked.empty() || k < 1)
    throw vkfuse::Error("recall_at: " + std::to_string(ranked.size()) + " queries, k " + std::to_string(k));
  size_t hits = 0;
  for (size_t q = 0; q < ranked.size(); ++q)
    for (size_t r = 0; r < ranked[q].size() && r < size_t(k); ++r)
      if (relevant(q, ranked[q][r])) {
        ++hits;
        break;
      }
  return double(hits) / double(ranked.size());
}

}  // namespace shapes
