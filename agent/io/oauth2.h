// OAuth2Token: the access token of an OAuth 2.0 client credentials grant (RFC 6749 4.4), as
// Promtail's `oauth2` block gets it: POSTed to token_url with the client's id and secret (through
// the block's own proxy and TLS settings), cached until shortly before `expires_in` runs out,
// fetched again on demand after the server answers 401/403.
//
// Owned by one Credentials, so used on its owner's thread only; not thread-safe.
// Neither the secret nor the token ever appears in an error message.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "config/config.h"
#include "io/http_client.h"
#include "util/status.h"

namespace skidder::io {

class OAuth2Token {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  OAuth2Token(config::OAuth2Config cfg, std::chrono::milliseconds timeout,
              std::unique_ptr<HttpClient> http);

  // The cached token while it is valid at `now` (with a 10 s margin, as Go's oauth2 package
  // keeps), else a freshly fetched one. An error when the token endpoint cannot give one.
  Result<std::string> Get(TimePoint now);
  // When set and it turns true, a token request in progress gives up promptly.
  void set_cancel(const std::atomic<bool>* cancel) { cancel_ = cancel; }
  // Forgets the cached token: the server refused it (401/403), so the next Get() fetches a new one.
  void Invalidate() { token_.clear(); }

 private:
  Result<std::string> Fetch(TimePoint now);
  Result<std::string> ClientSecret() const;

  config::OAuth2Config cfg_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<HttpClient> http_;
  const std::atomic<bool>* cancel_ = nullptr;
  std::string token_;
  TimePoint expiry_{};  // TimePoint::max() when the server gave no expires_in
};

// application/x-www-form-urlencoded escaping (RFC 3986 unreserved characters kept).
std::string FormEscape(std::string_view s);

}  // namespace skidder::io
