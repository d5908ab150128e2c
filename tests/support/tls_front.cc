#include "support/tls_front.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <random>
#include <stdexcept>

#include "support/test_certs.h"

namespace skidder::testing {
namespace {

int DialLoopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Decrypted bytes both ways until either side ends. SSL_pending: a record already read may
// hold more than one SSL_read returned, which poll() cannot see.
void Relay(SSL* ssl, int client, int backend, const std::atomic<bool>& stop) {
  char buf[16384];
  while (!stop.load()) {
    pollfd fds[2] = {{client, POLLIN, 0}, {backend, POLLIN, 0}};
    if (SSL_pending(ssl) == 0 && poll(fds, 2, 200) < 0) return;
    if (SSL_pending(ssl) > 0 || (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      int r = SSL_read(ssl, buf, sizeof buf);
      if (r <= 0) return;
      if (send(backend, buf, static_cast<size_t>(r), MSG_NOSIGNAL) != r) return;
    }
    if ((fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      ssize_t r = recv(backend, buf, sizeof buf, 0);
      if (r <= 0 || SSL_write(ssl, buf, static_cast<int>(r)) != r) return;
    }
  }
}

}  // namespace

TlsFront::TlsFront(const std::string& dir, int backend_port, bool require_client_cert)
    : backend_port_(backend_port) {
  EVP_PKEY* ca_key = NewTestKey();
  EVP_PKEY* server_key = NewTestKey();
  EVP_PKEY* client_key = NewTestKey();
  const std::string ca_name = "skidder tls front CA " + std::to_string(std::random_device{}());
  X509* ca = NewTestCert(ca_name.c_str(), ca_key, nullptr, nullptr, 1);
  X509* server = NewTestCert("127.0.0.1", server_key, ca, ca_key, 2);
  X509* client = NewTestCert("docker-client", client_key, ca, ca_key, 3);
  ca_file_ = dir + "/front-ca.crt";
  client_cert_ = dir + "/front-client.crt";
  client_key_ = dir + "/front-client.key";
  WritePem(ca_file_, ca, nullptr);
  WritePem(client_cert_, client, nullptr);
  WritePem(client_key_, nullptr, client_key);
  ctx_ = SSL_CTX_new(TLS_server_method());
  SSL_CTX_use_certificate(ctx_, server);
  SSL_CTX_use_PrivateKey(ctx_, server_key);
  if (require_client_cert) {
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_), ca);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    // Clients resume sessions (libcurl does); with client verification OpenSSL refuses that
    // ("internal error") unless the sessions belong to a named context.
    static constexpr unsigned char kContext[] = "skidder-tls-front";
    SSL_CTX_set_session_id_context(ctx_, kContext, sizeof kContext - 1);
  }
  X509_free(ca);
  X509_free(server);
  X509_free(client);
  EVP_PKEY_free(ca_key);
  EVP_PKEY_free(server_key);
  EVP_PKEY_free(client_key);
}

TlsFront::~TlsFront() {
  stop_.store(true);
  if (listen_fd_ >= 0) shutdown(listen_fd_, SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  {
    std::lock_guard lock(mu_);
    for (int fd : fds_) shutdown(fd, SHUT_RDWR);
  }
  for (std::thread& t : conns_) t.join();
  for (int fd : fds_) close(fd);
  if (listen_fd_ >= 0) close(listen_fd_);
  SSL_CTX_free(ctx_);
}

bool TlsFront::Start() {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_fd_, 64) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return false;
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { Accept(); });
  return true;
}

std::string TlsFront::url() const { return "https://127.0.0.1:" + std::to_string(port_); }

void TlsFront::Accept() {
  while (!stop_.load()) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    std::lock_guard lock(mu_);
    fds_.push_back(fd);
    conns_.emplace_back([this, fd] { Serve(fd); });
  }
}

void TlsFront::Serve(int fd) {
  SSL* ssl = SSL_new(ctx_);
  SSL_set_fd(ssl, fd);
  if (SSL_accept(ssl) != 1) {
    failed_.fetch_add(1);
    ERR_clear_error();
    SSL_free(ssl);
    shutdown(fd, SHUT_RDWR);
    return;
  }
  int backend = DialLoopback(backend_port_);
  if (backend >= 0) {
    {
      std::lock_guard lock(mu_);
      fds_.push_back(backend);
    }
    Relay(ssl, fd, backend, stop_);
    shutdown(backend, SHUT_RDWR);
  }
  SSL_shutdown(ssl);
  SSL_free(ssl);
  shutdown(fd, SHUT_RDWR);
}

}  // namespace skidder::testing
