// Certificates made at test time (OpenSSL API): a CA, and certificates it signs for 127.0.0.1
// and localhost, valid from an hour ago for a day. Used by the fakes that speak TLS.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string>

namespace skidder::testing {

// A new P-256 key.
EVP_PKEY* NewTestKey();
// A certificate for cn with key, signed by issuer/issuer_key; a self-signed CA when issuer is
// null. A leaf certificate's extended key usage is ext_key_usage (OpenSSL's names).
X509* NewTestCert(const char* cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, long serial,
                  const char* ext_key_usage = "serverAuth,clientAuth");
// A self-signed CA certificate and its key as PEM text, made once per process (config tests
// of inline PEM). other_key: a key that is not the certificate's.
struct TestPem {
  std::string cert, key, other_key;
};
const TestPem& SelfSignedPem();
// Writes cert and then key (each skipped when null) to path as PEM; throws when it cannot.
void WritePem(const std::string& path, X509* cert, EVP_PKEY* key);

}  // namespace skidder::testing
