// Prometheus' common HTTP client settings (HttpClientConfig): one reader for `clients`,
// kubernetes_sd_configs and docker_sd_configs, walking the field list of http_client_fields.h.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "config/http_client_fields.h"
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

// Reads each field of a block into its struct with the MapReader's getters; nested blocks and
// tls_config get their own MapReader (and path), and the first error of any of them is kept.
class FieldReader {
 public:
  explicit FieldReader(MapReader& r) : r_(r) {}
  Status status() const { return status_; }

  void Str(std::string_view k, std::string& s) { r_.Str(k, &s); }
  void Secret(std::string_view k, std::string& s) { r_.Str(k, &s); }
  void Url(std::string_view k, std::string& s) { r_.Str(k, &s); }
  void Bool(std::string_view k, bool& b) { r_.Bool(k, &b); }
  void List(std::string_view k, std::vector<std::string>& v) { r_.StrList(k, &v); }
  void Params(std::string_view k, std::map<std::string, std::string>& m) { r_.StrMap(k, &m); }
  void Headers(std::string_view k, std::map<std::string, std::vector<std::string>>& m);
  void Tls(std::string_view k, TlsConfig& t) {
    if (status_.ok()) status_ = ReadTls(r_, k, &t);
  }
  template <typename T>
  void Block(std::string_view k, std::optional<T>& out) {
    YAML::Node node = r_.Node(k);
    if (!node.IsDefined() || node.IsNull() || !status_.ok()) return;
    MapReader sub(node, r_.file(), r_.Sub(k));
    T value;
    FieldReader fields(sub);
    internal::Fields(fields, value);
    Validate(sub, value);
    status_ = fields.status().ok() ? sub.Finish() : fields.status();
    out = std::move(value);
  }

 private:
  MapReader& r_;
  Status status_;
};

// Prometheus' Header type: a name maps to a list of values (a single string is taken as one).
void FieldReader::Headers(std::string_view k, std::map<std::string, std::vector<std::string>>& m) {
  YAML::Node node = r_.Node(k);
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsMap()) {
    return r_.Fail(k,
                   "expected a mapping of header names to lists of values, got " + Describe(node));
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    std::vector<std::string>& values = m[it->first.as<std::string>("")];
    const YAML::Node v = it->second;  // a copy: the iterator hands out temporaries
    if (v.IsScalar()) values.push_back(v.Scalar());
    for (size_t i = 0; v.IsSequence() && i < v.size(); ++i) {
      if (v[i].IsScalar()) values.push_back(v[i].Scalar());
    }
    if (v.IsMap() || (v.IsSequence() && values.size() != v.size())) {
      return r_.Fail(k, "a header's value must be a string or a list of strings");
    }
  }
  for (const auto& [name, values] : m) {
    for (const std::string& value : values) {
      if (ValidHeaderField(name, value)) continue;
      std::string quoted;  // the name only: the value may be a secret
      AppendQuotedEscaped(quoted, name, ControlEscape::kGo);
      return r_.Fail(k, "invalid header " + quoted + " (CR, LF and NUL are not allowed)");
    }
  }
}

}  // namespace

Status ReadHttpClient(MapReader& r, HttpClientConfig* out) {
  FieldReader fields(r);
  Fields(fields, *out);
  if (!fields.status().ok()) return fields.status();
  const HttpClientConfig& c = *out;
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
  return Status::Ok();
}

}  // namespace skidder::config::internal
