// File: core/status.h
// Status and Result<T>: how Caravan reports expected failures (bad config, bad input file,
// malformed message, timeout, peer gone). Bugs use CARAVAN_CHECK, which throws InternalError.
//
//   Result<Options> parse(const toml::table& t) {
//     CARAVAN_ASSIGN_OR_RETURN(int steps, get_int(t, "steps"));
//     CARAVAN_RETURN_IF_ERROR(validate(steps));
//     return Options{steps};
//   }
//   auto options = parse(table);
//   if (!options.ok()) log_error(options.status().to_string());
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

#include "core/str_cat.h"

namespace caravan {

enum class StatusCode {
  kOk,
  kInvalidArgument,
  kNotFound,
  kTimeout,
  kCancelled,
  kUnavailable,
  kDataLoss,
  kFailedPrecondition,
  kResourceExhausted,
  kInternal,
};

// Name of a code as printed in messages ("INVALID_ARGUMENT").
const char* status_code_name(StatusCode code);

// A success or an error code with a message. Cheap to copy when ok.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return {}; }
  static Status invalid_argument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status not_found(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status timeout(std::string m) { return {StatusCode::kTimeout, std::move(m)}; }
  static Status cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
  static Status unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status data_loss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
  static Status failed_precondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
  static Status resource_exhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
  static Status internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "<context>: <message>"; ok stays ok.
  Status with_context(const std::string& context) const {
    if (ok()) return *this;
    return {code_, context + ": " + message_};
  }
  // "INVALID_ARGUMENT: config.toml: [learner] clip_ratio: ..." or "OK".
  std::string to_string() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Thrown by CARAVAN_CHECK: a broken invariant, i.e. a bug, never bad input.
class InternalError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// A value or an error Status. Accessing value() of an error is a bug (throws InternalError).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design, like absl::StatusOr
  Result(Status status) : state_(std::move(status)) {  // NOLINT
    if (std::get<Status>(state_).ok()) {
      throw InternalError("Result<T> constructed from an OK Status without a value");
    }
  }

  bool ok() const { return std::holds_alternative<T>(state_); }
  Status status() const { return ok() ? Status() : std::get<Status>(state_); }

  T& value() & { check(); return std::get<T>(state_); }
  const T& value() const& { check(); return std::get<T>(state_); }
  T&& value() && { check(); return std::get<T>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  void check() const {
    if (!ok()) throw InternalError("Result::value() on error: " + std::get<Status>(state_).to_string());
  }
  std::variant<T, Status> state_;
};

namespace detail {
[[noreturn]] void check_failed(const char* file, int line, const char* expression, const std::string& message);
inline const Status& status_of(const Status& s) { return s; }
template <class T>
Status status_of(const Result<T>& r) { return r.status(); }
}  // namespace detail

} // namespace caravan

#define CARAVAN_CONCAT_INNER_(a, b) a##b
#define CARAVAN_CONCAT_(a, b) CARAVAN_CONCAT_INNER_(a, b)

// Returns the Status of `expr` (a Status or Result) from the enclosing function if it is an error.
#define CARAVAN_RETURN_IF_ERROR(expr)                                                   \
  do {                                                                                  \
    ::caravan::Status caravan_status_ = ::caravan::detail::status_of(expr);             \
    if (!caravan_status_.ok()) return caravan_status_;                                  \
  } while (0)

// Like CARAVAN_RETURN_IF_ERROR, prefixing the message with `context` (a std::string).
#define CARAVAN_RETURN_IF_ERROR_CTX(expr, context)                                      \
  do {                                                                                  \
    ::caravan::Status caravan_status_ = ::caravan::detail::status_of(expr);             \
    if (!caravan_status_.ok()) return caravan_status_.with_context(context);            \
  } while (0)

// `lhs` = value of the Result `rexpr`, or returns its error from the enclosing function.
#define CARAVAN_ASSIGN_OR_RETURN(lhs, rexpr) \
  CARAVAN_ASSIGN_OR_RETURN_IMPL_(CARAVAN_CONCAT_(caravan_result_, __LINE__), lhs, rexpr)
#define CARAVAN_ASSIGN_OR_RETURN_IMPL_(result, lhs, rexpr) \
  auto result = (rexpr);                                    \
  if (!result.ok()) return result.status();                 \
  lhs = std::move(result).value()

// Throws InternalError with file:line, the expression and the streamed message if `cond` is false.
#define CARAVAN_CHECK(cond, ...)                                                              \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      ::caravan::detail::check_failed(__FILE__, __LINE__, #cond, ::caravan::str_cat(__VA_ARGS__)); \
    }                                                                                         \
  } while (0)
