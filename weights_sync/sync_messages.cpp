// File: weights_sync/sync_messages.cpp
#include "weights_sync/sync_messages.h"

#include <cstring>

#include "core/str_cat.h"

namespace caravan::wsync {
namespace {

class Writer {
 public:
  Writer& word(uint64_t value) {
    char bytes[8];
    std::memcpy(bytes, &value, sizeof(value));
    out_.append(bytes, sizeof(bytes));
    return *this;
  }
  Writer& words(const std::vector<int64_t>& values) {
    word(values.size());
    for (const int64_t value : values) word(static_cast<uint64_t>(value));
    return *this;
  }
  std::string text(const std::string& tail) { return out_ + tail; }

 private:
  std::string out_;
};

class Reader {
 public:
  Reader(const std::string& bytes, const char* what) : bytes_(bytes), what_(what) {}
  uint64_t word() {
    uint64_t value = 0;
    if (at_ + 8 > bytes_.size()) {
      ok_ = false;
      return 0;
    }
    std::memcpy(&value, bytes_.data() + at_, sizeof(value));
    at_ += 8;
    return value;
  }
  std::vector<int64_t> words() {
    const uint64_t count = word();
    std::vector<int64_t> values;
    if (count > (bytes_.size() - std::min(at_, bytes_.size())) / 8) {
      ok_ = false;
      return values;
    }
    for (uint64_t i = 0; i < count; ++i) values.push_back(static_cast<int64_t>(word()));
    return values;
  }
  std::string rest() const { return at_ < bytes_.size() ? bytes_.substr(at_) : std::string(); }
  Status status() const {
    return ok_ ? Status::ok_status()
               : Status::data_loss(str_cat("weight sync: truncated ", what_, " message (", bytes_.size(), " bytes)"));
  }

 private:
  const std::string& bytes_;
  const char* what_;
  size_t at_ = 0;
  bool ok_ = true;
};

} // namespace

const char* delta_mode_name(DeltaMode mode) {
  switch (mode) {
    case DeltaMode::kOff: return "off";
    case DeltaMode::kChangedTensors: return "changed_tensors";
    case DeltaMode::kXorBf16: return "xor_bf16";
  }
  CARAVAN_CHECK(false, "unhandled DeltaMode ", static_cast<int>(mode));
}

Result<DeltaMode> parse_delta_mode(const std::string& name) {
  for (const DeltaMode mode : {DeltaMode::kOff, DeltaMode::kChangedTensors, DeltaMode::kXorBf16}) {
    if (name == delta_mode_name(mode)) return mode;
  }
  return Status::invalid_argument(
      str_cat("[weights_sync] delta: expected one of off, changed_tensors, xor_bf16, got \"", name, "\""));
}

std::string encode(const SyncReady& ready) {
  return Writer()
      .word(static_cast<uint64_t>(ready.wire_dtype))
      .word(ready.manifest_hash)
      .word(ready.installed_version)
      .word(ready.installed_state)
      .text("");
}

std::string encode(const SyncHeader& header) {
  return Writer()
      .word(header.version)
      .word(header.manifest_hash)
      .word(static_cast<uint64_t>(header.wire_dtype))
      .word(static_cast<uint64_t>(header.mode))
      .word(header.base_version)
      .word(header.base_state)
      .word(static_cast<uint64_t>(header.payload_bytes))
      .word(static_cast<uint64_t>(header.bucket_bytes))
      .words(header.tensors)
      .words(header.encoded_bytes)
      .word(static_cast<uint64_t>(header.abort_code))
      .text(header.abort);
}

std::string encode(const SyncFooter& footer) { return Writer().word(footer.state).text(""); }

Result<SyncReady> decode_ready(const std::string& bytes) {
  Reader reader(bytes, "ready");
  SyncReady ready;
  ready.wire_dtype = static_cast<int64_t>(reader.word());
  ready.manifest_hash = reader.word();
  ready.installed_version = reader.word();
  ready.installed_state = reader.word();
  CARAVAN_RETURN_IF_ERROR(reader.status());
  return ready;
}

Result<SyncHeader> decode_header(const std::string& bytes) {
  Reader reader(bytes, "header");
  SyncHeader header;
  header.version = reader.word();
  header.manifest_hash = reader.word();
  header.wire_dtype = static_cast<int64_t>(reader.word());
  const uint64_t mode = reader.word();
  header.base_version = reader.word();
  header.base_state = reader.word();
  header.payload_bytes = static_cast<int64_t>(reader.word());
  header.bucket_bytes = static_cast<int64_t>(reader.word());
  header.tensors = reader.words();
  header.encoded_bytes = reader.words();
  header.abort_code = static_cast<int64_t>(reader.word());
  header.abort = reader.rest();
  CARAVAN_RETURN_IF_ERROR(reader.status());
  if (mode > static_cast<uint64_t>(DeltaMode::kXorBf16)) {
    return Status::data_loss(str_cat("weight sync: header message with unknown delta mode ", mode));
  }
  header.mode = static_cast<DeltaMode>(mode);
  const size_t expected_sizes = header.mode == DeltaMode::kXorBf16 ? header.tensors.size() : 0;
  if (header.abort.empty() &&
      (header.bucket_bytes <= 0 || header.payload_bytes < 0 || header.encoded_bytes.size() != expected_sizes)) {
    return Status::data_loss(str_cat("weight sync: inconsistent header message (mode ", delta_mode_name(header.mode),
                                     ", bucket_bytes ", header.bucket_bytes, ", ", header.tensors.size(),
                                     " tensors, ", header.encoded_bytes.size(), " encoded sizes)"));
  }
  return header;
}

Result<SyncFooter> decode_footer(const std::string& bytes) {
  Reader reader(bytes, "footer");
  SyncFooter footer{.state = reader.word()};
  CARAVAN_RETURN_IF_ERROR(reader.status());
  return footer;
}

} // namespace caravan::wsync
