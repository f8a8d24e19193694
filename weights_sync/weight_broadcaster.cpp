// File: weights_sync/weight_broadcaster.cpp
#include "weights_sync/weight_broadcaster.h"

#include <algorithm>
#include <chrono>
#include <numeric>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "core/str_cat.h"
#include "weights_sync/bucket_pipeline.h"
#include "weights_sync/checksum64.h"
#include "weights_sync/xor_delta.h"

namespace caravan::wsync {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

uint64_t combine_all(const std::vector<uint64_t>& checksums) {
  uint64_t state = 0;
  for (const uint64_t checksum : checksums) state = checksum64_combine(state, checksum);
  return state;
}

uint64_t checksum_of(const at::Tensor& contiguous) { return checksum64(contiguous.data_ptr(), contiguous.nbytes()); }

std::vector<int> ranks_except(int rank, int world_size) {
  std::vector<int> ranks;
  for (int r = 0; r < world_size; ++r) {
    if (r != rank) ranks.push_back(r);
  }
  return ranks;
}

// `wire` as a tensor that does not share memory with `source` (a delta base must survive the
// source's next optimizer step).
at::Tensor independent(const at::Tensor& wire, const at::Tensor& source) {
  return wire.is_alias_of(source) ? wire.clone() : wire;
}

// The source's payload of one sync and what the new state is.
struct Plan {
  SyncHeader header;
  // Checksum of every tensor's wire bytes (delta plans; a full plan learns them while packing).
  std::vector<uint64_t> checksums;
  std::vector<at::Tensor> wire;
  std::vector<uint8_t> encoded;
};

const char* const kOkResult = "ok";

} // namespace

WeightBroadcaster::WeightBroadcaster(Communicator& communicator, SyncControl& control, WeightBroadcastOptions options)
    : communicator_(communicator), control_(control), options_(options) {
  CARAVAN_CHECK(options.bucket_bytes >= kMinBucketBytes, "WeightBroadcaster: bucket_bytes must be >= ",
                kMinBucketBytes, ", got ", options.bucket_bytes);
  CARAVAN_CHECK(options.timeout > std::chrono::milliseconds::zero(), "WeightBroadcaster: timeout must be > 0");
}

Result<BroadcastStats> WeightBroadcaster::broadcast(const NamedTensors& tensors, uint64_t version) {
  const std::string key = str_cat("sync-", sequence_++, "/");
  at::NoGradGuard no_grad;
  return communicator_.rank() == kRoot ? send(tensors, version, key) : receive(tensors, key);
}

Status WeightBroadcaster::abort(const std::string& key, uint64_t version, const Status& reason) {
  SyncHeader header;
  header.version = version;
  header.abort = reason.message();
  header.abort_code = static_cast<int64_t>(reason.code());
  // Receivers that cannot read the header time out on their own; the reason is the root's error.
  (void)control_.set(key + "header", encode(header));
  return reason;
}

