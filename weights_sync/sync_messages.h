// File: weights_sync/sync_messages.h
// The control messages of one weight sync (weights_sync/weight_broadcaster.h), as they travel
// through the store: a receiver's readiness, the source's header (before any data) and footer
// (after the last bucket), and a receiver's verdict. Encoded as little-endian 64-bit words
// followed by free text; decoding checks sizes and names the message.
//
//   const std::string bytes = encode(header);
//   CARAVAN_ASSIGN_OR_RETURN(SyncHeader back, decode_header(bytes));
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace caravan::wsync {

// [weights_sync] delta: what a sync sends when every receiver holds the source's last version.
enum class DeltaMode {
  // Every tensor, every time.
  kOff,
  // Only the tensors whose checksum changed since the version every receiver holds.
  kChangedTensors,
  // Changed tensors as XOR against the receivers' bytes, zero-run coded (weights_sync/xor_delta.h).
  kXorBf16,
};

// "off", "changed_tensors", "xor_bf16"; parse_delta_mode is its inverse (kInvalidArgument
// naming [weights_sync] delta otherwise).
const char* delta_mode_name(DeltaMode mode);
Result<DeltaMode> parse_delta_mode(const std::string& name);

// What a receiver has installed and expects, posted before the source decides what to send.
struct SyncReady {
  // The dtype (c10::ScalarType) its floating tensors install as: the wire dtype.
  int64_t wire_dtype = 0;
  // Its manifest in that dtype.
  uint64_t manifest_hash = 0;
  // The version and state checksum it installed last through this group's source; 0, 0 if none.
  uint64_t installed_version = 0;
  uint64_t installed_state = 0;
};

// The source's plan of one sync; `abort` non-empty means no data follows and every rank fails
// with that reason.
struct SyncHeader {
  uint64_t version = 0;
  uint64_t manifest_hash = 0;
  int64_t wire_dtype = 0;
  // kOff here means a full sync.
  DeltaMode mode = DeltaMode::kOff;
  // The state a delta applies to (mode != kOff).
  uint64_t base_version = 0;
  uint64_t base_state = 0;
  int64_t payload_bytes = 0;
  int64_t bucket_bytes = 0;
  // Manifest indices of the tensors in the payload, in order (every index for a full sync);
  // for kXorBf16 also each one's encoded size (same length as `tensors`).
  std::vector<int64_t> tensors;
  std::vector<int64_t> encoded_bytes;
  std::string abort;
  // The StatusCode of the source's failure when `abort` is set.
  int64_t abort_code = 0;
};

// Sent after the last bucket: the checksum of the complete new state (checksum64_combine over
// every tensor's checksum64 in manifest order), which the receiver's result must match.
struct SyncFooter {
  uint64_t state = 0;
};

std::string encode(const SyncReady& ready);
std::string encode(const SyncHeader& header);
std::string encode(const SyncFooter& footer);
// kDataLoss naming the message when `bytes` is too short or inconsistent.
Result<SyncReady> decode_ready(const std::string& bytes);
Result<SyncHeader> decode_header(const std::string& bytes);
Result<SyncFooter> decode_footer(const std::string& bytes);

} // namespace caravan::wsync
