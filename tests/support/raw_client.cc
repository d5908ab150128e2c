#include "support/raw_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace skidder::testing {

namespace {
using Clock = std::chrono::steady_clock;

int Remaining(Clock::time_point end) {
  auto left = std::chrono::duration_cast<milliseconds>(end - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}
}  // namespace

bool HaveIpv6Loopback() {
  const int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

RawConn::RawConn(int port, const std::string& source) {
  if (source == "::1") {  // IPv6 loopback to IPv6 loopback
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    sockaddr_in6 to{};
    to.sin6_family = AF_INET6;
    to.sin6_port = htons(static_cast<uint16_t>(port));
    to.sin6_addr = in6addr_loopback;
    if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
      close(fd);
      return;
    }
    fd_ = fd;
    return;
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sockaddr_in from{.sin_family = AF_INET, .sin_port = 0, .sin_addr = {}, .sin_zero = {}};
  inet_pton(AF_INET, source.c_str(), &from.sin_addr);
  sockaddr_in to{.sin_family = AF_INET,
                 .sin_port = htons(static_cast<uint16_t>(port)),
                 .sin_addr = {},
                 .sin_zero = {}};
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
      connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    close(fd);
    return;
  }
  fd_ = fd;
}

RawConn::~RawConn() {
  if (fd_ >= 0) close(fd_);
}

bool RawConn::Send(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool RawConn::ReadSome(milliseconds deadline) {
  if (closed_) return false;
  pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
  if (poll(&p, 1, static_cast<int>(deadline.count())) <= 0) return false;
  char buf[65536];
  ssize_t n = recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) {
    closed_ = true;
    return false;
  }
  received_.append(buf, static_cast<size_t>(n));
  return true;
}

bool RawConn::ClosedWithin(milliseconds deadline) {
  auto end = Clock::now() + deadline;
  do {  // at least one look, even with no time left
    ReadSome(milliseconds(Remaining(end)));
  } while (!closed_ && Clock::now() < end);
  return closed_;
}

int RawConn::ReadResponse(milliseconds deadline, std::string* body) {
  auto end = Clock::now() + deadline;
  while (true) {
    size_t head_end = received_.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      std::string head = received_.substr(0, head_end);
      size_t length = 0;
      if (size_t cl = head.find("Content-Length: "); cl != std::string::npos) {
        length = std::strtoul(head.c_str() + cl + 16, nullptr, 10);
      }
      if (received_.size() >= head_end + 4 + length) {
        if (body != nullptr) *body = received_.substr(head_end + 4, length);
        int status = received_.starts_with("HTTP/1.") && received_.size() > 12
                         ? std::atoi(received_.c_str() + 9)
                         : 0;
        received_.erase(0, head_end + 4 + length);
        return status;
      }
    }
    if (closed_ || Clock::now() >= end) return 0;
    ReadSome(milliseconds(Remaining(end)));
  }
}

Reply Request(int port, std::string_view method, std::string_view path, milliseconds deadline,
              const std::string& source) {
  auto start = Clock::now();
  Reply r;
  RawConn c(port, source);
  if (c.ok() && c.Send(std::string(method) + " " + std::string(path) +
                       " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")) {
    r.status = c.ReadResponse(deadline, &r.body);
  }
  r.took = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  return r;
}

}  // namespace skidder::testing
