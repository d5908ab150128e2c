// KubeAuth: the Authorization header of the Kubernetes API client: a static bearer token, a
// token file (re-read every token_refresh and after the server refused it, keeping the previous
// token while a rotation leaves the file unreadable), or an OAuth2 client-credentials token
// (io/oauth2.h: fetched before the first request, again before it expires and after a 401/403).
// Basic auth is not kept here: KubeClient sends it as a "Basic" header itself.
//
// Kept apart from the transport (client.cc) so either can change alone. Thread-safe: one mutex
// (a token request holds it, so concurrent callers wait for the same token).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "config/config.h"
#include "io/oauth2.h"
#include "util/status.h"

namespace skidder::kubernetes {

struct ClientConfig;

class KubeAuth {
 public:
  explicit KubeAuth(const ClientConfig& cfg);

  // "Bearer <token>", or "" when the client sends no Authorization header.
  Result<std::string> Header();
  // The server refused the credentials (401/403): the next Header() re-reads the token file or
  // fetches a new OAuth2 token.
  void Invalidate();
  // A token request in progress gives up when *cancel turns true (KubeClient::Interrupt).
  void set_cancel(const std::atomic<bool>* cancel) {
    if (oauth2_) oauth2_->set_cancel(cancel);
  }

 private:
  Result<std::string> FileToken(std::chrono::steady_clock::time_point now);

  std::string static_token_, token_file_;
  std::chrono::seconds refresh_;
  std::unique_ptr<io::OAuth2Token> oauth2_;
  std::mutex mu_;
  std::string token_;
  std::chrono::steady_clock::time_point token_read_{};
  bool token_valid_ = false;
};

}  // namespace skidder::kubernetes
