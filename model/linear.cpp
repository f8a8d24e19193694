#include "model/linear.h"

namespace caravan::model {

LinearImpl::LinearImpl(int64_t in_features, int64_t out_features, bool bias)
    : weight_(register_parameter("weight", at::empty({out_features, in_features}))) {
  if (bias) bias_ = register_parameter("bias", at::empty({out_features}));
}

EmbeddingImpl::EmbeddingImpl(int64_t num_embeddings, int64_t dim)
    : weight_(register_parameter("weight", at::empty({num_embeddings, dim}))) {}

} // namespace caravan::model
