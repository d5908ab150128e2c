// Credentials: the Authorization header of one Loki client, from basic_auth or a bearer token,
// re-read from their files as soon as a file changes (checked with stat before every push), when
// Loki answers 401/403, and every minute, so a rotated secret takes effect without a restart and
// without a failed push first.
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
  // Reload() when a secret file changed (identity, size, mtime or ctime) or was last read more
  // than a minute before now.
  void MaybeRefresh(std::chrono::steady_clock::time_point now);

 private:
  Credentials() = default;
  Status Read();
  // What stat says about the secret files; a change means "read again". Kubernetes swaps a
  // mounted secret by re-pointing a symlink, which changes the file stat follows to.
  std::string FileStamps() const;

  std::optional<config::BasicAuth> basic_;
  std::string bearer_token_, bearer_token_file_;
  std::string header_;
  std::chrono::steady_clock::time_point last_read_{};
  std::string stamps_;  // FileStamps() when the files were last read
};

// Standard base64 (RFC 4648, with padding).
std::string Base64(std::string_view in);

}  // namespace skidder::sink
