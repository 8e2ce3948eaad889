// The CPU references themselves, on values worked out by hand: the GPU tests compare against
// them, so they must be right on their own.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "vkfuse/error.hpp"
#include "vkfuse/reference.hpp"

namespace {

const float kInf = std::numeric_limits<float>::infinity();

TEST(Reference, SigmoidByHand) {
  // 1 / (1 + e^-x): e^-ln3 = 1/3 gives 3/4, e^ln3 = 3 gives 1/4.
  EXPECT_EQ(vkfuse::ref::sigmoid(0.f), 0.5f);
  EXPECT_FLOAT_EQ(vkfuse::ref::sigmoid(std::log(3.f)), 0.75f);
  EXPECT_FLOAT_EQ(vkfuse::ref::sigmoid(-std::log(3.f)), 0.25f);
  EXPECT_EQ(vkfuse::ref::sigmoid(100.f), 1.f);
  EXPECT_EQ(vkfuse::ref::sigmoid(-200.f), 0.f);  // e^200 overflows nothing in double: 1/(1+7e86)
  EXPECT_EQ(vkfuse::ref::sigmoid(-kInf), 0.f);
}

TEST(Reference, GatherRowsByHand) {
  const std::vector<float> table = {0, 1, 10, 11, 20, 21};  // [3, 2]
  const std::vector<int32_t> ids = {2, 0, 2, 1};
  std::vector<float> out(8);
  vkfuse::ref::gather_rows(table.data(), 3, 2, ids.data(), 4, out.data());
  EXPECT_EQ(out, (std::vector<float>{20, 21, 0, 1, 20, 21, 10, 11}));
  for (int32_t bad : {3, -1}) {
    try {
      vkfuse::ref::gather_rows(table.data(), 3, 2, &bad, 1, out.data());
      ADD_FAILURE() << "id " << bad << " was gathered";
    } catch (const vkfuse::Error& e) {
      EXPECT_NE(std::string(e.what()).find("id " + std::to_string(bad)), std::string::npos) << e.what();
    }
  }
}

TEST(Reference, CopyTransposesAndBroadcasts) {
  // src [2, 3] = 1 2 3 / 4 5 6 read as its transpose [3, 2] (strides 1, 3) into a contiguous one.
  const std::vector<float> src = {1, 2, 3, 4, 5, 6};
  std::vector<float> dst(6, -1.f);
  vkfuse::ref::copy(src.data(), {1, 3}, dst.data(), {2, 1}, {3, 2});
  EXPECT_EQ(dst, (std::vector<float>{1, 4, 2, 5, 3, 6}));
  // A stride of 0 repeats a row: [2, 3] from the first row.
  vkfuse::ref::copy(src.data(), {0, 1}, dst.data(), {3, 1}, {2, 3});
  EXPECT_EQ(dst, (std::vector<float>{1, 2, 3, 1, 2, 3}));
  EXPECT_THROW(vkfuse::ref::copy(src.data(), {1}, dst.data(), {2, 1}, {3, 2}), vkfuse::Error);
}

TEST(Reference, MergeHeadsByHand) {
  // heads [B=1, H=2, L=2, D=2]: head 0 rows (1 2) (3 4), head 1 rows (5 6) (7 8). Merged
  // [1, L=2, H·D=4]: row l is head 0's row l, then head 1's.
  const std::vector<float> heads = {1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<float> x(8);
  vkfuse::ref::merge_heads(heads.data(), x.data(), 1, 2, 2, 2);
  EXPECT_EQ(x, (std::vector<float>{1, 2, 5, 6, 3, 4, 7, 8}));
  std::vector<float> back(8);
  vkfuse::ref::split_heads(x.data(), back.data(), 1, 2, 2, 2);
  EXPECT_EQ(back, heads);
}

TEST(Reference, AttentionWeightsByHand) {
  // B=1, H=2, L=1, S=2, D=1, scale 1, dot scores. Head 0: q=1, keys ln3 and 0 give scores
  // (ln3, 0), softmax (3/4, 1/4). Head 1: keys 0 and 0, (1/2, 1/2). Averaged: (5/8, 3/8).
  const float ln3 = std::log(3.f);
  const std::vector<float> q = {1, 1}, k = {ln3, 0, 0, 0};
  std::vector<float> w(2);
  using vkfuse::ops::Score;
  vkfuse::ref::attention_weights(q.data(), k.data(), w.data(), 1, 2, 1, 2, 1, Score::Dot, 1.f, nullptr, nullptr);
  EXPECT_FLOAT_EQ(w[0], 0.625f);
  EXPECT_FLOAT_EQ(w[1], 0.375f);
  // Key 1 padded: every head puts all its weight on key 0.
  const std::vector<float> pad = {0, -kInf};
  vkfuse::ref::attention_weights(q.data(), k.data(), w.data(), 1, 2, 1, 2, 1, Score::Dot, 1.f, pad.data(), nullptr);
  EXPECT_EQ(w, (std::vector<float>{1.f, 0.f}));
  // Every key masked: zeros, not NaN.
  const std::vector<float> all = {-kInf, -kInf};
  vkfuse::ref::attention_weights(q.data(), k.data(), w.data(), 1, 2, 1, 2, 1, Score::Dot, 1.f, nullptr, all.data());
  EXPECT_EQ(w, (std::vector<float>{0.f, 0.f}));
  // neg_euclidean, one head, D=2: q=(0,0), keys (3,4) and (0,0) are 5 and 0 away; with scale
  // ln3/5 the scores are (-ln3, 0), softmax (1/4, 3/4).
  const std::vector<float> q2 = {0, 0}, k2 = {3, 4, 0, 0};
  vkfuse::ref::attention_weights(q2.data(), k2.data(), w.data(), 1, 1, 1, 2, 2, Score::NegEuclidean, ln3 / 5,
                                 nullptr, nullptr);
  EXPECT_FLOAT_EQ(w[0], 0.25f);
  EXPECT_FLOAT_EQ(w[1], 0.75f);
  // The same weights as ref::attention computes beside its output.
  std::vector<float> v = {1, 2, 3, 4}, out(2), w2(2);
  vkfuse::ref::attention(q2.data(), k2.data(), v.data(), out.data(), w2.data(), 1, 1, 1, 2, 2, Score::NegEuclidean,
                         ln3 / 5, nullptr, nullptr);
  EXPECT_EQ(w2, w);
  EXPECT_FLOAT_EQ(out[0], 0.25f * 1 + 0.75f * 3);
  EXPECT_FLOAT_EQ(out[1], 0.25f * 2 + 0.75f * 4);
}

}  // namespace
