// Internal to telemetry/: HTTPS for the HTTP server. libmicrohttpd does the TLS (with GnuTLS);
// this reads the PEM files it takes from memory, checks them with GnuTLS first (so a bad file is
// named, not reported as "cannot listen"), and checks client certificates, which libmicrohttpd
// asks for but leaves to the application to verify.
#pragma once

#include <microhttpd.h>

#include <string>

#include "telemetry/http_server.h"
#include "util/status.h"

namespace skidder::telemetry {

struct TlsMaterial {
  std::string cert_pem, key_pem;
  std::string ca_pem;         // given to libmicrohttpd only when client certificates are asked for
  std::string priorities;     // GnuTLS priority string; "" = libmicrohttpd's default
  bool require_cert = false;  // RequireAnyClientCert, RequireAndVerifyClientCert
  bool verify_cert = false;   // VerifyClientCertIfGiven, RequireAndVerifyClientCert
};

// Reads and checks the files of tls (cert_file set). Errors name the setting and the file.
Result<TlsMaterial> LoadTls(const HttpServerTls& tls);

// Why the client certificate of c's TLS session does not pass tls's client_auth_type; "" when
// it does. Called once per request, before it is routed.
std::string ClientCertProblem(MHD_Connection* c, const TlsMaterial& tls);

}  // namespace skidder::telemetry
