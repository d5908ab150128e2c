#include "support/fake_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

namespace skidder::testing {
namespace {

int Dial(const std::string& target) {
  size_t colon = target.rfind(':');
  if (colon == std::string::npos) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::atoi(target.c_str() + colon + 1)));
  std::string host = target.substr(0, colon);
  if (host == "localhost") host = "127.0.0.1";
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) return -1;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Copies bytes both ways until either side closes.
void Relay(int a, int b, const std::atomic<bool>& stop) {
  pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
  char buf[16384];
  while (!stop.load()) {
    if (poll(fds, 2, 200) < 0) return;
    for (int i = 0; i < 2; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      ssize_t r = recv(fds[i].fd, buf, sizeof buf, 0);
      if (r <= 0 || !SendAll(fds[1 - i].fd, buf, static_cast<size_t>(r))) return;
    }
  }
}

ConnectRequest ParseHead(const std::string& head, std::string* method) {
  ConnectRequest req;
  size_t eol = head.find("\r\n");
  std::string line = head.substr(0, eol);
  size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  *method = line.substr(0, sp1);
  if (sp1 != std::string::npos && sp2 > sp1) req.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  for (size_t pos = eol + 2; pos < head.size();) {
    size_t end = head.find("\r\n", pos);
    std::string h = head.substr(pos, end - pos);
    pos = end == std::string::npos ? head.size() : end + 2;
    size_t colon = h.find(':');
    if (colon == std::string::npos) continue;
    std::string name = h.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    size_t v = h.find_first_not_of(' ', colon + 1);
    req.headers[name] = v == std::string::npos ? "" : h.substr(v);
  }
  return req;
}

}  // namespace

FakeConnectProxy::~FakeConnectProxy() {
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
}

bool FakeConnectProxy::Start() {
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

std::string FakeConnectProxy::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::vector<ConnectRequest> FakeConnectProxy::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

void FakeConnectProxy::Accept() {
  while (!stop_.load()) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    std::lock_guard lock(mu_);
    fds_.push_back(fd);
    conns_.emplace_back([this, fd] { Serve(fd); });
  }
}

void FakeConnectProxy::Serve(int fd) {
  std::string head;
  char c;
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536) {
    if (recv(fd, &c, 1, 0) != 1) return;  // byte by byte: nothing after the head is consumed
    head.push_back(c);
  }
  std::string method;
  ConnectRequest req = ParseHead(head, &method);
  {
    std::lock_guard lock(mu_);
    requests_.push_back(req);
  }
  if (method != "CONNECT") {
    static constexpr char k501[] = "HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\n\r\n";
    SendAll(fd, k501, sizeof k501 - 1);
    return;
  }
  int upstream = Dial(req.target);
  if (upstream < 0) {
    static constexpr char k502[] = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n";
    SendAll(fd, k502, sizeof k502 - 1);
    return;
  }
  {
    std::lock_guard lock(mu_);
    fds_.push_back(upstream);
  }
  static constexpr char k200[] = "HTTP/1.1 200 Connection established\r\n\r\n";
  if (SendAll(fd, k200, sizeof k200 - 1)) Relay(fd, upstream, stop_);
  shutdown(upstream, SHUT_RDWR);
  shutdown(fd, SHUT_RDWR);
}

}  // namespace skidder::testing
