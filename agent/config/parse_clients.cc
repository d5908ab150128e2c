// clients[]: where entries are pushed, how, and with which credentials.
#include <fmt/format.h>

#include "config/sections.h"

namespace skidder::config::internal {
namespace {

Status ReadBasicAuth(MapReader& parent, std::optional<BasicAuth>* out) {
  YAML::Node node = parent.Node("basic_auth");
  if (!node.IsDefined() || node.IsNull()) return Status::Ok();
  MapReader r(node, parent.file(), parent.Sub("basic_auth"));
  BasicAuth auth;
  r.Str("username", &auth.username);
  r.Str("password", &auth.password);
  r.Str("password_file", &auth.password_file);
  RefuseUnsupported(r, {"username_file"});
  if (!auth.password.empty() && !auth.password_file.empty()) {
    r.Fail("password_file", "set either password or password_file, not both");
  }
  *out = std::move(auth);
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

// Cross-field checks of one client, reported at the offending key.
void ValidateClient(MapReader& r, const ClientConfig& c) {
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
  if (c.basic_auth && (!c.bearer_token.empty() || !c.bearer_token_file.empty())) {
    r.Fail("basic_auth", "set either basic_auth or a bearer token, not both");
  }
}

}  // namespace

Status ReadTls(MapReader& parent, std::string_view key, TlsConfig* out) {
  MapReader r(parent.Node(key), parent.file(), parent.Sub(key));
  r.Str("ca_file", &out->ca_file);
  r.Str("cert_file", &out->cert_file);
  r.Str("key_file", &out->key_file);
  r.Str("server_name", &out->server_name);
  r.Bool("insecure_skip_verify", &out->insecure_skip_verify);
  RefuseUnsupported(
      r, {"ca", "cert", "key", "ca_ref", "cert_ref", "key_ref", "min_version", "max_version"});
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
  r.Str("tenant_id", &out->tenant_id);
  r.Dur("batchwait", &out->batchwait);
  r.Int("batchsize", &out->batchsize);
  r.Dur("timeout", &out->timeout);
  r.StrMap("headers", &out->headers);
  r.Str("bearer_token", &out->bearer_token);
  r.Str("bearer_token_file", &out->bearer_token_file);
  r.Str("proxy_url", &out->proxy_url);
  r.Bool("drop_rate_limited_batches", &out->drop_rate_limited_batches);
  r.StrList("stream_lag_labels", &stream_lag_labels);
  RefuseUnsupported(r, {"oauth2", "authorization", "follow_redirects", "enable_http2", "no_proxy",
                        "proxy_from_environment", "proxy_connect_header"});
  Status s = ReadLabels(r, "external_labels", &out->external_labels);
  if (s.ok()) s = ReadBasicAuth(r, &out->basic_auth);
  if (s.ok()) s = ReadTls(r, "tls_config", &out->tls_config);
  if (s.ok()) s = ReadBackoff(r, &out->backoff_config);
  if (!s.ok()) return s;
  ValidateClient(r, *out);
  return r.Finish();
}

}  // namespace skidder::config::internal
