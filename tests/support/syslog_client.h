// A syslog sender for integration tests and the benchmark: framing helpers, a TCP client
// (plain or TLS with an optional client certificate, OpenSSL) and UDP datagrams, on loopback.
// Also makes a test CA with server and client certificates, and finds the port a syslog job of
// the agent bound (the agent logs it; tests listen on port 0 so they never race for ports).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace skidder::testing {

class AgentProcess;

// "<len> <msg>" (RFC 5425 octet counting) and "<msg>\n" (non-transparent framing).
std::string OctetFrame(std::string_view msg);
std::string NewlineFrame(std::string_view msg);
// "<165>1 2018-10-11T22:14:15.003Z host5 app - id1 [custom@32473 exkey="<n>"] <text>"
std::string Rfc5424(std::string_view text, std::string_view host = "host5",
                    std::string_view app = "app");

// The port the agent's syslog job `job` listens on, from its "syslog listening" log line.
std::optional<int> SyslogPort(AgentProcess& agent, const std::string& job);
// The same for a gelf job (its "listening for GELF" line).
std::optional<int> GelfPort(AgentProcess& agent, const std::string& job);
// The same for a loki_push_api job (its "serving loki push API" line).
std::optional<int> PushPort(AgentProcess& agent, const std::string& job);
// The same for a heroku_drain job (its "serving a Heroku drain" line).
std::optional<int> HerokuPort(AgentProcess& agent, const std::string& job);

// ca.crt, server.{crt,key} (127.0.0.1) and client.{crt,key}, all signed by the CA, in dir; and
// server-only.{crt,key}, of the CA too but for server authentication only.
struct TestCerts {
  std::string ca, server_cert, server_key, client_cert, client_key;
  std::string server_only_cert, server_only_key;
};
TestCerts MakeTestCerts(const std::string& dir);

class SyslogTcpClient {
 public:
  struct Tls {
    std::string ca_file;              // verify the server against it
    std::string cert_file, key_file;  // client certificate ("" = none)
  };
  SyslogTcpClient() = default;
  ~SyslogTcpClient() { Close(); }
  SyslogTcpClient(const SyslogTcpClient&) = delete;
  SyslogTcpClient& operator=(const SyslogTcpClient&) = delete;

  // Connects (and completes the TLS handshake with tls); false with error() on failure.
  bool Connect(int port, const std::optional<Tls>& tls = std::nullopt);
  // Writes all of data (blocking); false when the connection broke.
  bool Send(std::string_view data);
  // True once the server closed the connection within the deadline (reads and discards).
  bool ClosedByServerWithin(std::chrono::milliseconds deadline);
  void Close();
  const std::string& error() const { return error_; }

 private:
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string error_;
};

// Sends one datagram to 127.0.0.1:port.
bool SendUdp(int port, std::string_view datagram);

}  // namespace skidder::testing
