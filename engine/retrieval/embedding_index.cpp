// The embedding index: normalized rows with names, its file, and cosine top-k search.
#include "vkfuse/embedding_index.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "io/message_text.h"
#include "io/strict_json.h"
#include "vkfuse/error.hpp"
#include "vkfuse/ops.hpp"
#include "vkfuse/reference.hpp"
#include "vkfuse/safetensors.hpp"
#include "vkfuse/sequence.hpp"

namespace vkfuse {

namespace {
constexpr const char* kNamesKey = "vkfuse.names";

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
  normalize_rows(rows_.data(), size(), dim_);
}

void EmbeddingIndex::add(const std::string& name, const float* embedding) {
  if (dim_ < 1) throw Error("embedding index: made without a dimension");
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
  write_safetensors(path, {{"embeddings", f32_bytes({size(), dim_}, rows_)}},
                    {{kNamesKey, names.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)}});
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
  if (ctx) {
    Tensor tq = ctx->tensor({q, dim_}, qs), tn = ctx->tensor({size(), dim_}, rows_);
    Tensor scores = ctx->tensor({q, size()}), tv = ctx->tensor({q, k}), ti = ctx->tensor({q, k}, DType::I32);
    Sequence s(*ctx);
    ops::MatmulOptions o;
    o.trans_b = true;  // cosine = dot of unit rows
    ops::matmul(s, tq, tn, scores, o);
    ops::top_k(s, scores, tv, ti);
    s.run();
    vals = tv.read();
    ti.read(idx.data(), idx.size() * sizeof(int32_t));
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
