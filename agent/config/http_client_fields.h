// Internal to agent/config/: every field of Prometheus' common HTTP client config
// (HttpClientConfig and its blocks), described once. The reader (parse_http_client.cc) and the
// dump (dump.cc) both walk these lists with a visitor, so a new key is added in one place.
//
// A visitor V has, for a key and a field (const when dumping):
//   Str(key, s)      plain string          Secret(key, s)   string shown as <secret> in dumps
//   Url(key, s)      URL (userinfo and query redacted in dumps)
//   Bool(key, b)     List(key, v)          Params(key, map<string,string>)
//   Headers(key, map<string, vector<string>>) (values are secrets)
//   Tls(key, TlsConfig)                    Block(key, optional<T>) for a nested block, which
//                                          walks Fields(v, T) below
// Validation across fields stays with the reader (ValidateHttpClient).
#pragma once

#include <type_traits>

#include "config/config.h"

namespace skidder::config::internal {

template <typename T, typename U>
concept FieldsOf = std::is_same_v<std::remove_const_t<T>, U>;

template <typename V, FieldsOf<BasicAuth> T>
void Fields(V& v, T& b) {
  v.Str("username", b.username);
  v.Str("username_file", b.username_file);
  v.Secret("password", b.password);
  v.Str("password_file", b.password_file);
}

template <typename V, FieldsOf<Authorization> T>
void Fields(V& v, T& a) {
  v.Str("type", a.type);
  v.Secret("credentials", a.credentials);
  v.Str("credentials_file", a.credentials_file);
}

// T: ProxyConfig or a struct derived from it.
template <typename V, typename T>
void ProxyFields(V& v, T& p) {
  v.Url("proxy_url", p.proxy_url);
  v.Str("no_proxy", p.no_proxy);
  v.Bool("proxy_from_environment", p.proxy_from_environment);
  v.Headers("proxy_connect_header", p.proxy_connect_header);
}

template <typename V, FieldsOf<OAuth2Config> T>
void Fields(V& v, T& o) {
  v.Str("client_id", o.client_id);
  v.Secret("client_secret", o.client_secret);
  v.Str("client_secret_file", o.client_secret_file);
  v.List("scopes", o.scopes);
  v.Url("token_url", o.token_url);
  v.Params("endpoint_params", o.endpoint_params);
  v.Tls("tls_config", o.tls_config);
  ProxyFields(v, o);
}

template <typename V, FieldsOf<HttpClientConfig> T>
void Fields(V& v, T& h) {
  v.Block("basic_auth", h.basic_auth);
  v.Secret("bearer_token", h.bearer_token);
  v.Str("bearer_token_file", h.bearer_token_file);
  v.Block("authorization", h.authorization);
  v.Block("oauth2", h.oauth2);
  ProxyFields(v, h);
  v.Bool("follow_redirects", h.follow_redirects);
  v.Bool("enable_http2", h.enable_http2);
  v.Tls("tls_config", h.tls_config);
}

}  // namespace skidder::config::internal
