// File: weights_sync/first_failure.cpp
#include "weights_sync/first_failure.h"

#include "core/str_cat.h"

namespace caravan::wsync {

Status FirstFailure::check_usable(std::string_view where) const {
  if (first_.ok()) return Status::ok_status();
  return Status::failed_precondition(
      str_cat(where, ": communicator unusable after an earlier failure: ", first_.to_string()));
}

Status FirstFailure::record(Status status) {
  if (!status.ok() && first_.ok()) first_ = status;
  return status;
}

} // namespace caravan::wsync
