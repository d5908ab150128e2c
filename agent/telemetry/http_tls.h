// HTTPS for the HTTP server (http_server.h). libmicrohttpd does the TLS (with GnuTLS);
// this reads the PEM files and checks them with GnuTLS first (so a bad file is named, not
// reported as "cannot listen"), gives each new connection the credentials of the files as they
// are now (a certificate renewed in place is served without a restart), and checks client
// certificates, which libmicrohttpd asks for but leaves to the application to verify.
#pragma once

#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

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
  // How errors name the block: Promtail's, or Alloy's "http.tls" as the user wrote it.
  std::string setting = "server.http_tls_config";
};

// What stat said of a file (0s and err when it failed): another value means it may have changed.
struct FileStamp {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  int64_t mtime_ns = 0, ctime_ns = 0;
  int err = 0;
  bool operator==(const FileStamp&) const = default;
};
using TlsFilesStamp = std::array<FileStamp, 3>;  // cert_file, key_file, client_ca_file

// Server credentials in GnuTLS's form (certificate, key, client CAs), shared by the connections
// whose handshake uses them.
using Credentials = std::shared_ptr<gnutls_certificate_credentials_st>;

struct TlsMaterial {
  HttpServerTls files;  // where the text came from
  TlsFilesStamp stamp;  // the files when they were read (taken before reading)
  Credentials credentials;
  std::string cert_pem, key_pem;
  std::string ca_pem;         // kept for the verifying modes only (libmicrohttpd then asks)
  std::string priorities;     // GnuTLS priority string (tls_min_version)
  bool require_cert = false;  // RequireAnyClientCert, RequireAndVerifyClientCert
  bool verify_cert = false;   // VerifyClientCertIfGiven, RequireAndVerifyClientCert
  // RequestClientCert, RequireAnyClientCert: asked for without naming CAs (Go's way: a client
  // sends whatever certificate it has), by ServerCredentials::Attach.
  bool request_cert = false;
};

// Reads and checks the files of tls (cert_file set). Errors name the setting and the file.
Result<TlsMaterial> LoadTls(const HttpServerTls& tls);

// The credentials of each new connection, and the client certificate request its mode wants.
// Promtail (exporter-toolkit) reads cert_file and key_file on every handshake, so a certificate
// renewed in place (cert-manager rewriting a Secret, certbot) is served without a restart; here
// each new connection stats the files (microseconds, against a handshake's milliseconds) and
// reads them again when one changed. Files that do not load (a key not yet rewritten beside its
// new certificate, a read failing for want of descriptors) leave the previous credentials in
// use, with a warning once per change; they are tried again at the next change, or after
// kRetryFailed. Relies on libmicrohttpd deinitialising a session before NOTIFY_CLOSED, or with
// no TLS traffic in between (0.9.7x does). Called from the server's event thread; locked anyway.
class ServerCredentials {
 public:
  explicit ServerCredentials(std::shared_ptr<const TlsMaterial> initial);
  // Before the handshake of a new connection (MHD_CONNECTION_NOTIFY_STARTED): sets its
  // session's credentials, and asks for a client certificate when the mode says so and
  // libmicrohttpd would not (it does only with client_ca_file, for the verifying modes).
  void Attach(MHD_Connection* c);
  // The connection closed (MHD_CONNECTION_NOTIFY_CLOSED): credentials no connection uses and
  // the files no longer hold are freed.
  void Detach(MHD_Connection* c);
  static constexpr std::chrono::seconds kRetryFailed{10};

 private:
  void RefreshLocked();

  const std::shared_ptr<const TlsMaterial> initial_;
  std::mutex mu_;
  Credentials current_;
  TlsFilesStamp stamp_;  // of the files current_ came from
  // Of files that did not load: not read again before they change or kRetryFailed passes.
  std::optional<TlsFilesStamp> failed_;
  std::chrono::steady_clock::time_point failed_at_;
  std::unordered_map<MHD_Connection*, Credentials> in_use_;
};

// Why the client certificate of c's TLS session does not pass tls's client_auth_type; "" when
// it does. Called once per request, before it is routed.
std::string ClientCertProblem(MHD_Connection* c, const TlsMaterial& tls);

}  // namespace skidder::telemetry
