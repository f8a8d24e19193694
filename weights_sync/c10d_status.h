// File: weights_sync/c10d_status.h
// Turns what c10d and Gloo throw into a Status, for the translation units of weights_sync/ that
// call them (no exception crosses weights_sync/'s interfaces).
//
//   CARAVAN_RETURN_IF_ERROR(guarded("gloo rank 1/3: barrier", [&] { work->wait(timeout); }));
#pragma once

#include <exception>
#include <string>

#include <c10/util/Exception.h>

#include "core/status.h"

namespace caravan::wsync {

// "<context>: <message>" as kTimeout when the message says the failure was a timeout, else as
// kUnavailable (peer gone, connection refused, port in use, ...).
Status status_from_message(const std::string& context, const std::string& message);

// Runs `body`, converting whatever c10d or Gloo throw into a Status prefixed with `context`.
template <class Body>
Status guarded(const std::string& context, Body&& body) {
  try {
    body();
    return Status::ok_status();
  } catch (const c10::Error& e) {
    return status_from_message(context, e.what_without_backtrace());
  } catch (const std::exception& e) {
    return status_from_message(context, e.what());
  }
}

} // namespace caravan::wsync
