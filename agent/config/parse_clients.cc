// clients[]: where entries are pushed, how, and with which credentials.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <string_view>

#include "config/sections.h"
#include "util/escape.h"

namespace skidder::config::internal {
namespace {

bool EqualsIgnoreCaseAscii(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

Status ReadAuthorization(MapReader& parent, std::optional<Authorization>* out) {
  YAML::Node node = parent.Node("authorization");
  if (!node.IsDefined() || node.IsNull()) return Status::Ok();
  MapReader r(node, parent.file(), parent.Sub("authorization"));
  Authorization auth;
  r.Str("type", &auth.type);
  r.Str("credentials", &auth.credentials);
  r.Str("credentials_file", &auth.credentials_file);
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
  *out = std::move(auth);
  return r.Finish();
}

Status ReadOAuth2(MapReader& parent, std::optional<OAuth2Config>* out) {
  YAML::Node node = parent.Node("oauth2");
  if (!node.IsDefined() || node.IsNull()) return Status::Ok();
  MapReader r(node, parent.file(), parent.Sub("oauth2"));
  OAuth2Config o;
  r.Str("client_id", &o.client_id);
  r.Str("client_secret", &o.client_secret);
  r.Str("client_secret_file", &o.client_secret_file);
  r.StrList("scopes", &o.scopes);
  r.Str("token_url", &o.token_url);
  r.StrMap("endpoint_params", &o.endpoint_params);
  r.Str("proxy_url", &o.proxy_url);
  RefuseUnsupported(
      r, {"client_secret_ref", "no_proxy", "proxy_from_environment", "proxy_connect_header"});
  if (Status s = ReadTls(r, "tls_config", &o.tls_config); !s.ok()) return s;
  if (o.client_id.empty()) r.Fail("client_id", "is required");
  if (o.token_url.empty()) {
    r.Fail("token_url", "is required: the OAuth2 token endpoint");
  } else if (std::string why = CheckHttpUrl(o.token_url); !why.empty()) {
    r.Fail("token_url", why);
  }
  if (!o.proxy_url.empty()) {
    if (std::string why = CheckHttpUrl(o.proxy_url); !why.empty()) r.Fail("proxy_url", why);
  }
  if (!o.client_secret.empty() && !o.client_secret_file.empty()) {
    r.Fail("client_secret_file", "set either client_secret or client_secret_file, not both");
  }
  *out = std::move(o);
  return r.Finish();
}

Status ReadBackoff(MapReader& parent, BackoffConfig* out) {
  MapReader r(parent.Node("backoff_config"), parent.file(), parent.Sub("backoff_config"));
  r.Dur("min_period", &out->min_period);
  r.Dur("max_period", &out->max_period);
  r.Int("max_retries", &out->max_retries);
  if (out->min_period <= Duration::zero()) r.Fail("min_period", "must be positive");
  if (out->max_period < out->min_period) {
    r.Fail("max_period",
           fmt::format("must not be less than min_period ({})", FormatDuration(out->min_period)));
  }
  if (out->max_retries < 0) r.Fail("max_retries", "must not be negative");
  return r.Finish();
}

// RFC 9110: a header name is a token; a value has no CR, LF or NUL (they would end the header
// or the request: header injection).
bool ValidHeaderField(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  for (unsigned char ch : name) {
    if (ch <= 32 || ch >= 127 ||
        std::string_view("\"(),/:;<=>?@[\\]{}").find(static_cast<char>(ch)) !=
            std::string_view::npos) {
      return false;
    }
  }
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// Cross-field checks of one client, reported at the offending key.
void ValidateClient(MapReader& r, const ClientConfig& c) {
  for (const auto& [name, value] : c.headers) {
    if (!ValidHeaderField(name, value)) {  // the name only: the value may be a secret
      std::string quoted;
      AppendQuotedEscaped(quoted, name, ControlEscape::kGo);
      r.Fail("headers", "invalid header " + quoted +
                            " (a name is letters, digits and !#$%&'*+-.^_`|~; CR, LF and NUL are "
                            "not allowed anywhere)");
    }
  }
  if (c.url.empty()) {
    r.Fail("url", "is required: the Loki push URL, e.g. http://loki:3100/loki/api/v1/push");
  } else if (std::string why = CheckHttpUrl(c.url); !why.empty()) {
    r.Fail("url", why);
  }
  if (!c.proxy_url.empty()) {
    if (std::string why = CheckHttpUrl(c.proxy_url); !why.empty()) r.Fail("proxy_url", why);
  }
  if (c.batchsize <= 0) r.Fail("batchsize", "must be positive (bytes)");
  if (c.batchwait <= Duration::zero()) r.Fail("batchwait", "must be positive");
  if (c.timeout <= Duration::zero()) r.Fail("timeout", "must be positive");
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
  if (!c.no_proxy.empty() && c.proxy_url.empty()) {
    r.Fail("no_proxy", "applies only together with proxy_url");
  }
  if (c.proxy_from_environment && !c.proxy_url.empty()) {
    r.Fail("proxy_from_environment", "set either proxy_url or proxy_from_environment, not both");
  }
}

}  // namespace

Status ReadBasicAuth(MapReader& parent, std::optional<BasicAuth>* out) {
  YAML::Node node = parent.Node("basic_auth");
  if (!node.IsDefined() || node.IsNull()) return Status::Ok();
  MapReader r(node, parent.file(), parent.Sub("basic_auth"));
  BasicAuth auth;
  r.Str("username", &auth.username);
  r.Str("username_file", &auth.username_file);
  r.Str("password", &auth.password);
  r.Str("password_file", &auth.password_file);
  if (!auth.username.empty() && !auth.username_file.empty()) {
    r.Fail("username_file", "set either username or username_file, not both");
  }
  if (!auth.password.empty() && !auth.password_file.empty()) {
    r.Fail("password_file", "set either password or password_file, not both");
  }
  *out = std::move(auth);
  return r.Finish();
}

Status ReadTls(MapReader& parent, std::string_view key, TlsConfig* out) {
  MapReader r(parent.Node(key), parent.file(), parent.Sub(key));
  r.Str("ca_file", &out->ca_file);
  r.Str("cert_file", &out->cert_file);
  r.Str("key_file", &out->key_file);
  r.Str("server_name", &out->server_name);
  r.Bool("insecure_skip_verify", &out->insecure_skip_verify);
  r.Str("min_version", &out->min_version);
  r.Str("max_version", &out->max_version);
  RefuseUnsupported(r, {"ca", "cert", "key", "ca_ref", "cert_ref", "key_ref"});
  // Go's names, as Prometheus reads them; TLS10 < TLS11 < TLS12 < TLS13 compares as text.
  for (const auto& [key, v] :
       {std::pair{"min_version", &out->min_version}, std::pair{"max_version", &out->max_version}}) {
    if (!v->empty() && *v != "TLS10" && *v != "TLS11" && *v != "TLS12" && *v != "TLS13") {
      r.Fail(key, fmt::format("must be TLS10, TLS11, TLS12 or TLS13, not {}", Quote(*v)));
    }
  }
  if (!out->min_version.empty() && !out->max_version.empty() &&
      out->max_version < out->min_version) {
    r.Fail("max_version", "must not be lower than min_version");
  }
  if (out->cert_file.empty() != out->key_file.empty()) {
    r.Fail(out->cert_file.empty() ? "key_file" : "cert_file",
           "cert_file and key_file must be set together");
  }
  return r.Finish();
}

Status ReadClient(const YAML::Node& node, const std::string& file, const std::string& path,
                  ClientConfig* out) {
  MapReader r(node, file, path);
  std::vector<std::string> stream_lag_labels;  // deprecated no-op in Promtail
  r.Str("url", &out->url);
  // The scheme is case-insensitive (as Go's url.Parse reads it); the client expects it lower.
  if (size_t colon = out->url.find("://"); colon != std::string::npos && colon <= 5) {
    for (size_t i = 0; i < colon; ++i) out->url[i] = static_cast<char>(std::tolower(out->url[i]));
  }
  r.Str("tenant_id", &out->tenant_id);
  r.Dur("batchwait", &out->batchwait);
  r.Int("batchsize", &out->batchsize);
  r.Dur("timeout", &out->timeout);
  r.StrMap("headers", &out->headers);
  r.Str("bearer_token", &out->bearer_token);
  r.Str("bearer_token_file", &out->bearer_token_file);
  r.Str("proxy_url", &out->proxy_url);
  r.Str("no_proxy", &out->no_proxy);
  r.Bool("proxy_from_environment", &out->proxy_from_environment);
  r.Bool("follow_redirects", &out->follow_redirects);
  r.Bool("enable_http2", &out->enable_http2);
  r.Bool("drop_rate_limited_batches", &out->drop_rate_limited_batches);
  r.StrList("stream_lag_labels", &stream_lag_labels);
  RefuseUnsupported(r, {"proxy_connect_header"});
  Status s = ReadLabels(r, "external_labels", &out->external_labels);
  if (s.ok()) s = ReadBasicAuth(r, &out->basic_auth);
  if (s.ok()) s = ReadAuthorization(r, &out->authorization);
  if (s.ok()) s = ReadOAuth2(r, &out->oauth2);
  if (s.ok()) s = ReadTls(r, "tls_config", &out->tls_config);
  if (s.ok()) s = ReadBackoff(r, &out->backoff_config);
  if (!s.ok()) return s;
  ValidateClient(r, *out);
  return r.Finish();
}

}  // namespace skidder::config::internal
