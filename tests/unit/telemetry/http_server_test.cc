// The agent's HTTP server under clients that hold connections open: idle, keep-alive, trickling
// a request, too many of them, too many from one address. /ready and /metrics must keep
// answering promptly (the kubelet's liveness probe restarts the agent otherwise).
#include "telemetry/http_server.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "support/raw_client.h"
#include "support/test_util.h"

namespace skidder::telemetry {
namespace {

using skidder::testing::RawConn;
using skidder::testing::Request;
using skidder::testing::WaitFor;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Generous: a behaviour check on a loaded 2-core machine, not a benchmark.
constexpr milliseconds kPrompt = seconds(2);

class Server {
 public:
  explicit Server(HttpServerOptions o, HttpHandlers h = {}) {
    o.listen_address = "127.0.0.1";
    o.port = 0;
    registry_.NewCounter("skidder_test_total", "A counter so /metrics has a body.").With({})->Add();
    server_ = std::make_unique<HttpServer>(std::move(o), &registry_, std::move(h));
    auto port = server_->Start();
    EXPECT_TRUE(port.has_value()) << port.error().message();
    port_ = port.value_or(0);
  }
  int port() const { return port_; }
  HttpServer& server() { return *server_; }

 private:
  Registry registry_;
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
};

std::vector<RawConn> OpenMany(int port, int n, const std::string& source = "127.0.0.1") {
  std::vector<RawConn> conns;
  for (int i = 0; i < n; ++i) conns.emplace_back(port, source);
  return conns;
}

TEST(HttpServer, AnswersReadyAndMetricsWhileHundredsOfConnectionsAreIdleOrSlow) {
  Server s({.max_connections = 1000,
            .max_connections_per_ip = 1000,
            .idle_timeout = seconds(60),
            .read_timeout = seconds(60)});
  auto idle = OpenMany(s.port(), 300);
  auto slow = OpenMany(s.port(), 100);  // a request line and part of the headers, then nothing
  for (auto& c : slow) ASSERT_TRUE(c.Send("GET /ready HTTP/1.1\r\nHost: x\r\nX-Slow: "));
  auto keep_alive = OpenMany(s.port(), 20);  // ordinary clients between two requests
  for (auto& c : keep_alive) {
    ASSERT_TRUE(c.Send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_EQ(c.ReadResponse(seconds(20)), 200);
  }
  for (const char* path : {"/ready", "/metrics", "/ready"}) {
    auto r = Request(s.port(), "GET", path, seconds(10));
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_LT(r.took, kPrompt) << path;
  }
}

// No listen address is every interface, IPv6 too, as Go's ":9080": in an IPv6-only cluster the
// kubelet probes the pod's IPv6 address, and a server on 0.0.0.0 would be restarted for ever.
TEST(HttpServer, NoListenAddressAnswersOnIpv4AndIpv6) {
  Registry registry;
  HttpServer server({.listen_address = "", .port = 0}, &registry, {});
  auto port = server.Start();
  ASSERT_TRUE(port.has_value()) << port.error().message();
  std::vector<std::string> sources = {"127.0.0.1"};
  if (skidder::testing::HaveIpv6Loopback()) sources.push_back("::1");
  for (const std::string& source : sources) {
    RawConn c(*port, source);
    ASSERT_TRUE(c.ok()) << source;
    ASSERT_TRUE(c.Send("GET /ready HTTP/1.1\r\nHost: x\r\n\r\n")) << source;
    EXPECT_EQ(c.ReadResponse(seconds(20)), 200) << source;
  }
}

TEST(HttpServer, ClosesIdleConnectionsAfterTheIdleTimeout) {
  Server s({.idle_timeout = seconds(1), .read_timeout = seconds(30)});
  RawConn never_asked(s.port());
  RawConn asked_once(s.port());
  ASSERT_TRUE(asked_once.Send("GET /ready HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(asked_once.ReadResponse(seconds(10)), 200);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(never_asked.ClosedWithin(milliseconds(3500)));
  EXPECT_TRUE(asked_once.ClosedWithin(milliseconds(3500)));
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(500));
}

TEST(HttpServer, ClosesConnectionsThatTrickleARequestAfterTheReadTimeout) {
  // Each byte comes well within the idle timeout; only the read deadline can end this.
  Server s({.idle_timeout = seconds(2), .read_timeout = seconds(1)});
  RawConn slowloris(s.port());
  ASSERT_TRUE(slowloris.Send("GET /ready HTTP/1.1\r\n"));
  auto start = std::chrono::steady_clock::now();
  int sent = 0;
  while (!slowloris.ClosedWithin(milliseconds(200)) &&
         std::chrono::steady_clock::now() - start < seconds(6)) {
    slowloris.Send("X-" + std::to_string(sent++) + ": 1\r\n");
  }
  EXPECT_TRUE(slowloris.ClosedWithin(milliseconds(0))) << "after " << sent << " header lines";
  EXPECT_EQ(slowloris.received().find("200"), std::string::npos);
  // A client trickling its request line (before the request has started) ends the same way,
  // at idle + read timeout.
  RawConn slow_line(s.port());
  start = std::chrono::steady_clock::now();
  while (!slow_line.ClosedWithin(milliseconds(200)) &&
         std::chrono::steady_clock::now() - start < seconds(8)) {
    slow_line.Send("G");
  }
  EXPECT_TRUE(slow_line.ClosedWithin(milliseconds(0)));
}

size_t OpenDescriptors() {
  auto it = std::filesystem::directory_iterator("/proc/self/fd");
  return static_cast<size_t>(std::distance(it, std::filesystem::directory_iterator()));
}

TEST(HttpServer, TakesNoDescriptorBeyondItsCapAndKeepsASlotForTheNextClient) {
  Server s({.max_connections = 8,
            .max_connections_per_ip = 8,
            .idle_timeout = seconds(60),
            .read_timeout = seconds(60)});
  size_t before = OpenDescriptors();
  auto held = OpenMany(s.port(), 20);  // 20 descriptors here, at most 8 on the server's side
  // Each newcomer closes the longest-idle connection, so the server cycles through all 20.
  ASSERT_TRUE(WaitFor([&] {
    int closed = 0;
    for (auto& c : held) closed += c.ClosedWithin(milliseconds(0)) ? 1 : 0;
    return closed >= 12;
  }));
  EXPECT_FALSE(WaitFor([&] { return OpenDescriptors() > before + 20 + 8; }, milliseconds(500)))
      << OpenDescriptors() - before - 20 << " connections accepted";
  auto r = Request(s.port(), "GET", "/metrics", seconds(10));
  EXPECT_EQ(r.status, 200);
  EXPECT_LT(r.took, kPrompt);
  EXPECT_NE(r.body.find("skidder_http_connections_closed_total{reason=\"evicted\"}"),
            std::string::npos)
      << r.body;
}

TEST(HttpServer, OneAddressCannotTakeTheSlotsOfTheProbes) {
  Server s({.max_connections = 64,
            .max_connections_per_ip = 4,
            .idle_timeout = seconds(60),
            .read_timeout = seconds(60)});
  auto hog = OpenMany(s.port(), 40, "127.0.0.2");
  int refused = 0;
  for (auto& c : hog) refused += c.ClosedWithin(milliseconds(100)) ? 1 : 0;
  EXPECT_GE(refused, 30);
  auto r = Request(s.port(), "GET", "/ready", seconds(10), "127.0.0.3");
  EXPECT_EQ(r.status, 200);
  EXPECT_LT(r.took, kPrompt);
}

TEST(HttpServer, AnswersTheProbeWhileClientsFromManyAddressesHoldTheCap) {
  Server s({.max_connections = 16,
            .max_connections_per_ip = 4,
            .idle_timeout = seconds(60),
            .read_timeout = seconds(60)});
  std::vector<RawConn> hogs;
  for (int i = 0; i < 100; ++i) {
    hogs.emplace_back(s.port(), "127.0.5." + std::to_string(1 + i / 4));
    if (i % 2 == 1) hogs.back().Send("GET /ready HTTP/1.1\r\nX-Slow: ");  // and never finish
  }
  auto r = Request(s.port(), "GET", "/ready", seconds(10), "127.0.6.1");
  EXPECT_EQ(r.status, 200);
  EXPECT_LT(r.took, kPrompt);
}

TEST(HttpServer, DerivesItsConnectionCapFromTheDescriptorLimit) {
  EXPECT_EQ(ConnectionLimitFor(256), 32);  // 224 descriptors stay for files and Loki
  EXPECT_EQ(ConnectionLimitFor(1024), 128);
  EXPECT_EQ(ConnectionLimitFor(16), 8);
  EXPECT_EQ(ConnectionLimitFor(1 << 20), 512);  // a few hundred at most, however high the limit
  Server s({});
  EXPECT_GE(s.server().max_connections(), 8);
  EXPECT_LE(s.server().max_connections(), 512);
  EXPECT_EQ(s.server().max_connections_per_ip(), std::max(4, s.server().max_connections() / 4));
}

}  // namespace
}  // namespace skidder::telemetry
