// TlsFront: a TLS terminator on 127.0.0.1 (a free port) in front of a plain TCP server on
// loopback, so a fake that speaks plain HTTP (e.g. FakeDockerApi::StartTcp) is reached over
// https:// as a daemon started with --tlsverify is. It makes a CA and a server certificate for
// 127.0.0.1 and localhost (ca_file()), and with require_client_cert refuses clients without a
// certificate signed by that CA (client_cert_file() / client_key_file() are such a pair).
//
// Owned by a test; thread-safe. One thread per connection; the destructor closes everything.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

typedef struct ssl_ctx_st SSL_CTX;

namespace skidder::testing {

class TlsFront {
 public:
  // Certificates and keys are written into dir.
  TlsFront(const std::string& dir, int backend_port, bool require_client_cert);
  ~TlsFront();
  TlsFront(const TlsFront&) = delete;
  TlsFront& operator=(const TlsFront&) = delete;

  bool Start();
  std::string url() const;  // https://127.0.0.1:<port>
  const std::string& ca_file() const { return ca_file_; }
  const std::string& client_cert_file() const { return client_cert_; }
  const std::string& client_key_file() const { return client_key_; }
  int handshakes_failed() const { return failed_.load(); }

 private:
  void Accept();
  void Serve(int fd);

  int backend_port_;
  std::string ca_file_, client_cert_, client_key_;
  SSL_CTX* ctx_ = nullptr;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> failed_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> conns_;
  std::vector<int> fds_;
};

}  // namespace skidder::testing
