// Credentials: the Authorization header of one HTTP client (a Loki client, a Kubernetes or
// Docker discovery), from basic_auth, a bearer token, `authorization` (any scheme) or an OAuth2
// client-credentials token (oauth2.h), as Prometheus' common HTTP client config says. Secrets are
// re-read from their files as soon as a file changes (checked with stat before every request),
// when the server answers 401/403, and every minute, so a rotated secret takes effect without a
// restart and without a failed request first. An OAuth2 token is fetched before the first
// request, again when it is about to expire, and at once after a 401/403.
//
// Owned by one thread (the client's sender or the discovery's worker); not thread-safe. Never logs
// or returns a secret in an error message (only file paths).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "config/config.h"
#include "io/oauth2.h"
#include "util/status.h"

namespace skidder::io {

class Credentials {
 public:
  // Reads the files once; an unreadable file is an error the user can act on at start. timeout
  // bounds an OAuth2 token request; who names the client in log lines ("loki client").
  static Result<Credentials> Load(const config::HttpClientConfig& cfg,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(10),
                                  std::string who = "loki client");

  // "Basic ...", "Bearer ...", "<type> ..." or "" (no Authorization header).
  const std::string& authorization() const { return header_; }
  // Why the last OAuth2 token request failed; "" once one succeeded (or without oauth2).
  const std::string& oauth2_error() const { return oauth2_error_; }
  // Re-reads the secret files, or fetches a new OAuth2 token. Keeps the previous value when a
  // file cannot be read, holds an unusable value or no token comes (logged). `now` is the
  // caller's clock (the Loki sender's injected one), the time the files count as read.
  void Reload(std::chrono::steady_clock::time_point now);
  // Reload() when a secret file changed (identity, size, mtime or ctime) or was last read more
  // than a minute before now; for OAuth2, a new token when there is none valid at now.
  void MaybeRefresh(std::chrono::steady_clock::time_point now);
  // Lets a token request in progress give up when *cancel turns true (shutdown).
  void set_cancel(const std::atomic<bool>* cancel) {
    if (oauth2_) oauth2_->set_cancel(cancel);
  }

 private:
  Credentials() = default;
  Status Read();
  // What stat says about the secret files; a change means "read again". Kubernetes swaps a
  // mounted secret by re-pointing a symlink, which changes the file stat follows to.
  std::string FileStamps() const;

  void RefreshOAuth2(std::chrono::steady_clock::time_point now);

  std::optional<config::BasicAuth> basic_;
  std::string scheme_ = "Bearer";  // of token_: "Bearer" or authorization.type
  // bearer_token(_file), or authorization.credentials(_file)
  std::string token_, token_file_;
  std::unique_ptr<OAuth2Token> oauth2_;  // set for `oauth2`
  std::string oauth2_error_;             // last token error logged, to log each change once
  std::chrono::steady_clock::time_point oauth2_logged_{};
  std::string header_;
  std::chrono::steady_clock::time_point last_read_{};
  std::string stamps_;  // FileStamps() when the files were last read
  std::string who_;     // for log lines
};

// Standard base64 (RFC 4648, with padding).
std::string Base64(std::string_view in);

}  // namespace skidder::io
