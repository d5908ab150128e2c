// clients[]: where entries are pushed, how, and with which credentials.
#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <string_view>
#include <tuple>

#include "config/field_reader.h"
#include "util/escape.h"

namespace skidder::config::internal {
namespace {

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
    // Promtail's deprecated `client:` block may take its url from the -client.url flag.
    r.Fail("url", fmt::format("is required: the Loki push URL, e.g. "
                              "http://loki:3100/loki/api/v1/push{}",
                              r.path() == "client" ? " (or pass -client.url)" : ""));
  } else if (std::string why = CheckHttpUrl(c.url); !why.empty()) {
    r.Fail("url", why);
  }
  // A batch's offsets and memory charges are 32-bit (sink/loki/batch.h), and Loki refuses a
  // push far smaller than this (its server's max message size) anyway.
  constexpr int64_t kMaxBatchSize = int64_t{1} << 30;
  if (c.batchsize <= 0) {
    r.Fail("batchsize", "must be positive (bytes)");
  } else if (c.batchsize > kMaxBatchSize) {
    r.Fail("batchsize",
           fmt::format("{} bytes is more than the most a batch holds, 1GiB (1073741824)",
                       c.batchsize));
  }
  if (c.batchwait <= Duration::zero()) r.Fail("batchwait", "must be positive");
  if (c.timeout <= Duration::zero()) r.Fail("timeout", "must be positive");
}

}  // namespace

void Validate(MapReader& r, BackoffConfig& b) {
  if (b.min_period <= Duration::zero()) r.Fail("min_period", "must be positive");
  if (b.max_period < b.min_period) {
    r.Fail("max_period",
           fmt::format("must not be less than min_period ({})", FormatDuration(b.min_period)));
  }
  if (b.max_retries < 0) r.Fail("max_retries", "must not be negative");
}

namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

std::unique_ptr<BIO, BioFree> MemBio(const std::string& pem) {
  return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Inline PEM is parsed here, as Prometheus does when it builds the client, so that a pasted or
// mis-indented one fails the start, -check-syntax and a reload (a file is read at each
// connection instead). Messages never quote the text: a key is a secret.
void CheckInlinePem(MapReader& r, const TlsConfig& t) {
  std::unique_ptr<X509, X509Free> cert;
  std::unique_ptr<EVP_PKEY, PkeyFree> key;
  if (!t.ca.empty()) {
    auto bio = MemBio(t.ca);
    std::unique_ptr<X509, X509Free> first(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!first) r.Fail("ca", "holds no PEM certificate");
  }
  if (!t.cert.empty()) {
    auto bio = MemBio(t.cert);
    cert.reset(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) r.Fail("cert", "is not a PEM certificate");
  }
  if (!t.key.empty()) {
    auto bio = MemBio(t.key);
    key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!key) r.Fail("key", "is not a PEM private key (an encrypted key is not supported)");
  }
  if (cert && key && X509_check_private_key(cert.get(), key.get()) != 1) {
    r.Fail("key", "is not the private key of cert");
  }
  ERR_clear_error();  // what OpenSSL queued here is reported above
}

}  // namespace

void Validate(MapReader& r, TlsConfig& t) {
  // *_ref name secrets of Prometheus' secret managers, which Promtail has none of.
  RefuseUnsupported(r, {"ca_ref", "cert_ref", "key_ref"});
  // Prometheus' TLSConfig.Validate: each PEM inline or from a file, not both.
  for (const auto& [inline_key, pem, file] :
       {std::tuple{"ca", &t.ca, &t.ca_file}, std::tuple{"cert", &t.cert, &t.cert_file},
        std::tuple{"key", &t.key, &t.key_file}}) {
    if (!pem->empty() && !file->empty()) {
      r.Fail(inline_key, fmt::format("set either {0} or {0}_file, not both", inline_key));
    }
  }
  CheckInlinePem(r, t);
  // Go's names, as Prometheus reads them; TLS10 < TLS11 < TLS12 < TLS13 compares as text.
  for (const auto& [key, v] :
       {std::pair{"min_version", &t.min_version}, std::pair{"max_version", &t.max_version}}) {
    if (!v->empty() && *v != "TLS10" && *v != "TLS11" && *v != "TLS12" && *v != "TLS13") {
      r.Fail(key, fmt::format("must be TLS10, TLS11, TLS12 or TLS13, not {}", Quote(*v)));
    }
  }
  if (!t.min_version.empty() && !t.max_version.empty() && t.max_version < t.min_version) {
    r.Fail("max_version", "must not be lower than min_version");
  }
  const bool has_cert = !t.cert_file.empty() || !t.cert.empty();
  const bool has_key = !t.key_file.empty() || !t.key.empty();
  if (has_cert != has_key) {
    const char* set =
        !has_cert ? (t.key.empty() ? "key_file" : "key") : (t.cert.empty() ? "cert_file" : "cert");
    r.Fail(set,
           "a client certificate (cert_file or cert) and its key (key_file or key) must be "
           "set together");
  }
}

void Validate(MapReader& r, ClientConfig& c) {
  std::vector<std::string> stream_lag_labels;  // deprecated no-op in Promtail
  r.StrList("stream_lag_labels", &stream_lag_labels);
  // The scheme is case-insensitive (as Go's url.Parse reads it); the client expects it lower.
  if (size_t colon = c.url.find("://"); colon != std::string::npos && colon <= 5) {
    for (size_t i = 0; i < colon; ++i) c.url[i] = static_cast<char>(std::tolower(c.url[i]));
  }
  ValidateHttpClient(r, c);
  ValidateClient(r, c);
}

Status ReadClient(const YAML::Node& node, const std::string& file, const std::string& path,
                  ClientConfig* out) {
  return ReadBlock(node, file, path, *out);
}

}  // namespace skidder::config::internal
