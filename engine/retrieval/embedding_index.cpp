// The embedding index: normalized rows with names, its file, and cosine top-k search.
#include "vkfuse/embedding_index.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "io/message_text.h"
#include "io/strict_json.h"
#include "text/utf8.h"
#include "vkfuse/error.hpp"
#include "vkfuse/ops.hpp"
#include "vkfuse/reference.hpp"
#include "vkfuse/safetensors.hpp"
#include "vkfuse/sequence.hpp"

namespace vkfuse {

namespace {
constexpr const char* kNamesKey = "vkfuse.names";

// Names go into JSON metadata and onto terminals: valid UTF-8 only (decode_utf8 throws).
void check_name(const std::string& name) { text::decode_utf8(name, "embedding index: name " + detail::quote(name)); }

void normalize_rows(float* x, int64_t rows, int64_t dim) {
  // A zero row (a picture the model maps to 0) stays zero rather than becoming NaN.
  ref::l2_normalize(x, x, rows, dim, 1e-12f);
}
}  // namespace

EmbeddingIndex::EmbeddingIndex(std::vector<std::string> names, std::vector<float> embeddings, int64_t dim)
    : names_(std::move(names)), rows_(std::move(embeddings)), dim_(dim) {
  if (dim < 1) throw Error("embedding index: the dimension must be at least 1");
  if (rows_.size() != names_.size() * static_cast<size_t>(dim))
    throw Error("embedding index: " + std::to_string(rows_.size()) + " values are not " +
                std::to_string(names_.size()) + " rows of " + std::to_string(dim));
  for (const auto& n : names_) check_name(n);
  normalize_rows(rows_.data(), size(), dim_);
}

void EmbeddingIndex::add(const std::string& name, const float* embedding) {
  if (dim_ < 1) throw Error("embedding index: made without a dimension");
  check_name(name);
  names_.push_back(name);
  rows_.insert(rows_.end(), embedding, embedding + dim_);
  normalize_rows(rows_.data() + (size() - 1) * dim_, 1, dim_);
}

EmbeddingIndex EmbeddingIndex::load(const std::string& path) {
  SafetensorsFile f = SafetensorsFile::open(path);
  if (!f.contains("embeddings") || f.names().size() != 1)
    throw Error(path + ": not an embedding index (it must hold one tensor, 'embeddings' [N, D]; see vkfuse index)");
  const auto& t = f.tensor("embeddings");
  if (t.shape.size() != 2 || t.shape[1] < 1)
    throw Error(path + ": tensor 'embeddings' has shape " + shape_string(t.shape) + ", expected [N, D]");
  auto it = f.metadata().find(kNamesKey);
  if (it == f.metadata().end()) throw Error(path + ": metadata '" + std::string(kNamesKey) + "' is missing");
  const auto j = detail::parse_strict_json(it->second.data(), it->second.size(), path, kNamesKey,
                                           [](const detail::DuplicateKey& d) { return "key '" + d.key + "' twice"; });
  if (!j.is_array() || static_cast<int64_t>(j.size()) != t.shape[0])
    throw Error(path + ": metadata '" + std::string(kNamesKey) + "' must be a list of " + std::to_string(t.shape[0]) +
                " names (one per row of 'embeddings')");
  std::vector<std::string> names;
  for (const auto& n : j) {
    if (!n.is_string()) throw Error(path + ": metadata '" + std::string(kNamesKey) + "' holds a name that is not a string");
    names.push_back(n.get<std::string>());
  }
  return EmbeddingIndex(std::move(names), f.to_f32("embeddings"), t.shape[1]);
}

void EmbeddingIndex::save(const std::string& path) const {
  nlohmann::json names = names_;
  write_safetensors(path, {{"embeddings", f32_bytes({size(), dim_}, rows_)}}, {{kNamesKey, names.dump()}});
}

std::vector<std::vector<EmbeddingIndex::Hit>> EmbeddingIndex::search(const std::vector<float>& queries, int64_t q,
                                                                     int64_t k, Context* ctx) const {
  if (size() == 0) throw Error("embedding index: the index is empty");
  if (q < 1 || queries.size() != static_cast<size_t>(q * dim_))
    throw Error("embedding index: " + std::to_string(queries.size()) + " query values are not " + std::to_string(q) +
                " queries of the index's dimension " + std::to_string(dim_));
  if (k < 1) throw Error("embedding index: --top must be at least 1");
  k = std::min(k, size());
  std::vector<float> qs = queries;
  normalize_rows(qs.data(), q, dim_);
  std::vector<float> vals(static_cast<size_t>(q * k));
  std::vector<int32_t> idx(static_cast<size_t>(q * k));
  const int64_t cols = ctx ? ops::top_k_max_columns(*ctx, k) : 0;
  if (ctx && cols > 0) {
    // The scores in one matmul; top_k on chunks of columns no longer than one workgroup may
    // walk k times (lavapipe bounds an invocation's loop steps), each chunk's best k merged
    // here: the k best overall are among them.
    const int64_t n = size(), chunks = (n + cols - 1) / cols;
    Tensor tq = ctx->tensor({q, dim_}, qs), tn = ctx->matrix(n, dim_, rows_), scores = ctx->tensor({q, n});
    std::vector<Tensor> tv, ti;
    Sequence s(*ctx);
    ops::MatmulOptions o;
    o.trans_b = true;  // cosine = dot of unit rows
    ops::matmul(s, tq, tn, scores, o);
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t width = std::min(cols, n - c * cols), kc = std::min(k, width);
      tv.push_back(ctx->tensor({q, kc}));
      ti.push_back(ctx->tensor({q, kc}, DType::I32));
      ops::top_k(s, scores.view({q, width}, {n, 1}, c * cols), tv.back(), ti.back());
    }
    s.run();
    // Each chunk's [q, kc] values and indices, read once for all queries.
    std::vector<std::vector<float>> chunk_v(static_cast<size_t>(chunks));
    std::vector<std::vector<int32_t>> chunk_i(static_cast<size_t>(chunks));
    for (int64_t c = 0; c < chunks; ++c) {
      chunk_v[c] = tv[c].read();
      chunk_i[c].resize(chunk_v[c].size());
      ti[c].read(chunk_i[c].data(), chunk_i[c].size() * sizeof(int32_t));
    }
    std::vector<float> cand_v;
    std::vector<int32_t> cand_i;
    for (int64_t r = 0; r < q; ++r) {
      cand_v.clear();
      cand_i.clear();
      for (int64_t c = 0; c < chunks; ++c) {
        const int64_t kc = tv[c].dim(1);
        for (int64_t j = 0; j < kc; ++j) {
          cand_v.push_back(chunk_v[c][r * kc + j]);
          cand_i.push_back(static_cast<int32_t>(chunk_i[c][r * kc + j] + c * cols));
        }
      }
      // Candidates are in index order within equal scores (chunks in order, each best
      // first with ties to the lower index), so a stable top-k keeps ties to the lower index.
      std::vector<float> bv(static_cast<size_t>(k));
      std::vector<int32_t> bi(static_cast<size_t>(k));
      if (chunks == 1) {
        bv.assign(cand_v.begin(), cand_v.begin() + k);
        bi.assign(cand_i.begin(), cand_i.begin() + k);
      } else {
        ref::top_k(cand_v.data(), 1, static_cast<int64_t>(cand_v.size()), k, bv.data(), bi.data());
        for (auto& x : bi) x = cand_i[x];
      }
      std::copy(bv.begin(), bv.end(), vals.begin() + r * k);
      std::copy(bi.begin(), bi.end(), idx.begin() + r * k);
    }
  } else {
    std::vector<float> scores(static_cast<size_t>(q * size()));
    ops::MatmulOptions o;
    o.trans_b = true;
    ref::matmul(qs.data(), rows_.data(), scores.data(), 1, q, size(), dim_, o, nullptr, false);
    ref::top_k(scores.data(), q, size(), k, vals.data(), idx.data());
  }
  std::vector<std::vector<Hit>> hits(static_cast<size_t>(q));
  for (int64_t r = 0; r < q; ++r)
    for (int64_t i = 0; i < k; ++i) {
      const int32_t at = idx[r * k + i];
      if (at < 0 || at >= size()) throw Error("embedding index: search returned row " + std::to_string(at));
      hits[r].push_back({at, names_[at], vals[r * k + i]});
    }
  return hits;
}

}  // namespace vkfuse