Result<BroadcastStats> WeightBroadcaster::send(const NamedTensors& tensors, uint64_t version, const std::string& key) {
  const Clock::time_point start = Clock::now();
  const std::string context = str_cat("weight sync of version ", version);
  BroadcastStats stats;
  stats.version = version;
  const std::vector<int> receivers = ranks_except(kRoot, communicator_.world_size());
  if (receivers.empty()) {
    stats.seconds = seconds_since(start);
    return stats;
  }
  // 1-2: every receiver's readiness, then the plan.
  Result<std::vector<std::string>> posted =
      control_.gather(key + "ready/", receivers, Clock::now() + options_.timeout, "ready");
  if (!posted.ok()) return abort(key, version, posted.status().with_context(context));
  std::vector<SyncReady> ready;
  for (const std::string& bytes : *posted) {
    Result<SyncReady> decoded = decode_ready(bytes);
    if (!decoded.ok()) return abort(key, version, decoded.status().with_context(context));
    ready.push_back(*decoded);
  }
  for (size_t i = 1; i < ready.size(); ++i) {
    if (ready[i].wire_dtype != ready[0].wire_dtype) {
      return abort(key, version, Status::failed_precondition(str_cat(
                            context, ": receivers install different dtypes: rank ", receivers[0], " ",
                            c10::toString(static_cast<at::ScalarType>(ready[0].wire_dtype)), ", rank ", receivers[i],
                            " ", c10::toString(static_cast<at::ScalarType>(ready[i].wire_dtype)))));
    }
  }
  const auto wire_dtype = static_cast<at::ScalarType>(ready[0].wire_dtype);
  Result<WeightManifest> made = WeightManifest::make(tensors, wire_dtype);
  if (!made.ok()) return abort(key, version, made.status().with_context(context));
  const WeightManifest& manifest = *made;
  for (size_t i = 0; i < ready.size(); ++i) {
    if (ready[i].manifest_hash != manifest.hash()) {
      return abort(key, version, Status::failed_precondition(str_cat(
                            context, ": manifest mismatch: rank ", receivers[i], " has manifest hash ",
                            hex64(ready[i].manifest_hash), ", the source ", manifest.describe(),
                            " (a tensor renamed, reshaped or of another dtype); nothing was transferred")));
    }
  }
  const bool delta = options_.delta != DeltaMode::kOff && sent_.has_value() &&
                     std::all_of(ready.begin(), ready.end(), [&](const SyncReady& r) {
                       return r.installed_version == sent_->version && r.installed_state == sent_->state;
                     });
  Plan plan;
  SyncHeader& header = plan.header;
  header.version = version;
  header.manifest_hash = manifest.hash();
  header.wire_dtype = static_cast<int64_t>(wire_dtype);
  header.bucket_bytes = options_.bucket_bytes;
  std::vector<int64_t> sizes;
  if (delta) {
    header.mode = options_.delta;
    header.base_version = sent_->version;
    header.base_state = sent_->state;
    for (size_t i = 0; i < manifest.size(); ++i) {
      plan.wire.push_back(independent(manifest.wire_tensor(i), manifest.source(i)));
      plan.checksums.push_back(checksum_of(plan.wire.back()));
      if (plan.checksums[i] == sent_->checksums[i]) continue;
      header.tensors.push_back(static_cast<int64_t>(i));
      sizes.push_back(manifest.wire_bytes(i));
      if (header.mode == DeltaMode::kXorBf16) {
        const size_t before = plan.encoded.size();
        xor_delta_encode(static_cast<const uint8_t*>(plan.wire[i].data_ptr()),
                         static_cast<const uint8_t*>(sent_->wire[i].data_ptr()), plan.wire[i].nbytes(), plan.encoded);
        header.encoded_bytes.push_back(static_cast<int64_t>(plan.encoded.size() - before));
      }
    }
    header.payload_bytes = header.mode == DeltaMode::kXorBf16 ? static_cast<int64_t>(plan.encoded.size())
                                                               : std::accumulate(sizes.begin(), sizes.end(), int64_t{0});
  } else {
    header.tensors.resize(manifest.size());
    std::iota(header.tensors.begin(), header.tensors.end(), 0);
    for (size_t i = 0; i < manifest.size(); ++i) sizes.push_back(manifest.wire_bytes(i));
    header.payload_bytes = manifest.total_wire_bytes();
    if (options_.delta == DeltaMode::kXorBf16) plan.wire.resize(manifest.size());
  }
  CARAVAN_RETURN_IF_ERROR_CTX(control_.set(key + "header", encode(header)), context);

  // 3: the buckets. A full plan converts each tensor when the packer reaches it.
  std::vector<size_t> order(header.tensors.begin(), header.tensors.end());
  TensorPayload tensor_payload(sizes, [&](size_t k) {
    const size_t i = order[k];
    if (delta) return plan.wire[i];
    at::Tensor wire = manifest.wire_tensor(i);
    if (!plan.wire.empty()) plan.wire[i] = independent(wire, manifest.source(i));
    return wire;
  });
  BufferPayload encoded_payload(plan.encoded);
  PayloadSource& payload = header.mode == DeltaMode::kXorBf16 ? static_cast<PayloadSource&>(encoded_payload)
                                                              : static_cast<PayloadSource&>(tensor_payload);
  CARAVAN_RETURN_IF_ERROR_CTX(send_payload(payload, header.bucket_bytes, key, stats), context);
  if (!delta) plan.checksums = tensor_payload.checksums();
  CARAVAN_CHECK(plan.checksums.size() == manifest.size(), "WeightBroadcaster: ", plan.checksums.size(),
                " checksums for ", manifest.size(), " tensors");

  // 4-5: the footer, then every receiver's verdict.
  const uint64_t state = combine_all(plan.checksums);
  CARAVAN_RETURN_IF_ERROR_CTX(control_.set(key + "footer", encode(SyncFooter{.state = state})), context);
  const Result<std::vector<std::string>> results =
      control_.gather(key + "result/", receivers, Clock::now() + options_.timeout, "its result");
  if (!results.ok()) return results.status().with_context(context);
  // Every receiver is past this sync's keys once it posted its result.
  std::vector<std::string> done{key + "header", key + "footer"};
  for (const int rank : receivers) {
    done.push_back(str_cat(key, "ready/", rank));
    done.push_back(str_cat(key, "result/", rank));
  }
  CARAVAN_RETURN_IF_ERROR_CTX(control_.erase(done), context);
  std::string rejected;
  for (size_t i = 0; i < results->size(); ++i) {
    const std::string& result = (*results)[i];
    if (result != kOkResult) rejected += str_cat(rejected.empty() ? "" : "; ", "rank ", receivers[i], ": ", result);
  }
  if (!rejected.empty()) {
    sent_.reset();  // some receiver kept its old state: the next sync is a full one
    return Status::failed_precondition(str_cat(context, ": not installed by every receiver: ", rejected));
  }
  if (options_.delta != DeltaMode::kOff) {
    sent_ = SentState{.version = version, .state = state, .checksums = plan.checksums, .wire = std::move(plan.wire)};
  }
  stats.bytes = header.payload_bytes;
  stats.full_bytes = manifest.total_wire_bytes();
  stats.sent_as = header.mode;
  stats.seconds = seconds_since(start);
  return stats;
}

