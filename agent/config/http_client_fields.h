// Internal to agent/config/: every field of Prometheus' common HTTP client config
// (HttpClientConfig, its blocks and tls_config), described once. The reader (FieldReader,
// field_reader.h) and the dump (dump.cc) both walk these lists with a visitor, so a new key is
// added in one place. The visitor's contract is in fields.h, which lists the other sections.
// Validation across fields stays with the reader (ValidateHttpClient, Validate(MapReader&, T&)).
#pragma once

#include <type_traits>

#include "config/config.h"

namespace skidder::config::internal {

template <typename T, typename U>
concept FieldsOf = std::is_same_v<std::remove_const_t<T>, U>;

template <typename V, FieldsOf<TlsConfig> T>
void Fields(V& v, T& t) {
  v.Str("ca_file", t.ca_file);
  v.Str("cert_file", t.cert_file);
  v.Str("key_file", t.key_file);
  v.Str("ca", t.ca);
  v.Str("cert", t.cert);
  v.Secret("key", t.key);
  v.Str("server_name", t.server_name);
  v.Bool("insecure_skip_verify", t.insecure_skip_verify);
  v.Str("min_version", t.min_version);
  v.Str("max_version", t.max_version);
}

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
  v.Nested("tls_config", o.tls_config);
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
  v.Nested("tls_config", h.tls_config);
}

}  // namespace skidder::config::internal
