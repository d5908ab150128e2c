#include "telemetry/http_tls.h"

#include <fmt/format.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "util/log.h"

namespace skidder::telemetry {
namespace {

Result<std::string> ReadPem(const HttpServerTls& tls, const std::string& path, const char* key) {
  gnutls_datum_t d{};
  if (gnutls_load_file(path.c_str(), &d) < 0) {
    const int e = errno;
    return Err(InvalidArgument(fmt::format("{}.{}: cannot read {}: {}", tls.setting, key, path,
                                           e != 0 ? std::strerror(e) : "unreadable")));
  }
  std::string out(reinterpret_cast<const char*>(d.data), d.size);
  gnutls_free(d.data);
  return out;
}

gnutls_datum_t Datum(const std::string& s) {
  return {reinterpret_cast<unsigned char*>(const_cast<char*>(s.data())),
          static_cast<unsigned>(s.size())};
}

// The PEM text as credentials: what libmicrohttpd does with it at start, done here first to
// name what is wrong, and kept for the connections (ServerCredentials).
Result<Credentials> MakeCredentials(const TlsMaterial& m, const HttpServerTls& tls) {
  gnutls_certificate_credentials_t raw = nullptr;
  if (gnutls_certificate_allocate_credentials(&raw) < 0) {
    return Err(Internal("cannot allocate TLS credentials"));
  }
  Credentials cred(raw, gnutls_certificate_free_credentials);
  gnutls_datum_t cert = Datum(m.cert_pem), key = Datum(m.key_pem);
  if (int e =
          gnutls_certificate_set_x509_key_mem2(raw, &cert, &key, GNUTLS_X509_FMT_PEM, nullptr, 0);
      e < 0) {
    return Err(
        InvalidArgument(fmt::format("{}: cert_file {} and key_file {} are not a PEM "
                                    "certificate and its private key: {}",
                                    tls.setting, tls.cert_file, tls.key_file, gnutls_strerror(e))));
  }
  if (!tls.client_ca_file.empty()) {
    gnutls_datum_t ca = Datum(m.ca_pem);
    if (int n = gnutls_certificate_set_x509_trust_mem(raw, &ca, GNUTLS_X509_FMT_PEM); n <= 0) {
      return Err(InvalidArgument(fmt::format("{}.client_ca_file: {} holds no PEM certificate{}",
                                             tls.setting, tls.client_ca_file,
                                             n < 0 ? std::string(": ") + gnutls_strerror(n) : "")));
    }
  }
  if (!m.priorities.empty()) {
    gnutls_priority_t p = nullptr;
    const char* at = nullptr;
    if (int e = gnutls_priority_init(&p, m.priorities.c_str(), &at); e < 0) {
      return Err(
          Internal(fmt::format("TLS priorities {} refused: {}", m.priorities, gnutls_strerror(e))));
    }
    gnutls_priority_deinit(p);
  }
  return cred;
}

// dskit's tls_min_version as a GnuTLS priority string: the versions from it up. Unset, TLS 1.2
// as in Promtail (exporter-toolkit's default); GnuTLS's NORMAL would still take TLS 1.0.
std::string Priorities(std::string min_version) {
  if (min_version.empty()) min_version = "VersionTLS12";
  static constexpr std::pair<const char*, const char*> kVersions[] = {
      {"VersionTLS13", "+VERS-TLS1.3"},
      {"VersionTLS12", "+VERS-TLS1.2"},
      {"VersionTLS11", "+VERS-TLS1.1"},
      {"VersionTLS10", "+VERS-TLS1.0"},
  };
  std::string out = "NORMAL:-VERS-ALL";
  for (const auto& [name, vers] : kVersions) {
    out += ":";
    out += vers;
    if (min_version == name) break;
  }
  return out;
}

FileStamp StampOf(const std::string& path) {
  FileStamp f;
  if (path.empty()) return f;
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    f.err = errno;
    return f;
  }
  f.dev = st.st_dev;
  f.ino = st.st_ino;
  f.size = st.st_size;
  f.mtime_ns = st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec;
  f.ctime_ns = st.st_ctim.tv_sec * 1'000'000'000LL + st.st_ctim.tv_nsec;
  return f;
}

// stat follows links: a Kubernetes Secret volume swaps its ..data link, and the files it points
// to are new ones.
TlsFilesStamp StampOf(const HttpServerTls& tls) {
  return {StampOf(tls.cert_file), StampOf(tls.key_file), StampOf(tls.client_ca_file)};
}

}  // namespace

