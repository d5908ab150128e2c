#include "sources/syslog/net.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace skidder::sources::syslog {
namespace {

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

Status Invalid(std::string msg) { return Status(StatusCode::kInvalidArgument, std::move(msg)); }

}  // namespace

std::string PeerIp(const sockaddr_storage& addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(addr).sin_addr, buf, sizeof buf);
    return buf;
  }
  const auto& a6 = reinterpret_cast<const sockaddr_in6&>(addr);
  if (IN6_IS_ADDR_V4MAPPED(&a6.sin6_addr)) {
    inet_ntop(AF_INET, &a6.sin6_addr.s6_addr[12], buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, &a6.sin6_addr, buf, sizeof buf);
  }
  return buf;
}

std::string ReverseLookup(const sockaddr_storage& addr, socklen_t len) {
  char host[NI_MAXHOST] = {};
  // An IPv4 sender on a dual-stack listener arrives as ::ffff:a.b.c.d: its PTR record is the
  // IPv4 address's (in-addr.arpa), as Go looks it up.
  sockaddr_storage v4{};
  const auto& a6 = reinterpret_cast<const sockaddr_in6&>(addr);
  if (addr.ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&a6.sin6_addr)) {
    auto& in = reinterpret_cast<sockaddr_in&>(v4);
    in.sin_family = AF_INET;
    in.sin_port = a6.sin6_port;
    std::memcpy(&in.sin_addr, &a6.sin6_addr.s6_addr[12], 4);
    len = sizeof(sockaddr_in);
  }
  const sockaddr_storage& a = v4.ss_family == AF_INET ? v4 : addr;
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&a), len, host, sizeof host, nullptr, 0,
                  NI_NAMEREQD) != 0) {
    return "";
  }
  return GoDomainName(host);
}

std::string GoDomainName(std::string name) {
  if (name.find('.') != std::string::npos && name.back() != '.') name.push_back('.');
  return name;
}

Result<std::unique_ptr<TlsContext>> TlsContext::Create(const config::TlsConfig& tls) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return Err(Invalid("cannot create a TLS context: " + OpenSslError()));
  std::unique_ptr<TlsContext> out(new TlsContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx, tls.cert_file.c_str()) != 1) {
    return Err(Invalid(fmt::format("tls_config.cert_file {}: {}", tls.cert_file, OpenSslError())));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    return Err(Invalid(fmt::format("tls_config.key_file {}: {}", tls.key_file, OpenSslError())));
  }
  if (!tls.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, tls.ca_file.c_str(), nullptr) != 1) {
      return Err(Invalid(fmt::format("tls_config.ca_file {}: {}", tls.ca_file, OpenSslError())));
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  // A client that closes without close_notify has still sent whole messages: read it as EOF.
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);  // idle connections hold no buffers
  return out;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

Stream::Stream(int fd, SSL_CTX* tls) : fd_(fd) {
  if (tls == nullptr) return;
  ssl_ = SSL_new(tls);
  if (ssl_ == nullptr) {  // out of memory: the connection is refused, never read as plain text
    tls_failed_ = true;
    error_ = "cannot create a TLS session: " + OpenSslError();
    return;
  }
  SSL_set_fd(ssl_, fd);
  SSL_set_accept_state(ssl_);
}

Stream::~Stream() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  close(fd_);
}

bool Stream::has_buffered() const { return ssl_ != nullptr && SSL_pending(ssl_) > 0; }
bool Stream::handshake_done() const {
  return !tls_failed_ && (ssl_ == nullptr || SSL_is_init_finished(ssl_));
}

Stream::Read Stream::ReadSome(char* buf, size_t cap, size_t* n) {
  wants_write_ = false;
  if (tls_failed_) return Read::kError;
  if (ssl_ == nullptr) {
    ssize_t r = read(fd_, buf, cap);
    if (r > 0) {
      *n = static_cast<size_t>(r);
      return Read::kData;
    }
    if (r == 0) return Read::kEof;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return Read::kWouldBlock;
    error_ = std::strerror(errno);
    return Read::kError;
  }
  ERR_clear_error();
  errno = 0;
  if (SSL_read_ex(ssl_, buf, cap, n) == 1) return Read::kData;
  switch (SSL_get_error(ssl_, 0)) {
    case SSL_ERROR_WANT_READ:
      return Read::kWouldBlock;
    case SSL_ERROR_WANT_WRITE:
      wants_write_ = true;
      return Read::kWouldBlock;
    case SSL_ERROR_ZERO_RETURN:
      return Read::kEof;
    case SSL_ERROR_SYSCALL:
      if (ERR_peek_error() == 0) {
        error_ = errno != 0 ? std::strerror(errno) : "connection closed";
        return errno == 0 ? Read::kEof : Read::kError;
      }
      [[fallthrough]];
    default:
      error_ = OpenSslError();
      return Read::kError;
  }
}

}  // namespace skidder::sources::syslog
