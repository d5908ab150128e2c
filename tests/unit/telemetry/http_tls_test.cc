// The HTTP server over HTTPS (server.http_tls_config): the certificate it is given, the client
// certificate checks of each client_auth_type, tls_min_version, and files that cannot be used.
// Real TLS on loopback: libmicrohttpd (GnuTLS) serving, cpp-httplib (OpenSSL) asking.
#include "telemetry/http_tls.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "support/raw_client.h"
#include "support/syslog_client.h"
#include "support/test_util.h"
#include "telemetry/http_server.h"

namespace skidder::telemetry {
namespace {

using skidder::testing::MakeTestCerts;
using skidder::testing::TempDir;
using skidder::testing::TestCerts;
using std::chrono::seconds;

// Certificates of the server's CA, and a client certificate of another CA.
struct Certs {
  TempDir dir;
  TestCerts ours = MakeTestCerts(dir.path());
  TestCerts foreign = [this] {
    skidder::testing::MakeDirs(dir / "foreign");
    return MakeTestCerts(dir / "foreign");
  }();
};

// kServerOnly: of our CA, but for server authentication only.
enum class ClientCert { kNone, kOurs, kForeign, kServerOnly };

class TlsServer {
 public:
  // client_ca_file is our CA's unless ca says otherwise ("" = none).
  TlsServer(const Certs& c, std::string client_auth, std::string min_version = "",
            std::optional<std::string> ca = std::nullopt)
      : TlsServer(HttpServerTls{c.ours.server_cert, c.ours.server_key, ca.value_or(c.ours.ca),
                                std::move(client_auth), std::move(min_version)}) {}
  explicit TlsServer(const HttpServerTls& files) {
    HttpServerOptions o;
    o.listen_address = "127.0.0.1";
    o.port = 0;
    auto tls = LoadTls(files);
    EXPECT_TRUE(tls.has_value()) << tls.error().message();
    if (tls) o.tls = std::make_shared<const TlsMaterial>(std::move(*tls));
    server_ = std::make_unique<HttpServer>(std::move(o), &registry_, HttpHandlers{});
    auto port = server_->Start();
    EXPECT_TRUE(port.has_value()) << port.error().message();
    port_ = port.value_or(0);
  }
  int port() const { return port_; }

