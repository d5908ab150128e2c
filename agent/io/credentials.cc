#include "io/credentials.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "io/http_client.h"
#include "util/log.h"

namespace skidder::io {
namespace {

constexpr auto kRefreshPeriod = std::chrono::minutes(1);

// A secret from a file, without the trailing newline editors and `kubectl create secret` add.
Result<std::string> ReadSecretFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Err(NotFound(std::string("cannot read ") + what + " " + path));
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string s = buf.str();
  while (!s.empty() &&
         (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) {
    s.pop_back();
  }
  return s;
}

std::string Stamp(const std::string& path) {
  if (path.empty()) return "";
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return "missing;";
  return fmt::format("{}:{}:{}:{}.{}:{}.{};", st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec,
                     st.st_mtim.tv_nsec, st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
}

}  // namespace

std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8) |
                 static_cast<uint8_t>(in[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(kAlphabet[(v >> shift) & 63]);
  }
  size_t rest = in.size() - i;
  if (rest > 0) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    if (rest == 2) v |= static_cast<uint8_t>(in[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

Result<Credentials> Credentials::Load(const config::HttpClientConfig& cfg,
                                      std::chrono::milliseconds timeout, std::string who) {
  Credentials c;
  c.who_ = std::move(who);
  c.basic_ = cfg.basic_auth;
  c.token_ = cfg.bearer_token;
  c.token_file_ = cfg.bearer_token_file;
  if (cfg.authorization) {
    c.scheme_ = cfg.authorization->type;
    c.token_ = cfg.authorization->credentials;
    c.token_file_ = cfg.authorization->credentials_file;
  }
  if (cfg.oauth2) {
    // Only the secret file is checked now: the token endpoint may be down at start, like Loki.
    if (!cfg.oauth2->client_secret_file.empty()) {
      auto secret = ReadSecretFile(cfg.oauth2->client_secret_file, "oauth2.client_secret_file");
      if (!secret) return Err(secret.error());
    }
    c.oauth2_ = std::make_unique<OAuth2Token>(*cfg.oauth2, timeout, NewCurlHttpClient());
    return c;
  }
  if (Status s = c.Read(); !s.ok()) return Err(std::move(s));
  return c;
}

std::string Credentials::FileStamps() const {
  return Stamp(token_file_) + Stamp(basic_ ? basic_->password_file : std::string()) +
         Stamp(basic_ ? basic_->username_file : std::string());
}

Status Credentials::Read() {
  stamps_ = FileStamps();  // before reading: a change during the read is seen next time
  std::string header;
  if (basic_) {
    std::string username = basic_->username;
    if (!basic_->username_file.empty()) {
      auto u = ReadSecretFile(basic_->username_file, "basic_auth.username_file");
      if (!u) return u.error();
      username = std::move(*u);
    }
    std::string password = basic_->password;
    if (!basic_->password_file.empty()) {
      auto p = ReadSecretFile(basic_->password_file, "basic_auth.password_file");
      if (!p) return p.error();
      password = std::move(*p);
    }
    header = "Basic " + Base64(username + ":" + password);
  } else if (!token_file_.empty() || !token_.empty()) {
    std::string token = token_;
    if (!token_file_.empty()) {
      auto t = ReadSecretFile(token_file_, "credentials file");
      if (!t) return t.error();
      token = std::move(*t);
    }
    header = scheme_ + " " + token;
  }
  // A CR or LF inside a secret would let it inject headers; refuse it rather than send it.
  if (!ValidHeader("Authorization", header)) {
    return InvalidArgument("credentials contain control characters (CR/LF); not used");
  }
  header_ = std::move(header);
  return Status::Ok();
}

void Credentials::RefreshOAuth2(std::chrono::steady_clock::time_point now) {
  auto token = oauth2_->Get(now);
  if (!token) {
    // Every push attempt asks again; say so when the reason changes, else once a minute.
    const std::string& why = token.error().message();
    if (why != oauth2_error_ || now - oauth2_logged_ >= kRefreshPeriod) {
      LOG_WARN(who_ + ": no OAuth2 token, sending the previous one (if any)", {{"error", why}});
      oauth2_error_ = why;
      oauth2_logged_ = now;
    }
    return;
  }
  oauth2_error_.clear();
  header_ = "Bearer " + *token;
}

void Credentials::Reload(std::chrono::steady_clock::time_point now) {
  if (oauth2_) {
    oauth2_->Invalidate();
    RefreshOAuth2(now);
    return;
  }
  last_read_ = now;
  if (Status s = Read(); !s.ok()) {
    LOG_WARN(who_ + ": keeping previous credentials", {{"error", s.message()}});
  }
}

void Credentials::MaybeRefresh(std::chrono::steady_clock::time_point now) {
  if (oauth2_) return RefreshOAuth2(now);
  if (token_file_.empty() &&
      (!basic_ || (basic_->password_file.empty() && basic_->username_file.empty()))) {
    return;
  }
  if (last_read_ == std::chrono::steady_clock::time_point{}) last_read_ = now;
  if (now - last_read_ >= kRefreshPeriod || FileStamps() != stamps_) Reload(now);
}

}  // namespace skidder::io
