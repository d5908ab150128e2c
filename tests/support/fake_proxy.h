// FakeConnectProxy: an HTTP CONNECT proxy on 127.0.0.1 (a free port), for tests of proxy_url and
// proxy_connect_header. It records each CONNECT request's target and headers, answers 200 and
// relays bytes both ways (TLS passes through untouched). Anything but CONNECT gets 501.
//
// Owned by a test; thread-safe. One thread per connection; the destructor closes everything.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace skidder::testing {

struct ConnectRequest {
  std::string target;                          // "127.0.0.1:6443"
  std::map<std::string, std::string> headers;  // names lower-cased
};

class FakeConnectProxy {
 public:
  FakeConnectProxy() = default;
  ~FakeConnectProxy();
  FakeConnectProxy(const FakeConnectProxy&) = delete;
  FakeConnectProxy& operator=(const FakeConnectProxy&) = delete;

  bool Start();
  std::string url() const;  // http://127.0.0.1:<port>
  std::vector<ConnectRequest> requests() const;

 private:
  void Accept();
  void Serve(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::vector<std::thread> conns_;
  std::vector<int> fds_;  // open sockets, shut down at destruction
  std::vector<ConnectRequest> requests_;
};

}  // namespace skidder::testing
