// BindListener binds Go's addresses as Promtail does: ":port" is every interface, IPv4 and IPv6
// (an IPv6-only cluster's senders and probes must get through), "0.0.0.0:port" IPv4 alone.
#include "io/listen.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "support/raw_client.h"

namespace skidder::io {
namespace {

using skidder::testing::HaveIpv6Loopback;

// A loopback address of the family, at port.
sockaddr_storage Loopback(int family, int port, socklen_t* len) {
  sockaddr_storage ss{};
  if (family == AF_INET) {
    auto& a = reinterpret_cast<sockaddr_in&>(ss);
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *len = sizeof a;
  } else {
    auto& a = reinterpret_cast<sockaddr_in6&>(ss);
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(static_cast<uint16_t>(port));
    a.sin6_addr = in6addr_loopback;
    *len = sizeof a;
  }
  return ss;
}

// True when a TCP connection to the family's loopback at port is accepted (into the backlog).
bool Connects(int family, int port) {
  const int fd = socket(family, SOCK_STREAM, 0);
  if (fd < 0) return false;
  socklen_t len = 0;
  const sockaddr_storage a = Loopback(family, port, &len);
  const bool ok = connect(fd, reinterpret_cast<const sockaddr*>(&a), len) == 0;
  close(fd);
  return ok;
}

// Sends a datagram from the family's loopback to port; true when listener receives it.
bool Delivers(int family, int port, int listener) {
  const int fd = socket(family, SOCK_DGRAM, 0);
  if (fd < 0) return false;
  socklen_t len = 0;
  const sockaddr_storage a = Loopback(family, port, &len);
  const std::string msg = family == AF_INET ? "v4" : "v6";
  const bool sent = sendto(fd, msg.data(), msg.size(), 0, reinterpret_cast<const sockaddr*>(&a),
                           len) == static_cast<ssize_t>(msg.size());
  close(fd);
  if (!sent) return false;
  pollfd p{listener, POLLIN, 0};
  if (poll(&p, 1, 10'000) != 1) return false;  // loopback: at once, unless the machine stalls
  char buf[16] = {};
  const ssize_t n = recv(listener, buf, sizeof buf, 0);
  return n == static_cast<ssize_t>(msg.size()) && msg == std::string(buf, static_cast<size_t>(n));
}

TEST(BindListener, AnEmptyHostListensOnIpv4AndIpv6) {
  auto fd = BindListener(":0", /*udp=*/false);
  ASSERT_TRUE(fd.has_value()) << fd.error().message();
  const int port = LocalPort(*fd);
  EXPECT_TRUE(Connects(AF_INET, port));
  if (HaveIpv6Loopback()) {
    EXPECT_TRUE(Connects(AF_INET6, port));
  }
  close(*fd);
}

TEST(BindListener, UdpOnAnEmptyHostReceivesFromIpv4AndIpv6) {
  auto fd = BindListener(":0", /*udp=*/true);
  ASSERT_TRUE(fd.has_value()) << fd.error().message();
  const int port = LocalPort(*fd);
  EXPECT_TRUE(Delivers(AF_INET, port, *fd));
  if (HaveIpv6Loopback()) {
    EXPECT_TRUE(Delivers(AF_INET6, port, *fd));
  }
  close(*fd);
}

TEST(BindListener, AnIpv4AddressListensOnIpv4Only) {
  auto fd = BindListener("0.0.0.0:0", /*udp=*/false);
  ASSERT_TRUE(fd.has_value()) << fd.error().message();
  const int port = LocalPort(*fd);
  EXPECT_TRUE(Connects(AF_INET, port));
  if (HaveIpv6Loopback()) {
    EXPECT_FALSE(Connects(AF_INET6, port));
  }
  close(*fd);
}

}  // namespace
}  // namespace skidder::io
