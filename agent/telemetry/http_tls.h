// HTTPS for the HTTP server (http_server.h). libmicrohttpd does the TLS (with GnuTLS);
// this reads the PEM files it takes from memory, checks them with GnuTLS first (so a bad file is
// named, not reported as "cannot listen"), and checks client certificates, which libmicrohttpd
// asks for but leaves to the application to verify.
#pragma once

#include <microhttpd.h>

#include <string>

#include "util/status.h"

namespace skidder::telemetry {

// Promtail's server.http_tls_config and tls_min_version, as the config checked them.
struct HttpServerTls {
  std::string cert_file, key_file;  // PEM: the certificate (a chain may follow) and its key
  std::string client_ca_file;       // PEM: CAs a client certificate must chain to
  // Go's tls.ClientAuthType name ("" = NoClientCert). A request whose client certificate does
  // not pass it gets 403 (ClientCertProblem).
  std::string client_auth_type;
  std::string min_version;  // dskit's tls_min_version: VersionTLS10..VersionTLS13; "" = 1.2
};

struct TlsMaterial {
  std::string cert_pem, key_pem;
  std::string ca_pem;         // kept for the verifying modes only (libmicrohttpd then asks)
  std::string priorities;     // GnuTLS priority string (tls_min_version)
  bool require_cert = false;  // RequireAnyClientCert, RequireAndVerifyClientCert
  bool verify_cert = false;   // VerifyClientCertIfGiven, RequireAndVerifyClientCert
  // RequestClientCert, RequireAnyClientCert: asked for without naming CAs (Go's way: a client
  // sends whatever certificate it has), by RequestCertificate.
  bool request_cert = false;
};

// Reads and checks the files of tls (cert_file set). Errors name the setting and the file.
Result<TlsMaterial> LoadTls(const HttpServerTls& tls);

// Before the handshake of a new connection: asks for a client certificate when tls says so and
// libmicrohttpd would not (it does only with client_ca_file, for the verifying modes).
void RequestCertificate(MHD_Connection* c, const TlsMaterial& tls);

// Why the client certificate of c's TLS session does not pass tls's client_auth_type; "" when
// it does. Called once per request, before it is routed.
std::string ClientCertProblem(MHD_Connection* c, const TlsMaterial& tls);

}  // namespace skidder::telemetry
