#include "model/communicator.h"

#include "core/str_cat.h"

namespace caravan::model {

std::string_view location_name(BufferLocation location) {
  switch (location) {
    case BufferLocation::kHost: return "host";
    case BufferLocation::kDevice: return "device";
  }
  CARAVAN_CHECK(false, "unhandled BufferLocation ", static_cast<int>(location));
}

Status validate_broadcast(const ByteBuffer& buffer, int root, int world_size) {
  if (root < 0 || root >= world_size) {
    return Status::invalid_argument(str_cat("broadcast: root ", root, " outside [0, world_size=", world_size, ")"));
  }
  if (buffer.bytes < 0 || (buffer.data == nullptr && buffer.bytes > 0)) {
    return Status::invalid_argument(str_cat("broadcast: bad buffer of ", buffer.bytes, " bytes"));
  }
  return Status::ok_status();
}

Status validate_all_reduce(const ByteBuffer& buffer) {
  if (buffer.bytes < 0 || buffer.bytes % static_cast<int64_t>(sizeof(float)) != 0 ||
      (buffer.data == nullptr && buffer.bytes > 0)) {
    return Status::invalid_argument(
        str_cat("all_reduce_sum: bad buffer of ", buffer.bytes, " bytes (expected whole float32 elements)"));
  }
  return Status::ok_status();
}

} // namespace caravan::model
