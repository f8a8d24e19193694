// File: weights_sync/first_failure.h
// What makes a Communicator "broken" (communicator.h): the first failed collective, kept so that
// every later call fails fast naming it instead of running against a group whose ranks may be
// at different points of the call sequence. Shared by every backend.
//
//   FirstFailure failure_;                                   // a backend's member
//   CARAVAN_RETURN_IF_ERROR(failure_.check_usable(context)); // before each collective
//   return failure_.record(run_the_collective());            // after it
#pragma once

#include <string_view>

#include "core/status.h"

namespace caravan::wsync {

// Owner thread only (the communicator's).
class FirstFailure {
 public:
  // True once a failure was recorded.
  bool failed() const { return !first_.ok(); }
  // ok until a failure was recorded; then kFailedPrecondition
  // "<where>: communicator unusable after an earlier failure: <the first failure>".
  Status check_usable(std::string_view where) const;
  // Keeps `status` if it is the first failure; returns it unchanged.
  Status record(Status status);

 private:
  Status first_;
};

} // namespace caravan::wsync
