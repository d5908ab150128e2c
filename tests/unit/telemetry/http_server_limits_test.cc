// The agent's HTTP server against requests that are too big (bodies however framed, headers),
// against a descriptor limit, and POST /reload as curl sends it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/raw_client.h"
#include "support/test_util.h"
#include "telemetry/http_server.h"

namespace skidder::telemetry {
namespace {

using skidder::testing::RawConn;
using skidder::testing::Request;
using skidder::testing::WaitFor;
using std::chrono::milliseconds;
using std::chrono::seconds;

struct ReloadServer {
  explicit ReloadServer(std::function<Status()> reload = nullptr) {
    HttpHandlers h;
    h.reload = reload ? std::move(reload) : [this] {
      ++reloads;
      return Status::Ok();
    };
    server = std::make_unique<HttpServer>(
        HttpServerOptions{.listen_address = "127.0.0.1", .port = 0, .enable_reload = true},
        &registry, std::move(h));
    port = server->Start().value_or(0);
  }
  Registry registry;
  std::atomic<int> reloads{0};
  std::unique_ptr<HttpServer> server;
  int port = 0;
};

TEST(HttpServer, RefusesAChunkedBodyWithoutReadingIt) {
  ReloadServer s;
  RawConn c(s.port);
  ASSERT_TRUE(c.Send("POST /reload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk = "10000\r\n" + std::string(0x10000, 'x') + "\r\n";
  const size_t offered = 128u << 20;
  size_t sent = 0;
  // Keep sending until the server answers (or stops reading): it must not swallow it all.
  while (sent < offered && c.Send(chunk)) {
    sent += chunk.size();
    if (c.ClosedWithin(milliseconds(0)) || !c.received().empty()) break;
  }
  std::string body;
  EXPECT_EQ(c.ReadResponse(seconds(5), &body), 413) << c.received();
  EXPECT_LT(sent, 16u << 20) << "the server read " << sent << " bytes of an oversized body";
  EXPECT_EQ(s.reloads, 0);
}

TEST(HttpServer, RefusesAnOversizedContentLengthBeforeTheBody) {
  ReloadServer s;
  RawConn c(s.port);
  ASSERT_TRUE(c.Send("POST /reload HTTP/1.1\r\nHost: x\r\nContent-Length: 400000000\r\n\r\n"));
  EXPECT_EQ(c.ReadResponse(seconds(5)), 413);
  EXPECT_TRUE(c.ClosedWithin(seconds(5)));
  EXPECT_EQ(s.reloads, 0);
}

TEST(HttpServer, RefusesTooManyOrTooLargeHeaders) {
  ReloadServer s;
  std::string many = "GET /ready HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 200; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  RawConn a(s.port);
  ASSERT_TRUE(a.Send(many + "\r\n"));
  EXPECT_EQ(a.ReadResponse(seconds(5)), 431);

  RawConn b(s.port);
  b.Send("GET /ready HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(1 << 20, 'b') + "\r\n\r\n");
  int status = b.ReadResponse(seconds(5));
  EXPECT_TRUE(status == 431 || status == 400) << status;
  EXPECT_TRUE(b.ClosedWithin(seconds(5)));
  EXPECT_EQ(Request(s.port, "GET", "/ready").status, 200);  // and the server is fine
}

TEST(HttpServer, ReloadNeedsNoBody) {
  ReloadServer s;
  RawConn c(s.port);  // what `curl -X POST .../reload` sends: no Content-Length, no body
  ASSERT_TRUE(c.Send("POST /reload HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n"));
  std::string body;
  EXPECT_EQ(c.ReadResponse(seconds(10), &body), 200);
  EXPECT_EQ(body, "config reloaded\n");
  EXPECT_EQ(s.reloads, 1);
}

TEST(HttpServer, ServesReadyDuringAReloadAndAnswersTheReloadWhenItStopsTheServer) {
  // The agent's reload stops this server (the new runtime starts its own) right after it
  // succeeds: the reload's answer must still reach the client.
  std::atomic<bool> release{false}, reloaded{false};
  ReloadServer s([&] {
    WaitFor([&] { return release.load(); });
    reloaded = true;
    return Status::Ok();
  });
  std::thread client([&] {
    auto r = Request(s.port, "POST", "/reload", seconds(20));
    EXPECT_EQ(r.status, 200) << r.body;
  });
  auto ready = Request(s.port, "GET", "/ready", seconds(10));
  EXPECT_EQ(ready.status, 200);
  EXPECT_LT(ready.took, seconds(2));
  release = true;
  ASSERT_TRUE(WaitFor([&] { return reloaded.load(); }));
  s.server->Stop();
  client.join();
}

size_t OpenDescriptors(pid_t pid) {
  std::error_code ec;
  auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
  return ec ? 0 : static_cast<size_t>(std::distance(it, std::filesystem::directory_iterator()));
}

// In a child process allowed 128 descriptors: 200 connections from many addresses leave it
// free descriptors for files and Loki. Returns how many files the child could still open.
int FreeDescriptorsUnderConnectionFlood() {
  int to_child[2], to_parent[2];
  if (pipe(to_child) != 0 || pipe(to_parent) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    rlimit rl{128, 128};
    setrlimit(RLIMIT_NOFILE, &rl);
    Registry registry;
    HttpServer server({.listen_address = "127.0.0.1", .port = 0}, &registry, {});
    int port = server.Start().value_or(0);
    char go = 0;
    if (write(to_parent[1], &port, sizeof port) != sizeof port || read(to_child[0], &go, 1) != 1) {
      _exit(2);
    }
    int opened = 0;
    while (open("/dev/null", O_RDONLY) >= 0) ++opened;
    _exit(write(to_parent[1], &opened, sizeof opened) == sizeof opened ? 0 : 3);
  }
  int port = 0, opened = -1;
  if (read(to_parent[0], &port, sizeof port) != sizeof port) return -1;
  size_t before = OpenDescriptors(pid);
  std::vector<RawConn> flood;
  for (int i = 0; i < 200; ++i) {
    flood.emplace_back(port, "127.0.1." + std::to_string(1 + i / 4));
  }
  // The server has taken its share (its cap is 16 of 128, one kept free for the next client)
  // once this many are open; a server without a cap goes on accepting the rest at once.
  WaitFor([&] { return OpenDescriptors(pid) >= before + 15; }, seconds(10));
  char go = 1;
  if (write(to_child[1], &go, 1) != 1 || read(to_parent[0], &opened, sizeof opened) != 4) {
    opened = -1;
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  for (int fd : {to_child[0], to_child[1], to_parent[0], to_parent[1]}) close(fd);
  return opened;
}

TEST(HttpServer, KeepsDescriptorsForFilesAndLokiUnderAConnectionFlood) {
  // Cap 16 of 128; the rest minus what the process itself holds (about 20) stays free.
  EXPECT_GE(FreeDescriptorsUnderConnectionFlood(), 64);
}

}  // namespace
}  // namespace skidder::telemetry
