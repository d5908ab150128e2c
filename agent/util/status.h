// Status and Result<T>: errors as values at every boundary that touches the outside world.
//
// Codes follow Abseil's canonical set, trimmed to what the agent decides on: callers branch on
// the code (retry, drop, refuse), and show the message to a user. Messages never carry secrets.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace skidder {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // bad input from a user or a peer: do not retry
  kNotFound,         // a file or key that is not there
  kAlreadyExists,
  kUnavailable,         // transient: retry with backoff
  kResourceExhausted,   // rate limited or a limit hit: retry with backoff
  kUnauthenticated,     // credentials: re-read and retry
  kDeadlineExceeded,    // timeout: retry
  kFailedPrecondition,  // state does not allow it
  kDataLoss,            // corrupt data found (e.g. a garbage positions file)
  kInternal,
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "<code>: <message>", for logs.
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status DataLoss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status FailedPrecondition(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}

// Result<T> holds a T or the Status explaining why there is none.
template <typename T>
using Result = std::expected<T, Status>;

inline std::unexpected<Status> Err(Status s) { return std::unexpected<Status>(std::move(s)); }

}  // namespace skidder
