// clients[]: where entries are pushed, how, and with which credentials.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <string_view>

#include "config/sections.h"
#include "util/escape.h"

namespace skidder::config::internal {
namespace {

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
  if (c.batchsize <= 0) r.Fail("batchsize", "must be positive (bytes)");
  if (c.batchwait <= Duration::zero()) r.Fail("batchwait", "must be positive");
  if (c.timeout <= Duration::zero()) r.Fail("timeout", "must be positive");
}

}  // namespace

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
  r.Bool("drop_rate_limited_batches", &out->drop_rate_limited_batches);
  r.StrList("stream_lag_labels", &stream_lag_labels);
  Status s = ReadLabels(r, "external_labels", &out->external_labels);
  if (s.ok()) s = ReadHttpClient(r, out);
  if (s.ok()) s = ReadBackoff(r, &out->backoff_config);
  if (!s.ok()) return s;
  ValidateClient(r, *out);
  return r.Finish();
}

}  // namespace skidder::config::internal