Status WeightBroadcaster::send_payload(PayloadSource& payload, int64_t bucket_bytes, const std::string& key,
                                       BroadcastStats& stats) {
  auto pipeline = std::make_unique<BucketPipeline>(
      BucketLayout{.payload_bytes = payload.total_bytes(), .bucket_bytes = bucket_bytes}, payload);
  for (int64_t i = 0; std::optional<std::span<uint8_t>> bucket = pipeline->next(); ++i) {
    const Clock::time_point start = Clock::now();
    const Status sent = communicator_.broadcast(
        ByteBuffer{.data = bucket->data(), .bytes = static_cast<int64_t>(bucket->size())}, kRoot);
    if (!sent.ok()) {
      failed_pipeline_ = std::move(pipeline);
      return data_failure(key, sent.with_context(str_cat("bucket ", i)));
    }
    stats.bucket_seconds.push_back(seconds_since(start));
  }
  return Status::ok_status();
}

Result<BroadcastStats> WeightBroadcaster::receive(const NamedTensors& tensors, const std::string& key) {
  const Clock::time_point start = Clock::now();
  const int rank = communicator_.rank();
  CARAVAN_ASSIGN_OR_RETURN(const at::ScalarType wire_dtype, floating_dtype_of(tensors));
  CARAVAN_ASSIGN_OR_RETURN(const WeightManifest manifest, WeightManifest::make(tensors, wire_dtype));
  const bool holds_state = installed_.has_value() && installed_->manifest_hash == manifest.hash();
  const SyncReady ready{.wire_dtype = static_cast<int64_t>(wire_dtype),
                        .manifest_hash = manifest.hash(),
                        .installed_version = holds_state ? installed_->version : 0,
                        .installed_state = holds_state ? installed_->state : 0};
  CARAVAN_RETURN_IF_ERROR(control_.set(str_cat(key, "ready/", rank), encode(ready)));
  // The source gives up on a missing receiver at its own deadline and then posts why: waiting a
  // little longer lets this rank report that reason (the missing rank) instead of a timeout.
  const Result<std::string> header_bytes =
      control_.wait_get(key + "header", Clock::now() + options_.timeout + grace_window());
  if (!header_bytes.ok()) {
    return header_bytes.status().with_context(str_cat("weight sync, rank ", rank, ": waiting for the source (rank ",
                                                      kRoot, ")"));
  }
  CARAVAN_ASSIGN_OR_RETURN(const SyncHeader header, decode_header(*header_bytes));
  const std::string context = str_cat("weight sync of version ", header.version, ", rank ", rank);
  if (!header.abort.empty()) {
    return Status(static_cast<StatusCode>(header.abort_code), str_cat(context, ": the source aborted: ", header.abort));
  }
  // The source checked both; a disagreement here still must not stop this rank from taking
  // part in the collectives, so it becomes the verdict.
  Status verdict;
  if (header.manifest_hash != manifest.hash()) {
    verdict = Status::failed_precondition(str_cat("manifest mismatch: the source's hash ", hex64(header.manifest_hash),
                                                  ", this rank's ", manifest.describe()));
  } else if (header.mode != DeltaMode::kOff && (!holds_state || installed_->version != header.base_version ||
                                                installed_->state != header.base_state)) {
    verdict = Status::failed_precondition(str_cat("a delta against version ", header.base_version,
                                                  ", but this rank holds ",
                                                  holds_state ? str_cat("version ", installed_->version) : "none"));
  }
  // 3: stage every bucket. Bucket i is received at its payload offset; its trailer lands on the
  // first bytes of bucket i + 1, which overwrites it after the check.
  const BucketLayout layout{.payload_bytes = header.payload_bytes, .bucket_bytes = header.bucket_bytes};
  staging_.resize(static_cast<size_t>(header.payload_bytes + BucketLayout::kTrailerBytes));
  BroadcastStats stats;
  stats.version = header.version;
  for (int64_t i = 0; i < layout.count(); ++i) {
    const Clock::time_point bucket_start = Clock::now();
    uint8_t* bucket = staging_.data() + layout.offset(i);
    const Status received = communicator_.broadcast(ByteBuffer{.data = bucket, .bytes = layout.wire_size(i)}, kRoot);
    if (!received.ok()) return data_failure(key, received.with_context(str_cat(context, ": bucket ", i)));
    stats.bucket_seconds.push_back(seconds_since(bucket_start));
    if (verdict.ok()) verdict = verify_bucket(i, bucket, layout.payload_size(i));
  }
  // 4-5: the footer, then install what verified, and tell the source.
  const Result<std::string> footer_bytes = control_.wait_get(key + "footer", Clock::now() + options_.timeout);
  if (!footer_bytes.ok()) return footer_bytes.status().with_context(context);
  CARAVAN_ASSIGN_OR_RETURN(const SyncFooter footer, decode_footer(*footer_bytes));
  if (verdict.ok()) verdict = install(manifest, header, footer.state);
  const std::string result = verdict.ok() ? std::string(kOkResult) : verdict.to_string();
  CARAVAN_RETURN_IF_ERROR_CTX(control_.set(str_cat(key, "result/", rank), result), context);
  if (!verdict.ok()) return verdict.with_context(str_cat(context, ": not installed (weights untouched)"));
  stats.bytes = header.payload_bytes;
  stats.full_bytes = manifest.total_wire_bytes();
  stats.sent_as = header.mode;
  stats.seconds = seconds_since(start);
  return stats;
}

