// The TLS settings of a request from a `tls_config` block, in one place for every client (Loki,
// OAuth2 token requests, the Kubernetes API).
#pragma once

#include "config/config.h"
#include "io/http_client.h"

namespace skidder::io {

inline TlsOptions TlsFromConfig(const config::TlsConfig& tls) {
  TlsOptions out;
  out.ca_file = tls.ca_file;
  out.cert_file = tls.cert_file;
  out.key_file = tls.key_file;
  out.server_name = tls.server_name;
  out.insecure_skip_verify = tls.insecure_skip_verify;
  out.min_version = tls.min_version;
  out.max_version = tls.max_version;
  out.ca_pem = tls.ca;
  out.cert_pem = tls.cert;
  out.key_pem = tls.key;
  return out;
}

}  // namespace skidder::io
