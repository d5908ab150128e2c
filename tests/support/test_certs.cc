#include "support/test_certs.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <stdexcept>

namespace skidder::testing {
namespace {

void AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) throw std::runtime_error("X509V3_EXT_conf_nid failed");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

}  // namespace

EVP_PKEY* NewTestKey() { return EVP_EC_gen("P-256"); }

X509* NewTestCert(const char* cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, long serial,
                  const char* ext_key_usage) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name);
  X509* signer = issuer ? issuer : cert;
  if (issuer == nullptr) {
    AddExt(cert, signer, NID_basic_constraints, "critical,CA:TRUE");
    AddExt(cert, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    AddExt(cert, signer, NID_subject_key_identifier, "hash");
  } else {
    AddExt(cert, signer, NID_basic_constraints, "critical,CA:FALSE");
    AddExt(cert, signer, NID_ext_key_usage, ext_key_usage);
    AddExt(cert, signer, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
  }
  X509_sign(cert, issuer_key ? issuer_key : key, EVP_sha256());
  return cert;
}

namespace {

std::string PemText(X509* cert, EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (cert != nullptr) PEM_write_bio_X509(bio, cert);
  if (key != nullptr) PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

}  // namespace

const TestPem& SelfSignedPem() {
  static const TestPem pem = [] {
    EVP_PKEY* key = NewTestKey();
    EVP_PKEY* other = NewTestKey();
    X509* cert = NewTestCert("inline", key, nullptr, nullptr, 1);
    TestPem p{PemText(cert, nullptr), PemText(nullptr, key), PemText(nullptr, other)};
    X509_free(cert);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other);
    return p;
  }();
  return pem;
}

void WritePem(const std::string& path, X509* cert, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) throw std::runtime_error("cannot write " + path);
  if (cert != nullptr) PEM_write_X509(f, cert);
  if (key != nullptr) PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
}

}  // namespace skidder::testing