 private:
  Registry registry_;
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
};

// GET /ready over HTTPS, verifying the server against our CA (or trusted_ca); nullopt when no
// response came (the handshake failed).
std::optional<httplib::Response> Ready(const Certs& c, int port, ClientCert cert,
                                       int max_tls_version = 0,
                                       const std::string& trusted_ca = "") {
  std::unique_ptr<httplib::SSLClient> client;
  if (cert == ClientCert::kNone) {
    client = std::make_unique<httplib::SSLClient>("127.0.0.1", port);
  } else if (cert == ClientCert::kServerOnly) {
    client = std::make_unique<httplib::SSLClient>("127.0.0.1", port, c.ours.server_only_cert,
                                                  c.ours.server_only_key);
  } else {
    const TestCerts& from = cert == ClientCert::kOurs ? c.ours : c.foreign;
    client =
        std::make_unique<httplib::SSLClient>("127.0.0.1", port, from.client_cert, from.client_key);
  }
  client->set_ca_cert_path(trusted_ca.empty() ? c.ours.ca.c_str() : trusted_ca.c_str());
  client->enable_server_certificate_verification(true);
  client->set_connection_timeout(seconds(20));
  client->set_read_timeout(seconds(20));
  if (max_tls_version != 0) SSL_CTX_set_max_proto_version(client->ssl_context(), max_tls_version);
  auto r = client->Get("/ready");
  if (!r) return std::nullopt;
  return *r;
}

int StatusOf(const std::optional<httplib::Response>& r) { return r ? r->status : 0; }

TEST(HttpServerTls, ServesHttpsWithTheGivenCertificateAndNoPlainHttp) {
  Certs c;
  TlsServer s(c, "");
  auto r = Ready(c, s.port(), ClientCert::kNone);
  ASSERT_TRUE(r.has_value()) << "the handshake failed";
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "Ready\n");
  // Plain HTTP to the HTTPS port gets no answer, not a page served unencrypted.
  EXPECT_NE(skidder::testing::Request(s.port(), "GET", "/ready", seconds(10)).status, 200);
}

TEST(HttpServerTls, NoClientCertIgnoresAnyCertificate) {
  Certs c;
  TlsServer s(c, "NoClientCert");
  EXPECT_EQ(StatusOf(Ready(c, s.port(), ClientCert::kNone)), 200);
  EXPECT_EQ(StatusOf(Ready(c, s.port(), ClientCert::kForeign)), 200);
}

TEST(HttpServerTls, RequireAndVerifyClientCertTakesOnlyCertificatesOfTheClientCA) {
  Certs c;
  TlsServer s(c, "RequireAndVerifyClientCert");
  EXPECT_EQ(StatusOf(Ready(c, s.port(), ClientCert::kOurs)), 200);
  auto none = Ready(c, s.port(), ClientCert::kNone);
  EXPECT_EQ(StatusOf(none), 403);
  if (none) {
    EXPECT_EQ(none->body, "a client certificate is required\n");
  }
  auto foreign = Ready(c, s.port(), ClientCert::kForeign);
  EXPECT_EQ(StatusOf(foreign), 403);
  if (foreign) {
    EXPECT_NE(foreign->body.find("the client certificate is not accepted"), std::string::npos)
        << foreign->body;
  }
  // Our CA's, but not for client authentication (Go's ExtKeyUsageClientAuth check).
  EXPECT_EQ(StatusOf(Ready(c, s.port(), ClientCert::kServerOnly)), 403);
}

TEST(HttpServerTls, VerifyClientCertIfGivenLetsClientsWithoutOneIn) {
  Certs c;
  TlsServer s(c, "VerifyClientCertIfGiven");
  EXPECT_EQ(StatusOf(Ready(c, s.port(), ClientCert::kNone)), 200);
  EXPECT_EQ(StatusOf(Ready(c, s.port(), ClientCert::kOurs)), 200);
  EXPECT_EQ(StatusOf(Ready(c, s.port(), ClientCert::kForeign)), 403);
}

TEST(HttpServerTls, RequireAnyClientCertWantsOneButDoesNotVerifyIt) {
  Certs c;
  for (const std::string& ca : {c.ours.ca, std::string()}) {  // Go needs no client_ca_file here
    TlsServer s(c, "RequireAnyClientCert", "", ca);
    EXPECT_EQ(StatusOf(Ready(c, s.port(), ClientCert::kNone)), 403) << ca;
    EXPECT_EQ(StatusOf(Ready(c, s.port(), ClientCert::kForeign)), 200) << ca;
  }
  TlsServer old_name(c, "RequireClientCert", "", "");  // exporter-toolkit's older name
  EXPECT_EQ(StatusOf(Ready(c, old_name.port(), ClientCert::kNone)), 403);
  EXPECT_EQ(StatusOf(Ready(c, old_name.port(), ClientCert::kForeign)), 200);
}

// (Whether the certificate was asked for is not visible to the client here; the
// RequireAnyClientCert test shows the asking works.)
TEST(HttpServerTls, RequestClientCertAsksButLetsEveryoneIn) {
  Certs c;
  TlsServer s(c, "RequestClientCert", "", "");
  EXPECT_EQ(StatusOf(Ready(c, s.port(), ClientCert::kNone)), 200);
  EXPECT_EQ(StatusOf(Ready(c, s.port(), ClientCert::kForeign)), 200);
}

TEST(HttpServerTls, MinVersionTls13RefusesATls12Client) {
  Certs c;
  TlsServer s(c, "", "VersionTLS13");
  EXPECT_EQ(StatusOf(Ready(c, s.port(), ClientCert::kNone, TLS1_2_VERSION)), 0);
  EXPECT_EQ(StatusOf(Ready(c, s.port(), ClientCert::kNone)), 200);
  TlsServer tls12(c, "", "VersionTLS12");
  EXPECT_EQ(StatusOf(Ready(c, tls12.port(), ClientCert::kNone, TLS1_2_VERSION)), 200);
}

// Unset, TLS 1.2 and 1.3 only, as Promtail (GnuTLS's NORMAL alone would take TLS 1.0 too).
TEST(HttpServerTls, TheDefaultMinimumVersionIsTls12) {
  Certs c;
  auto tls = LoadTls({c.ours.server_cert, c.ours.server_key, "", "", ""});
  ASSERT_TRUE(tls.has_value()) << tls.error().message();
  EXPECT_EQ(tls->priorities, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2");
}

// As a Kubernetes Secret volume or cert-manager updates a file: a new file renamed over it.
void Replace(const std::string& path, const std::string& from) {
  skidder::testing::WriteFile(path + ".new", skidder::testing::ReadFile(from));
  ASSERT_EQ(std::rename((path + ".new").c_str(), path.c_str()), 0) << path;
}

// Promtail reads the certificate files on each handshake; new connections here get the files
// as they are when they open, and a half-written renewal keeps the previous certificate.
TEST(HttpServerTls, ACertificateRenewedInPlaceIsServedToNewConnections) {
  Certs c;
  const std::string cert = c.dir / "live.crt", key = c.dir / "live.key";
  ASSERT_NO_FATAL_FAILURE(Replace(cert, c.ours.server_cert));
  ASSERT_NO_FATAL_FAILURE(Replace(key, c.ours.server_key));
  TlsServer s(HttpServerTls{cert, key, "", "", ""});
  const std::string& ours = c.ours.ca;
  const std::string& renewed = c.foreign.ca;  // the CA of the renewed certificate
  EXPECT_EQ(StatusOf(Ready(c, s.port(), ClientCert::kNone, 0, ours)), 200);
  EXPECT_EQ(StatusOf(Ready(c, s.port(), ClientCert::kNone, 0, renewed)), 0);

  // The key is not renewed yet: not a pair.
  ASSERT_NO_FATAL_FAILURE(Replace(cert, c.foreign.server_cert));
  EXPECT_EQ(StatusOf(Ready(c, s.port(), ClientCert::kNone, 0, ours)), 200);
  ASSERT_NO_FATAL_FAILURE(Replace(key, c.foreign.server_key));
  EXPECT_EQ(StatusOf(Ready(c, s.port(), ClientCert::kNone, 0, renewed)), 200);
  EXPECT_EQ(StatusOf(Ready(c, s.port(), ClientCert::kNone, 0, ours)), 0);

  ASSERT_EQ(std::remove(cert.c_str()), 0);  // gone: the last good files still serve
  EXPECT_EQ(StatusOf(Ready(c, s.port(), ClientCert::kNone, 0, renewed)), 200);
}

// As a Kubernetes Secret volume: the files are links through ..data, which an update points at
// another directory, and a rollback points back at the first one, unchanged.
TEST(HttpServerTls, ASecretVolumeSwapAndItsRollbackAreServed) {
  Certs c;
  const std::string dir = c.dir / "secret";
  skidder::testing::MakeDirs(dir + "/v1");
  skidder::testing::MakeDirs(dir + "/v2");
  for (const auto& [version, from] : {std::pair{"v1", &c.ours}, std::pair{"v2", &c.foreign}}) {
    skidder::testing::WriteFile(dir + "/" + version + "/tls.crt",
                                skidder::testing::ReadFile(from->server_cert));
    skidder::testing::WriteFile(dir + "/" + version + "/tls.key",
                                skidder::testing::ReadFile(from->server_key));
  }
  auto point_at = [&](const char* version) {
    std::remove((dir + "/..tmp").c_str());
    return symlink(version, (dir + "/..tmp").c_str()) == 0 &&
           std::rename((dir + "/..tmp").c_str(), (dir + "/..data").c_str()) == 0;
  };
  ASSERT_TRUE(point_at("v1"));
  ASSERT_EQ(symlink("..data/tls.crt", (dir + "/tls.crt").c_str()), 0);
  ASSERT_EQ(symlink("..data/tls.key", (dir + "/tls.key").c_str()), 0);
  TlsServer s(HttpServerTls{dir + "/tls.crt", dir + "/tls.key", "", "", ""});
  EXPECT_EQ(StatusOf(Ready(c, s.port(), ClientCert::kNone, 0, c.ours.ca)), 200);
  ASSERT_TRUE(point_at("v2"));
  EXPECT_EQ(StatusOf(Ready(c, s.port(), ClientCert::kNone, 0, c.foreign.ca)), 200);
  ASSERT_TRUE(point_at("v1"));  // the very files the server started with
  EXPECT_EQ(StatusOf(Ready(c, s.port(), ClientCert::kNone, 0, c.ours.ca)), 200);
}

TEST(HttpServerTls, ARenewedClientCaFileIsUsedForNewConnections) {
  Certs c;
  const std::string ca = c.dir / "clients-ca.pem";
  ASSERT_NO_FATAL_FAILURE(Replace(ca, c.ours.ca));
  TlsServer s(
      HttpServerTls{c.ours.server_cert, c.ours.server_key, ca, "RequireAndVerifyClientCert", ""});
  EXPECT_EQ(StatusOf(Ready(c, s.port(), ClientCert::kOurs)), 200);
  EXPECT_EQ(StatusOf(Ready(c, s.port(), ClientCert::kForeign)), 403);
  ASSERT_NO_FATAL_FAILURE(Replace(ca, c.foreign.ca));
  EXPECT_EQ(StatusOf(Ready(c, s.port(), ClientCert::kForeign)), 200);
  EXPECT_EQ(StatusOf(Ready(c, s.port(), ClientCert::kOurs)), 403);
}

std::string StartError(const HttpServerTls& tls) {
  auto loaded = LoadTls(tls);
  return loaded ? "loaded" : loaded.error().message();
}

TEST(HttpServerTls, FilesThatCannotServeAreNamed) {
  Certs c;
  const TestCerts& t = c.ours;
  EXPECT_EQ(StartError({c.dir / "missing.crt", t.server_key, "", "", ""}),
            "server.http_tls_config.cert_file: cannot read " + c.dir / "missing.crt" +
                ": No such file or directory");
  // Another key than the certificate's.
  std::string mismatch = StartError({t.server_cert, t.client_key, "", "", ""});
  EXPECT_EQ(mismatch.rfind("server.http_tls_config: cert_file " + t.server_cert + " and key_file " +
                               t.client_key + " are not a PEM certificate and its private key: ",
                           0),
            0u)
      << mismatch;
  skidder::testing::WriteFile(c.dir / "empty.pem", "not a certificate\n");
  EXPECT_EQ(StartError({t.server_cert, t.server_key, c.dir / "empty.pem",
                        "RequireAndVerifyClientCert", ""}),
            "server.http_tls_config.client_ca_file: " + c.dir / "empty.pem" +
                " holds no PEM certificate");
  EXPECT_EQ(StartError({t.server_cert, t.server_key, "", "VerifyClientCertIfGiven", ""}),
            "server.http_tls_config.client_ca_file: is required with client_auth_type "
            "VerifyClientCertIfGiven");
  EXPECT_EQ(StartError({t.server_cert, t.server_key, "", "", ""}), "loaded");
  // An Alloy config's block is named as written there.
  EXPECT_EQ(
      StartError({c.dir / "missing.crt", t.server_key, "", "", "", "http.tls"}),
      "http.tls.cert_file: cannot read " + c.dir / "missing.crt" + ": No such file or directory");
}

}  // namespace
}  // namespace skidder::telemetry
