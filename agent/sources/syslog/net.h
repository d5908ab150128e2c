// Sockets and TLS for the syslog listeners: peer addresses, reverse lookups, and a non-blocking
// TLS server connection over OpenSSL (binding is io/listen.h, shared with the GELF source).
//
// Internal to sources/syslog. Every fd here is non-blocking and close-on-exec.
#pragma once

#include <sys/socket.h>

#include <memory>
#include <string>
#include <string_view>

#include "config/config.h"
#include "io/listen.h"
#include "util/status.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace skidder::sources::syslog {

using io::BindListener;  // io/listen.h
using io::LocalPort;
// "192.0.2.1" / "2001:db8::1" (IPv4-mapped IPv6 written as IPv4).
std::string PeerIp(const sockaddr_storage& addr);
// The names of ip, comma-separated, as Go's net.LookupAddr gives Promtail (""
// when it has none). Blocks on DNS: called once per peer.
std::string ReverseLookup(const sockaddr_storage& addr, socklen_t len);
// A name as Go's net.LookupAddr gives it (Promtail's __syslog_connection_hostname): with a
// trailing dot when it has a dot ("host.example.com."), as is ("localhost") otherwise.
std::string GoDomainName(std::string name);

// A server TLS context: certificate and key, and with ca_file, client certificates required
// and verified against it (Promtail's RequireAndVerifyClientCert).
class TlsContext {
 public:
  static Result<std::unique_ptr<TlsContext>> Create(const config::TlsConfig& tls);
  ~TlsContext();
  SSL_CTX* get() const { return ctx_; }

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

// The byte stream of one accepted connection: plain or TLS.
class Stream {
 public:
  enum class Read { kData, kWouldBlock, kEof, kError };
  Stream(int fd, SSL_CTX* tls);  // takes the fd
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // Reads up to cap bytes into buf (*n set with kData).
  Read ReadSome(char* buf, size_t cap, size_t* n);
  // TLS wants the socket writable before it can go on (handshake).
  bool wants_write() const { return wants_write_; }
  // Bytes already decrypted and waiting in the TLS layer (poll() cannot see them).
  bool has_buffered() const;
  bool handshake_done() const;
  int fd() const { return fd_; }
  std::string error() const { return error_; }

 private:
  int fd_;
  SSL* ssl_ = nullptr;
  bool tls_failed_ = false;  // a TLS listener's session could not be made: every read fails
  bool wants_write_ = false;
  std::string error_;
};

}  // namespace skidder::sources::syslog
