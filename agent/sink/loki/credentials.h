// Credentials: the Authorization header of one Loki client, from basic_auth or a bearer token,
// re-read from their files when Loki answers 401/403 and (bearer_token_file) every minute, so a
// rotated secret takes effect without a restart.
//
// Owned by the client's sender thread; not thread-safe. Never logs or returns a secret in an
// error message (only file paths).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "config/config.h"
#include "util/status.h"

namespace skidder::sink {

class Credentials {
 public:
  // Reads the files once; an unreadable file is an error the user can act on at start.
  static Result<Credentials> Load(const config::ClientConfig& cfg);

  // "Basic ...", "Bearer ..." or "" (no Authorization header).
  const std::string& authorization() const { return header_; }
  // Re-reads password_file / bearer_token_file. Keeps the previous value when a file cannot be
  // read or holds an unusable value (logged).
  void Reload();
  // Reload() when the secret files were last read more than a minute before now.
  void MaybeRefresh(std::chrono::steady_clock::time_point now);

 private:
  Credentials() = default;
  Status Read();

  std::optional<config::BasicAuth> basic_;
  std::string bearer_token_, bearer_token_file_;
  std::string header_;
  std::chrono::steady_clock::time_point last_read_{};
};

// Standard base64 (RFC 4648, with padding).
std::string Base64(std::string_view in);

}  // namespace skidder::sink
