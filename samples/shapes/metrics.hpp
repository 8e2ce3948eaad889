#pragma once
// Metrics of the samples' evaluations: yes/no answers against the truth (shapes_qa), recall
// of ranked search results (shapes_search).
#include <cstdint>
#include <functional>
#include <vector>

namespace shapes {

struct BinaryMetrics {
  int64_t tp = 0, fp = 0, tn = 0, fn = 0;  // "positive" = yes
  double accuracy = 0, precision = 0, recall = 0, f1 = 0;
  double roc_auc = 0;
};

// Answers are yes where prob >= threshold. Precision, recall or F1 whose denominator is zero
// are 0 (as scikit-learn's zero_division=0). vkfuse::Error if the sizes differ or it is empty.
BinaryMetrics evaluate(const std::vector<float>& probs, const std::vector<uint8_t>& labels, float threshold = 0.5f);

// Area under the ROC curve: the probability that a random yes scores above a random no, ties
// counting one half (the Mann-Whitney U statistic over n_yes * n_no, with average ranks for
// tied scores). vkfuse::Error without both a yes and a no among the labels.
double roc_auc(const std::vector<float>& probs, const std::vector<uint8_t>& labels);

// Recall at k: the fraction of queries q whose first k ranked ids (ranked[q], best first)
// hold one for which relevant(q, id) is true. vkfuse::Error without queries or for k < 1.
double recall_at(const std::vector<std::vector<int64_t>>& ranked,
                 const std::function<bool(size_t, int64_t)>& relevant, int k);

}  // namespace shapes
