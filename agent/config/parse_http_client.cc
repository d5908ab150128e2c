// Prometheus' common HTTP client settings (HttpClientConfig): the checks across their fields, for
// `clients`, kubernetes_sd_configs and docker_sd_configs (the fields are in http_client_fields.h).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "config/field_reader.h"

namespace skidder::config::internal {
namespace {

bool EqualsIgnoreCaseAscii(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

void ValidateProxy(MapReader& r, const ProxyConfig& p) {
  if (!p.proxy_url.empty()) {
    if (std::string why = CheckHttpUrl(p.proxy_url); !why.empty()) r.Fail("proxy_url", why);
  }
  if (!p.no_proxy.empty() && p.proxy_url.empty()) {
    r.Fail("no_proxy", "applies only together with proxy_url");
  }
  if (p.proxy_from_environment && !p.proxy_url.empty()) {
    r.Fail("proxy_from_environment", "set either proxy_url or proxy_from_environment, not both");
  }
  if (!p.proxy_connect_header.empty() && p.proxy_url.empty() && !p.proxy_from_environment) {
    r.Fail("proxy_connect_header",
           "applies only together with proxy_url or proxy_from_environment");
  }
}

}  // namespace

void Validate(MapReader& r, BasicAuth& auth) {
  if (!auth.username.empty() && !auth.username_file.empty()) {
    r.Fail("username_file", "set either username or username_file, not both");
  }
  if (!auth.password.empty() && !auth.password_file.empty()) {
    r.Fail("password_file", "set either password or password_file, not both");
  }
}

void Validate(MapReader& r, Authorization& auth) {
  if (auth.type.empty()) auth.type = "Bearer";
  // Prometheus' rule: basic auth has its own block, and a scheme is one token.
  if (EqualsIgnoreCaseAscii(auth.type, "basic")) {
    r.Fail("type", "use basic_auth for Basic authentication, not authorization");
  } else if (auth.type.find_first_of(" \t\r\n") != std::string::npos) {
    r.Fail("type", "must be a single word such as Bearer");
  }
  if (!auth.credentials.empty() && !auth.credentials_file.empty()) {
    r.Fail("credentials_file", "set either credentials or credentials_file, not both");
  }
}

void Validate(MapReader& r, OAuth2Config& o) {
  RefuseUnsupported(r, {"client_secret_ref"});
  if (o.client_id.empty()) r.Fail("client_id", "is required");
  if (o.token_url.empty()) {
    r.Fail("token_url", "is required: the OAuth2 token endpoint");
  } else if (std::string why = CheckHttpUrl(o.token_url); !why.empty()) {
    r.Fail("token_url", why);
  }
  if (!o.client_secret.empty() && !o.client_secret_file.empty()) {
    r.Fail("client_secret_file", "set either client_secret or client_secret_file, not both");
  }
  ValidateProxy(r, o);
}

void ValidateHttpClient(MapReader& r, const HttpClientConfig& c) {
  if (!c.bearer_token.empty() && !c.bearer_token_file.empty()) {
    r.Fail("bearer_token_file", "set either bearer_token or bearer_token_file, not both");
  }
  // At most one way to authenticate, as Promtail's validation says.
  int ways = (c.basic_auth ? 1 : 0) + (c.authorization ? 1 : 0) + (c.oauth2 ? 1 : 0) +
             (!c.bearer_token.empty() || !c.bearer_token_file.empty() ? 1 : 0);
  if (ways > 1) {
    r.Fail(c.oauth2          ? "oauth2"
           : c.authorization ? "authorization"
                             : "basic_auth",
           "set only one of basic_auth, bearer_token(_file), authorization and oauth2");
  }
  ValidateProxy(r, c);
}

}  // namespace skidder::config::internal