Status WeightBroadcaster::install(const WeightManifest& manifest, const SyncHeader& header, uint64_t state) {
  const bool full = header.mode == DeltaMode::kOff;
  if (full && header.tensors.size() != manifest.size()) {
    return Status::data_loss(str_cat("a full sync of ", header.tensors.size(), " tensors for ", manifest.size()));
  }
  std::vector<uint64_t> checksums = full ? std::vector<uint64_t>(manifest.size()) : installed_->checksums;
  std::vector<std::pair<size_t, at::Tensor>> fresh;
  int64_t offset = 0;
  for (size_t k = 0; k < header.tensors.size(); ++k) {
    const int64_t index = header.tensors[k];
    if (index < 0 || static_cast<size_t>(index) >= manifest.size() || (k > 0 && index <= header.tensors[k - 1])) {
      return Status::data_loss(str_cat("header: tensor index ", index, " out of order or range"));
    }
    const auto i = static_cast<size_t>(index);
    const int64_t bytes = manifest.wire_bytes(i);
    const int64_t taken = header.mode == DeltaMode::kXorBf16 ? header.encoded_bytes[k] : bytes;
    if (taken < 0 || offset + taken > header.payload_bytes) {
      return Status::data_loss(str_cat("header: tensor \"", manifest.name(i), "\" runs past the payload"));
    }
    const uint8_t* at = staging_.data() + offset;
    offset += taken;
    const auto options = at::TensorOptions().dtype(manifest.wire_dtype(i));
    at::Tensor wire;
    if (header.mode == DeltaMode::kXorBf16) {
      const at::Tensor base = manifest.wire_tensor(i);
      wire = at::empty({base.numel()}, options);
      CARAVAN_RETURN_IF_ERROR_CTX(
          xor_delta_decode(at, static_cast<size_t>(taken), static_cast<const uint8_t*>(base.data_ptr()),
                           static_cast<uint8_t*>(wire.data_ptr()), static_cast<size_t>(bytes)),
          str_cat("tensor \"", manifest.name(i), "\""));
    } else {
      wire = at::from_blob(const_cast<uint8_t*>(at), {manifest.source(i).numel()}, options);
    }
    checksums[i] = checksum_of(wire);
    fresh.emplace_back(i, wire);
  }
  if (offset != header.payload_bytes) {
    return Status::data_loss(str_cat("header: the tensors cover ", offset, " of ", header.payload_bytes, " payload bytes"));
  }
  const uint64_t assembled = combine_all(checksums);
  if (assembled != state) {
    return Status::data_loss(str_cat("state checksum mismatch: the source's ", hex64(state), ", assembled here ",
                                     hex64(assembled)));
  }
  for (const auto& [i, wire] : fresh) {
    at::Tensor target = manifest.source(i);
    target.copy_(wire.view(target.sizes()));
  }
  installed_ = InstalledState{
      .version = header.version, .state = state, .manifest_hash = manifest.hash(), .checksums = std::move(checksums)};
  return Status::ok_status();
}

