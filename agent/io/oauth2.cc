#include "io/oauth2.h"

#include <fmt/format.h>
#include <rapidjson/document.h>

#include <cctype>
#include <fstream>
#include <sstream>

#include "io/credentials.h"
#include "io/proxy.h"
#include "io/tls_from_config.h"

namespace skidder::io {
namespace {

// Go's oauth2 treats a token as expired this long before it really is, so a request never
// leaves with a token that dies on the way.
constexpr auto kExpiryMargin = std::chrono::seconds(10);

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// The token endpoint's answer: access_token (required), expires_in (seconds, optional).
Result<std::pair<std::string, int64_t>> ParseTokenReply(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return Err(InvalidArgument("oauth2: token endpoint answered with something other than JSON"));
  }
  auto token = doc.FindMember("access_token");
  if (token == doc.MemberEnd() || !token->value.IsString() || token->value.GetStringLength() == 0) {
    return Err(InvalidArgument("oauth2: token endpoint answer has no access_token"));
  }
  int64_t expires_in = 0;
  if (auto e = doc.FindMember("expires_in"); e != doc.MemberEnd()) {
    if (e->value.IsNumber()) {
      expires_in = static_cast<int64_t>(e->value.GetDouble());
    } else if (e->value.IsString()) {  // some servers quote it
      expires_in = std::atoll(e->value.GetString());
    }
  }
  return std::make_pair(std::string(token->value.GetString(), token->value.GetStringLength()),
                        expires_in);
}

}  // namespace

std::string FormEscape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

OAuth2Token::OAuth2Token(config::OAuth2Config cfg, std::chrono::milliseconds timeout,
                         std::unique_ptr<HttpClient> http)
    : cfg_(std::move(cfg)), timeout_(timeout), http_(std::move(http)) {}

Result<std::string> OAuth2Token::ClientSecret() const {
  if (cfg_.client_secret_file.empty()) return cfg_.client_secret;
  std::ifstream in(cfg_.client_secret_file, std::ios::binary);
  if (!in) return Err(NotFound("cannot read oauth2.client_secret_file " + cfg_.client_secret_file));
  std::ostringstream buf;
  buf << in.rdbuf();
  return Trimmed(buf.str());
}

Result<std::string> OAuth2Token::Get(TimePoint now) {
  if (!token_.empty() && now + kExpiryMargin < expiry_) return token_;
  return Fetch(now);
}

Result<std::string> OAuth2Token::Fetch(TimePoint now) {
  auto secret = ClientSecret();
  if (!secret) return Err(secret.error());
  std::string body = "grant_type=client_credentials";
  if (!cfg_.scopes.empty()) {
    std::string scope;
    for (const std::string& s : cfg_.scopes) scope += (scope.empty() ? "" : " ") + s;
    body += "&scope=" + FormEscape(scope);
  }
  for (const auto& [k, v] : cfg_.endpoint_params) body += "&" + FormEscape(k) + "=" + FormEscape(v);
  HttpRequest req;
  req.url = cfg_.token_url;
  req.body = body;
  req.timeout = timeout_;
  req.tls = TlsFromConfig(cfg_.tls_config);
  req.proxy_url = cfg_.proxy_url;
  req.no_proxy = cfg_.no_proxy;
  req.proxy_from_environment = cfg_.proxy_from_environment;
  req.proxy_connect_header = ProxyConnectHeaderLines(cfg_.proxy_connect_header);
  req.read_2xx_body = true;
  req.cancel = cancel_;
  req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  req.headers.emplace_back("Accept", "application/json");
  // RFC 6749 2.3.1: id and secret form-encoded, then as HTTP basic credentials.
  req.headers.emplace_back(
      "Authorization", "Basic " + Base64(FormEscape(cfg_.client_id) + ":" + FormEscape(*secret)));
  HttpResponse resp = http_->Post(req);
  if (resp.status == 0) {
    return Err(Unavailable("oauth2: token request failed: " + resp.transport_error));
  }
  if (resp.status < 200 || resp.status >= 300) {
    return Err(Unavailable(fmt::format("oauth2: token endpoint answered {}", resp.status)));
  }
  auto reply = ParseTokenReply(resp.body);
  if (!reply) return Err(reply.error());
  if (!ValidHeader("Authorization", reply->first)) {
    return Err(InvalidArgument("oauth2: access_token contains control characters; not used"));
  }
  token_ = std::move(reply->first);
  expiry_ = reply->second > 0 ? now + std::chrono::seconds(reply->second) : TimePoint::max();
  return token_;
}

}  // namespace skidder::io