Result<TlsMaterial> LoadTls(const HttpServerTls& tls) {
  TlsMaterial m;
  m.files = tls;
  m.stamp = StampOf(tls);  // before reading: a change while reading is seen next time
  auto cert = ReadPem(tls, tls.cert_file, "cert_file");
  if (!cert) return Err(cert.error());
  auto key = ReadPem(tls, tls.key_file, "key_file");
  if (!key) return Err(key.error());
  m.cert_pem = std::move(*cert);
  m.key_pem = std::move(*key);
  const std::string& a = tls.client_auth_type;
  // RequireClientCert: exporter-toolkit's older name for RequireAnyClientCert.
  m.require_cert =
      a == "RequireAnyClientCert" || a == "RequireClientCert" || a == "RequireAndVerifyClientCert";
  m.verify_cert = a == "VerifyClientCertIfGiven" || a == "RequireAndVerifyClientCert";
  if (m.verify_cert && tls.client_ca_file.empty()) {
    return Err(InvalidArgument(
        fmt::format("{}.client_ca_file: is required with client_auth_type {}", tls.setting, a)));
  }
  if (!tls.client_ca_file.empty()) {
    auto ca = ReadPem(tls, tls.client_ca_file, "client_ca_file");
    if (!ca) return Err(ca.error());
    m.ca_pem = std::move(*ca);
  }
  m.priorities = Priorities(tls.min_version);
  auto credentials = MakeCredentials(m, tls);
  if (!credentials) return Err(credentials.error());
  m.credentials = std::move(*credentials);
  // libmicrohttpd asks for a certificate, naming these CAs, whenever it has them: only the
  // verifying modes want that. The others ask (or not) through ServerCredentials.
  if (!m.verify_cert) m.ca_pem.clear();
  m.request_cert = !m.verify_cert && (m.require_cert || a == "RequestClientCert");
  return m;
}

ServerCredentials::ServerCredentials(std::shared_ptr<const TlsMaterial> initial)
    : initial_(std::move(initial)), current_(initial_->credentials), stamp_(initial_->stamp) {}

void ServerCredentials::RefreshLocked() {
  const TlsFilesStamp now = StampOf(initial_->files);
  if (now == stamp_) return;
  const auto t = std::chrono::steady_clock::now();
  const bool seen = failed_ && *failed_ == now;
  if (seen && t - failed_at_ < kRetryFailed) return;
  Result<TlsMaterial> loaded = LoadTls(initial_->files);
  if (!loaded) {
    failed_ = now;
    failed_at_ = t;
    if (!seen) {
      LOG_WARN("HTTPS certificate files changed but cannot be used; serving the previous ones",
               {{"error", loaded.error().message()}});
    }
    return;
  }
  current_ = std::move(loaded->credentials);
  stamp_ = loaded->stamp;
  failed_.reset();
  LOG_INFO("HTTPS certificate files changed; new connections use them",
           {{"cert_file", initial_->files.cert_file}});
}

void ServerCredentials::Attach(MHD_Connection* c) {
  const MHD_ConnectionInfo* info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
  if (info == nullptr || info->tls_session == nullptr) return;
  auto session = static_cast<gnutls_session_t>(info->tls_session);
  Credentials credentials;
  {
    std::lock_guard lock(mu_);
    RefreshLocked();
    credentials = in_use_[c] = current_;
  }
  // Replaces libmicrohttpd's (those of the files at start); the session holds a plain pointer,
  // kept valid by in_use_ until the connection closes.
  gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, credentials.get());
  if (!initial_->request_cert) return;
  gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUEST);
  gnutls_certificate_send_x509_rdn_sequence(session, 1);  // 1: name no CAs
}

void ServerCredentials::Detach(MHD_Connection* c) {
  Credentials last;  // freed outside the lock
  std::lock_guard lock(mu_);
  if (auto it = in_use_.find(c); it != in_use_.end()) {
    last = std::move(it->second);
    in_use_.erase(it);
  }
}

std::string ClientCertProblem(MHD_Connection* c, const TlsMaterial& tls) {
  if (!tls.require_cert && !tls.verify_cert) return "";
  const MHD_ConnectionInfo* info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
  if (info == nullptr || info->tls_session == nullptr) return "no TLS session";
  auto session = static_cast<gnutls_session_t>(info->tls_session);
  unsigned n = 0;
  if (gnutls_certificate_get_peers(session, &n) == nullptr || n == 0) {
    return tls.require_cert ? "a client certificate is required" : "";
  }
  if (!tls.verify_cert) return "";
  // The chain against client_ca_file, and that the certificate may authenticate a client (Go's
  // ExtKeyUsageClientAuth check).
  gnutls_typed_vdata_st purpose{};
  purpose.type = GNUTLS_DT_KEY_PURPOSE_OID;
  purpose.data = reinterpret_cast<unsigned char*>(const_cast<char*>(GNUTLS_KP_TLS_WWW_CLIENT));
  unsigned status = 0;
  if (int e = gnutls_certificate_verify_peers(session, &purpose, 1, &status); e < 0) {
    return fmt::format("the client certificate could not be verified: {}", gnutls_strerror(e));
  }
  if (status == 0) return "";
  gnutls_datum_t why{};
  std::string reason = "not trusted";
  if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &why, 0) >= 0) {
    reason.assign(reinterpret_cast<const char*>(why.data), why.size);
    gnutls_free(why.data);
  }
  return "the client certificate is not accepted: " + reason;
}

}  // namespace skidder::telemetry