std::chrono::milliseconds WeightBroadcaster::grace_window() const {
  return std::clamp(options_.timeout / 4, std::chrono::milliseconds(100), std::chrono::milliseconds(2000));
}

Status WeightBroadcaster::data_failure(const std::string& key, const Status& failure) {
  const int rank = communicator_.rank();
  const std::vector<int> others = ranks_except(rank, communicator_.world_size());
  // Survivors report the failure and wait a fraction of the deadline for each other: whoever
  // does not report is dead or hung. The store lives in the root's process.
  const std::chrono::milliseconds window = grace_window();
  std::string suspects;
  if (const Status posted = control_.set(str_cat(key, "failed/", rank), ""); !posted.ok()) {
    suspects = str_cat("missing rank(s): ", kRoot, " (its store is unreachable: ", posted.message(), ")");
  } else if (Result<std::vector<std::string>> reported = control_.gather(key + "failed/", others, Clock::now() + window,
                                                                        "the failure");
             !reported.ok()) {
    Result<std::vector<int>> absent = control_.missing(key + "failed/", others);
    suspects = absent.ok() ? str_cat("missing rank(s): ", join_ranks(*absent), " (did not report the failure within ",
                                     window.count(), " ms)")
                           : str_cat("missing rank(s): ", kRoot, " (its store is unreachable)");
  } else {
    suspects = "every rank reported the failure (none missing)";
  }
  return Status(failure.code(), str_cat(failure.message(), "; ", suspects));
}

} // namespace caravan::wsync
