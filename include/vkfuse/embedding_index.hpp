#pragma once
// Retrieval: a set of L2-normalized embeddings with the names they came from (an image
// gallery), saved as a safetensors file (tensor `embeddings` [N, D] F32, metadata
// `vkfuse.names` a JSON list), and top-k search by cosine similarity on the GPU: one matmul
// of the queries against the index, then the top-k kernel.
#include <string>
#include <vector>

#include "vkfuse/context.hpp"

namespace vkfuse {

class EmbeddingIndex {
 public:
  EmbeddingIndex() = default;
  // Rows [names.size(), dim]; each row is divided by its L2 norm here (a zero row stays zero).
  EmbeddingIndex(std::vector<std::string> names, std::vector<float> embeddings, int64_t dim);
  // An Error naming the file when it is not an index (tensor, metadata, count mismatch).
  static EmbeddingIndex load(const std::string& path);
  void save(const std::string& path) const;
  void add(const std::string& name, const float* embedding);  // normalized as it is added

  int64_t size() const { return static_cast<int64_t>(names_.size()); }
  int64_t dim() const { return dim_; }
  const std::vector<std::string>& names() const { return names_; }
  const std::vector<float>& embeddings() const { return rows_; }

  struct Hit {
    int64_t index;
    std::string name;
    float score;  // cosine similarity
  };
  // The k best entries for each of the q queries [q, dim] (normalized here), best first,
  // ties to the lower index; k is capped at size(). On the GPU when ctx is given (top_k over
  // chunks of the index when it is longer than one workgroup may walk k times, the chunks'
  // best merged on the host; a k too large for any chunk falls back to the CPU), else on
  // the CPU reference.
  std::vector<std::vector<Hit>> search(const std::vector<float>& queries, int64_t q, int64_t k, Context* ctx) const;

 private:
  std::vector<std::string> names_;
  std::vector<float> rows_;
  int64_t dim_ = 0;
};

}  // namespace vkfuse
