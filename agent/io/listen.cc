#include "io/listen.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace skidder::io {

Result<int> BindListener(std::string_view address, bool udp) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) {
    return Err(InvalidArgument(fmt::format("cannot listen on {:?}: no port (host:port)", address)));
  }
  std::string host(address.substr(0, colon));
  const std::string port =
      colon + 1 == address.size() ? "0" : std::string(address.substr(colon + 1));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = udp ? SOCK_DGRAM : SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) {
    return Err(
        InvalidArgument(fmt::format("cannot listen on {:?}: {}", address, gai_strerror(rc))));
  }
  // Every interface: "::" first, which (IPV6_V6ONLY off) takes IPv4 too, as Go's ":514" does.
  // glibc lists 0.0.0.0 first, and bound first it would leave IPv6 senders (an IPv6-only
  // cluster's pods, its kubelet's probes) refused. Without IPv6 in the kernel, 0.0.0.0.
  std::vector<addrinfo*> order;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) order.push_back(ai);
  if (host.empty()) {
    std::stable_partition(order.begin(), order.end(),
                          [](const addrinfo* ai) { return ai->ai_family == AF_INET6; });
  }
  std::string last = "no address";
  int fd = -1;
  for (addrinfo* ai : order) {
    if (fd >= 0) break;
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    if (!udp) {
      // A restarted agent binds again while the old connections linger in TIME_WAIT. Not for
      // UDP: there it would let two sockets share the port and split the datagrams silently.
      int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    }
    if (ai->ai_family == AF_INET6 && host.empty()) {
      int zero = 0;  // ":514" listens on IPv4 too, as Go does
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    }
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || (!udp && listen(fd, 128) != 0)) {
      last = std::strerror(errno);
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(res);
  if (fd < 0) {
    return Err(Status(StatusCode::kUnavailable, fmt::format("cannot listen on {} ({}): {}", address,
                                                            udp ? "udp" : "tcp", last)));
  }
  if (udp) {
    int size = 1 << 20;  // Promtail's read buffer: absorbs bursts while the loop is busy
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  return fd;
}

int LocalPort(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return -1;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

}  // namespace skidder::io
