#include "actors/rollout/engine_options.h"

#include <algorithm>

#include "actors/rollout/paged_kv_cache.h"

namespace caravan::rollout {

Status EngineOptions::validate() const {
  if (kv_cache_bytes < 0) return Status::invalid_argument(str_cat("kv_cache_bytes: must be >= 0, got ", kv_cache_bytes));
  if (kv_cache_bytes == 0 && !(kv_cache_fraction > 0 && kv_cache_fraction <= 1)) {
    return Status::invalid_argument(str_cat("kv_cache_fraction: must be in (0, 1], got ", kv_cache_fraction));
  }
  if (block_size < 1) return Status::invalid_argument(str_cat("kv_block_size: must be >= 1, got ", block_size));
  if (max_step_tokens < 1) return Status::invalid_argument(str_cat("max_step_tokens: must be >= 1, got ", max_step_tokens));
  if (max_running < 1) return Status::invalid_argument(str_cat("max_running: must be >= 1, got ", max_running));
  return Status();
}

Result<int64_t> kv_cache_blocks(const EngineOptions& options, const core::TransformerConfig& config,
                                c10::ScalarType dtype, int64_t available_bytes) {
  CARAVAN_RETURN_IF_ERROR(options.validate());
  const int64_t bytes = options.kv_cache_bytes > 0
                            ? options.kv_cache_bytes
                            : static_cast<int64_t>(static_cast<double>(std::max<int64_t>(0, available_bytes)) *
                                                   options.kv_cache_fraction);
  const int64_t block = PagedKvCache::block_bytes(config, options.block_size, dtype);
  if (bytes < block) {
    return Status::invalid_argument(str_cat(options.kv_cache_bytes > 0 ? "kv_cache_bytes" : "kv_cache_fraction", ": ",
                                            bytes, " bytes hold no KV block of ", block, " bytes"));
  }
  // More than max_running full-context sequences (plus a copy on write each) never use.
  const int64_t useful = options.max_running * ((config.max_position_embeddings + options.block_size - 1) / options.block_size + 1);
  return std::min(bytes / block, useful);
}

} // namespace caravan::rollout
