#include "support/syslog_client.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <regex>
#include <stdexcept>

#include "support/agent_process.h"
#include "support/test_certs.h"
#include "support/test_util.h"

namespace skidder::testing {
namespace {

std::string SslError() {
  char buf[256];
  ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
  return buf;
}

}  // namespace

std::string OctetFrame(std::string_view msg) { return fmt::format("{} {}", msg.size(), msg); }
std::string NewlineFrame(std::string_view msg) { return std::string(msg) + "\n"; }

std::string Rfc5424(std::string_view text, std::string_view host, std::string_view app) {
  return fmt::format("<165>1 2018-10-11T22:14:15.003Z {} {} - id1 [custom@32473 exkey=\"1\"] {}",
                     host, app, text);
}

namespace {

std::optional<int> LoggedPort(AgentProcess& agent, const std::string& msg, const std::string& job) {
  const std::regex re("msg=\"" + msg + "\" job=" + job + R"( .*?port=(\d+))");
  std::optional<int> found;
  WaitFor([&] {
    std::string err = agent.Stderr();
    std::smatch m;
    if (std::regex_search(err, m, re)) found = std::stoi(m[1]);
    return found.has_value() || !agent.Running();
  });
  return found;
}

}  // namespace

std::optional<int> SyslogPort(AgentProcess& agent, const std::string& job) {
  return LoggedPort(agent, "syslog listening", job);
}

std::optional<int> GelfPort(AgentProcess& agent, const std::string& job) {
  return LoggedPort(agent, "listening for GELF", job);
}

std::optional<int> PushPort(AgentProcess& agent, const std::string& job) {
  return LoggedPort(agent, "serving loki push API", job);
}

std::optional<int> HerokuPort(AgentProcess& agent, const std::string& job) {
  return LoggedPort(agent, "serving a Heroku drain", job);
}

TestCerts MakeTestCerts(const std::string& dir) {
  EVP_PKEY* ca_key = NewTestKey();
  EVP_PKEY* server_key = NewTestKey();
  EVP_PKEY* client_key = NewTestKey();
  EVP_PKEY* server_only_key = NewTestKey();
  X509* ca = NewTestCert("skidder syslog test CA", ca_key, nullptr, nullptr, 1);
  X509* server = NewTestCert("127.0.0.1", server_key, ca, ca_key, 2);
  X509* client = NewTestCert("syslog-client", client_key, ca, ca_key, 3);
  X509* server_only = NewTestCert("server-only", server_only_key, ca, ca_key, 4, "serverAuth");
  TestCerts c{dir + "/ca.crt",         dir + "/server.crt", dir + "/server.key",
              dir + "/client.crt",     dir + "/client.key", dir + "/server-only.crt",
              dir + "/server-only.key"};
  WritePem(c.ca, ca, nullptr);
  WritePem(c.server_cert, server, nullptr);
  WritePem(c.server_key, nullptr, server_key);
  WritePem(c.client_cert, client, nullptr);
  WritePem(c.client_key, nullptr, client_key);
  WritePem(c.server_only_cert, server_only, nullptr);
  WritePem(c.server_only_key, nullptr, server_only_key);
  for (X509* x : {ca, server, client, server_only}) X509_free(x);
  for (EVP_PKEY* k : {ca_key, server_key, client_key, server_only_key}) EVP_PKEY_free(k);
  return c;
}

bool SyslogTcpClient::Connect(int port, const std::optional<Tls>& tls) {
  Close();
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd_ < 0 || connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    error_ = std::strerror(errno);
    Close();
    return false;
  }
  if (!tls) return true;
  ctx_ = SSL_CTX_new(TLS_client_method());
  SSL_CTX_load_verify_locations(ctx_, tls->ca_file.c_str(), nullptr);
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  if (!tls->cert_file.empty() &&
      (SSL_CTX_use_certificate_file(ctx_, tls->cert_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
       SSL_CTX_use_PrivateKey_file(ctx_, tls->key_file.c_str(), SSL_FILETYPE_PEM) != 1)) {
    error_ = SslError();
    Close();
    return false;
  }
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_);
  SSL_set1_host(ssl_, "127.0.0.1");
  if (SSL_connect(ssl_) != 1) {
    error_ = SslError();
    Close();
    return false;
  }
  return true;
}

bool SyslogTcpClient::Send(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = 0;
    if (ssl_ != nullptr) {
      size_t written = 0;
      n = SSL_write_ex(ssl_, data.data(), data.size(), &written) == 1
              ? static_cast<ssize_t>(written)
              : -1;
    } else {
      n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    }
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      error_ = ssl_ != nullptr ? SslError() : std::strerror(errno);
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool SyslogTcpClient::ClosedByServerWithin(std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  char buf[4096];
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    ssize_t n = ssl_ != nullptr ? SSL_read(ssl_, buf, sizeof buf) : recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return true;
  }
  return false;
}

void SyslogTcpClient::Close() {
  if (ssl_ != nullptr) {
    SSL_shutdown(ssl_);
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  if (ctx_ != nullptr) {
    SSL_CTX_free(ctx_);
    ctx_ = nullptr;
  }
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
}

bool SendUdp(int port, std::string_view datagram) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ssize_t n =
      sendto(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  close(fd);
  return n == static_cast<ssize_t>(datagram.size());
}

}  // namespace skidder::testing
