// Body endpoints of the HTTP server (the push API's): the body reaches the handler whole, the
// reply may come later from another thread while other requests are served, a refusal comes
// before the body is read, and a chunked body is read only up to the limit.
#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "support/raw_client.h"
#include "support/test_util.h"
#include "telemetry/http_server.h"

namespace skidder::telemetry {
namespace {

using skidder::testing::RawConn;
using skidder::testing::WaitFor;
using std::chrono::milliseconds;
using std::chrono::seconds;

struct BodyServer {
  explicit BodyServer(size_t max_body_bytes = 1000) {
    HttpHandlers h;
    h.body_paths = {"/push"};
    h.admit_body = [this](const std::string&, const std::string&) -> std::optional<HttpReply> {
      if (!refuse) return std::nullopt;
      return HttpReply{429, "busy\n", "1"};
    };
    h.body = [this](HttpBodyRequest&& req, std::function<void(HttpReply)> reply) {
      std::lock_guard lock(mu);
      bodies.push_back(req.body);
      types.push_back(req.content_type + "|" + req.content_encoding);
      if (req.body == "now") return reply(HttpReply{204, "", ""});
      pending.push_back(std::move(reply));  // answered later by the test
    };
    server = std::make_unique<HttpServer>(HttpServerOptions{.listen_address = "127.0.0.1",
                                                            .port = 0,
                                                            .max_body_bytes = max_body_bytes,
                                                            .telemetry_endpoints = false},
                                          &registry, std::move(h));
    port = server->Start().value_or(0);
  }
  size_t Pending() {
    std::lock_guard lock(mu);
    return pending.size();
  }
  Registry registry;
  std::mutex mu;
  std::vector<std::string> bodies, types;
  std::vector<std::function<void(HttpReply)>> pending;
  std::atomic<bool> refuse{false};
  std::unique_ptr<HttpServer> server;
  int port = 0;
};

std::string Post(const std::string& body, const std::string& extra = "") {
  return "POST /push HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n" + extra +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

TEST(HttpBody, HandsTheBodyOnAndAnswersWhenTheHandlerRepliesLater) {
  BodyServer s;
  RawConn waiting(s.port);
  ASSERT_TRUE(waiting.Send(Post("later", "Content-Encoding: gzip\r\n")));
  ASSERT_TRUE(WaitFor([&] { return s.Pending() == 1; }));
  // While that one waits, the event thread serves others.
  RawConn quick(s.port);
  ASSERT_TRUE(quick.Send(Post("now")));
  EXPECT_EQ(quick.ReadResponse(seconds(5)), 204);
  EXPECT_TRUE(waiting.received().empty());
  std::thread([&] { s.pending[0](HttpReply{503, "not yet\n", "1"}); }).join();
  std::string body;
  EXPECT_EQ(waiting.ReadResponse(seconds(5), &body), 503);
  EXPECT_EQ(body, "not yet\n");
  EXPECT_EQ(s.bodies[0], "later");
  EXPECT_EQ(s.types[0], "application/x-protobuf|gzip");
}

TEST(HttpBody, AReplyAfterTheClientLeftIsHarmless) {
  BodyServer s;
  {
    RawConn gone(s.port);
    ASSERT_TRUE(gone.Send(Post("later")));
    ASSERT_TRUE(WaitFor([&] { return s.Pending() == 1; }));
  }
  s.pending[0](HttpReply{204, "", ""});
  s.pending[0](HttpReply{204, "", ""});  // a second call is ignored
  RawConn next(s.port);
  ASSERT_TRUE(next.Send(Post("now")));
  EXPECT_EQ(next.ReadResponse(seconds(5)), 204);
}

TEST(HttpBody, AdmissionRefusesBeforeTheBodyIsRead) {
  BodyServer s;
  s.refuse = true;
  RawConn c(s.port);
  ASSERT_TRUE(c.Send("POST /push HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n"));
  std::string body;
  EXPECT_EQ(c.ReadResponse(seconds(5), &body), 429);
  EXPECT_EQ(body, "busy\n");
  EXPECT_TRUE(s.bodies.empty());
}

// Bodies being received count against one budget (twice max_body_bytes here: 2000 bytes), so
// hundreds of connections cannot each hold a max-size body: a new one is admitted while half of
// it is free (the rest is room for those coming to grow), else 429 with Retry-After before the
// body is read; the room comes back once a body went to the handler, or its client left.
TEST(HttpBody, BodiesBeingReceivedShareOneBudget) {
  BodyServer s;
  auto announce = [&](RawConn& c, size_t n) {
    return c.Send("POST /push HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: " +
                  std::to_string(n) + "\r\n\r\n");
  };
  std::optional<RawConn> a(std::in_place, s.port);
  RawConn b(s.port);
  ASSERT_TRUE(announce(*a, 400));
  ASSERT_EQ(a->ReadResponse(seconds(5)), 100);  // admitted: 400 counted
  ASSERT_TRUE(a->Send(std::string(200, 'a')));  // half of it
  ASSERT_TRUE(announce(b, 400));
  ASSERT_EQ(b.ReadResponse(seconds(5)), 100);  // 800
  RawConn c(s.port);
  ASSERT_TRUE(announce(c, 400));
  std::string body;
  EXPECT_EQ(c.ReadResponse(seconds(5), &body), 429);  // 1200 would pass half the budget
  EXPECT_NE(body.find("800 bytes"), std::string::npos) << body;
  // b's body arrives and goes to the handler: its room is free again, while it waits for its
  // answer.
  ASSERT_TRUE(b.Send(std::string(400, 'b')));
  ASSERT_TRUE(WaitFor([&] { return s.Pending() == 1; }));
  RawConn d(s.port);
  ASSERT_TRUE(announce(d, 400));
  EXPECT_EQ(d.ReadResponse(seconds(5)), 100);  // 800 again
  // a leaves mid-body: its room comes back too.
  a.reset();
  ASSERT_TRUE(WaitFor([&] {
    RawConn probe(s.port);
    return announce(probe, 400) && probe.ReadResponse(seconds(5)) == 100;
  }));
  std::thread([&] { s.pending[0](HttpReply{204, "", ""}); }).join();
  EXPECT_EQ(b.ReadResponse(seconds(5)), 204);
}

// What counts is what arrived (the first MiB of an announced body up front): clients that
// announce large bodies and send slowly do not keep everyone else out, and bodies already
// coming grow into the half of the budget new ones may not take.
TEST(HttpBody, ReceivedBytesCountNotAnnouncedOnes) {
  BodyServer s(4 << 20);  // a budget of 8 MiB; new bodies admitted up to 4 MiB
  auto announce = [&](RawConn& c) {
    return c.Send("POST /push HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: " +
                  std::to_string(4 << 20) + "\r\n\r\n");
  };
  std::vector<std::unique_ptr<RawConn>> slow;
  for (int i = 0; i < 4; ++i) {  // 4 x 4 MiB announced, 1 MiB each counted
    slow.push_back(std::make_unique<RawConn>(s.port));
    ASSERT_TRUE(announce(*slow.back()));
    ASSERT_EQ(slow.back()->ReadResponse(seconds(5)), 100) << i;
  }
  // One of them sends 3 MiB (6 MiB counted): past the half new bodies may take.
  ASSERT_TRUE(slow[0]->Send(std::string(3 << 20, 'x')));
  ASSERT_TRUE(WaitFor([&] {
    RawConn probe(s.port);
    if (!announce(probe)) return false;
    std::string body;
    return probe.ReadResponse(seconds(5), &body) == 429 &&
           body.find("bytes) are being received") != std::string::npos;
  }));
  // It grows into the other half to its end (7 MiB), goes to the handler (3 MiB counted), and
  // a new one is admitted.
  ASSERT_TRUE(slow[0]->Send(std::string(1 << 20, 'x')));
  ASSERT_TRUE(WaitFor([&] { return s.Pending() == 1; }));
  RawConn probe(s.port);
  ASSERT_TRUE(announce(probe));
  EXPECT_EQ(probe.ReadResponse(seconds(5)), 100);
  std::thread([&] { s.pending[0](HttpReply{204, "", ""}); }).join();
  EXPECT_EQ(slow[0]->ReadResponse(seconds(5)), 204);
}

TEST(HttpBody, ChunkedBodiesAreReadUpToTheLimitOnly) {
  BodyServer s;
  RawConn ok(s.port);
  ASSERT_TRUE(ok.Send(
      "POST /push HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nnow\r\n0\r\n\r\n"));
  EXPECT_EQ(ok.ReadResponse(seconds(5)), 204);
  RawConn big(s.port);
  ASSERT_TRUE(big.Send("POST /push HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk = "200\r\n" + std::string(0x200, 'x') + "\r\n";
  for (int i = 0; i < 4 && big.Send(chunk); ++i) {
  }
  EXPECT_TRUE(big.ClosedWithin(seconds(5)));
  EXPECT_EQ(s.bodies.size(), 1u);
}

TEST(HttpBody, PushServerServesReadyButNotTheTelemetryEndpoints) {
  BodyServer s;
  EXPECT_EQ(skidder::testing::Request(s.port, "GET", "/ready").status, 200);
  EXPECT_EQ(skidder::testing::Request(s.port, "GET", "/metrics").status, 404);
  EXPECT_EQ(skidder::testing::Request(s.port, "GET", "/push").status, 405);
  RawConn big(s.port);
  ASSERT_TRUE(big.Send("POST /push HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"));
  std::string body;
  EXPECT_EQ(big.ReadResponse(seconds(5), &body), 413);
  EXPECT_EQ(body, "request body too large: at most 1000 bytes\n");
}

}  // namespace
}  // namespace skidder::telemetry
