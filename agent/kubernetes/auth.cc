#include "kubernetes/auth.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "kubernetes/client.h"
#include "util/log.h"

namespace skidder::kubernetes {
namespace {

// Token requests of the discovery: the API client's connect timeout is 10 s as well.
constexpr std::chrono::milliseconds kTokenTimeout{10000};

Result<std::string> ReadToken(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Err(Unavailable(fmt::format("cannot read bearer token file {}", path)));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string token = ss.str();
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  // A token goes into a header: anything that could split it is refused, not sent.
  for (unsigned char c : token) {
    if (c < 0x20 || c == 0x7f) {
      return Err(InvalidArgument(fmt::format("bearer token file {} holds control bytes", path)));
    }
  }
  if (token.empty()) return Err(Unavailable(fmt::format("bearer token file {} is empty", path)));
  return token;
}

}  // namespace

KubeAuth::KubeAuth(const ClientConfig& cfg)
    : static_token_(cfg.bearer_token),
      token_file_(cfg.bearer_token_file),
      refresh_(cfg.token_refresh) {
  if (cfg.oauth2) {
    oauth2_ =
        std::make_unique<io::OAuth2Token>(*cfg.oauth2, kTokenTimeout, io::NewCurlHttpClient());
  }
}

void KubeAuth::Invalidate() {
  std::lock_guard lock(mu_);
  token_valid_ = false;
  if (oauth2_) oauth2_->Invalidate();
}

Result<std::string> KubeAuth::Header() {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (oauth2_) {
    auto token = oauth2_->Get(now);
    if (!token) return Err(token.error());
    return "Bearer " + *token;
  }
  if (token_file_.empty()) return static_token_.empty() ? "" : "Bearer " + static_token_;
  auto token = FileToken(now);
  if (!token) return Err(token.error());
  return "Bearer " + *token;
}

Result<std::string> KubeAuth::FileToken(std::chrono::steady_clock::time_point now) {
  if (token_valid_ && now - token_read_ < refresh_) return token_;
  auto token = ReadToken(token_file_);
  if (!token) {
    // A rotation in progress can leave the file briefly unreadable; an old token may still work.
    if (!token_.empty()) {
      LOG_WARN("keeping previous kubernetes token", {{"error", token.error().message()}});
      return token_;
    }
    return Err(token.error());
  }
  token_ = std::move(*token);
  token_read_ = now;
  token_valid_ = true;
  return token_;
}

}  // namespace skidder::kubernetes
