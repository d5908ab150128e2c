// HttpClient's GET side, as the Kubernetes client uses it: streamed bodies with an idle timeout,
// a cancel from another thread, inline PEM, a body cap, Retry-After.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <thread>

#include "io/http_client.h"
#include "support/fake_kube_api.h"
#include "support/test_util.h"

namespace skidder::io {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// A loopback server whose GET routes stream, stall or refuse.
class StreamServer {
 public:
  StreamServer() {
    // Two lines, then silence until the client leaves.
    server_.Get("/stream", [this](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("application/json",
                                       [this](size_t offset, httplib::DataSink& sink) {
                                         if (offset == 0) return sink.write("one\ntwo\n", 8);
                                         return Idle(sink);
                                       });
    });
    // Headers, then nothing: counts as started once its handler runs.
    server_.Get("/silent", [this](const httplib::Request&, httplib::Response& res) {
      ++silent_started_;
      res.set_chunked_content_provider(
          "application/json", [this](size_t, httplib::DataSink& sink) { return Idle(sink); });
    });
    // One line, then nothing: the client has its headers and a body when the line arrives.
    server_.Get("/line-then-silent", [this](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("application/json",
                                       [this](size_t offset, httplib::DataSink& sink) {
                                         if (offset == 0) return sink.write("line\n", 5);
                                         return Idle(sink);
                                       });
    });
    // A line every few milliseconds for as long as the client reads.
    server_.Get("/flood", [](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("application/json", [](size_t, httplib::DataSink& sink) {
        std::this_thread::sleep_for(5ms);  // the server's pace, not a wait in the test
        return sink.write("line\n", 5);
      });
    });
    server_.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(1 << 20, 'b'), "application/json");
    });
    server_.Get("/method", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("GET", "text/plain");
    });
    server_.Post("/method", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("POST", "text/plain");
    });
    server_.Get("/busy", [](const httplib::Request&, httplib::Response& res) {
      res.status = 503;
      res.set_header("Retry-After", "7");
    });
    server_.Get("/limited", [](const httplib::Request&, httplib::Response& res) {
      res.status = 429;
      std::time_t later = std::time(nullptr) + 120;
      char date[64];
      std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", std::gmtime(&later));
      res.set_header("Retry-After", date);
    });
    server_.Get("/broken", [](const httplib::Request&, httplib::Response& res) {
      res.status = 500;
      res.set_header("Retry-After", "9");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    testing::WaitFor([this] { return server_.is_running(); }, 10s, 1ms);
  }
  ~StreamServer() {
    {
      std::lock_guard lock(mu_);
      released_ = true;
    }
    cv_.notify_all();
    server_.stop();
    thread_.join();
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int silent_started() const { return silent_started_.load(); }

 private:
  // Sends nothing until the client leaves or the server stops.
  bool Idle(httplib::DataSink& sink) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 50ms, [this] { return released_; });
    return !released_ && sink.is_writable();
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  std::atomic<int> silent_started_{0};
};

TEST(HttpGet, StreamsABodyAndEndsAfterTheIdleTimeout) {
  StreamServer server;
  auto http = NewCurlHttpClient();
  std::string got;
  HttpRequest req;
  req.url = server.Url("/stream");
  req.timeout = 0ms;  // none: only the idle timeout ends it
  req.idle_timeout = 300ms;
  req.on_body = [&](std::string_view chunk) {
    got.append(chunk);
    return true;
  };
  HttpResponse resp = http->Get(req);
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(got, "one\ntwo\n");
  EXPECT_TRUE(resp.body.empty());
  EXPECT_TRUE(resp.idle_timeout);
  EXPECT_FALSE(resp.cancelled);
}

TEST(HttpGet, TheReaderStopsAStreamByReturningFalse) {
  StreamServer server;
  auto http = NewCurlHttpClient();
  int chunks = 0;
  HttpRequest req;
  req.url = server.Url("/flood");
  req.timeout = 0ms;
  req.on_body = [&](std::string_view) { return ++chunks < 3; };
  HttpResponse resp = http->Get(req);
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(chunks, 3);
  EXPECT_TRUE(resp.aborted);
  EXPECT_FALSE(resp.idle_timeout);
}

TEST(HttpGet, ACancelFromAnotherThreadEndsABlockedStreamPromptly) {
  StreamServer server;
  auto http = NewCurlHttpClient();
  std::atomic<bool> cancel{false};
  std::atomic<SteadyClock::rep> cancelled_at{0};
  std::atomic<bool> streaming{false};
  HttpRequest req;
  // Blocked after its first line: a cancel before the headers arrived would end it with no
  // status, which is another case (AnAlreadyCancelledRequestIsNotSent).
  req.url = server.Url("/line-then-silent");
  req.timeout = 0ms;
  req.cancel = &cancel;
  req.on_body = [&](std::string_view) {
    streaming = true;
    return true;
  };
  std::thread canceller([&] {
    testing::WaitFor([&] { return streaming.load(); });
    cancelled_at = SteadyClock::now().time_since_epoch().count();
    cancel = true;
    http->Wake();
  });
  HttpResponse resp = http->Get(req);
  const auto returned = SteadyClock::now();
  canceller.join();
  EXPECT_TRUE(resp.cancelled);
  EXPECT_EQ(resp.status, 200);
  ASSERT_NE(cancelled_at.load(), 0);
  EXPECT_LT(returned - SteadyClock::time_point(SteadyClock::duration(cancelled_at.load())), 2s);
}

TEST(HttpGet, AnAlreadyCancelledRequestIsNotSent) {
  StreamServer server;
  auto http = NewCurlHttpClient();
  std::atomic<bool> cancel{true};
  HttpRequest req;
  req.url = server.Url("/silent");
  req.cancel = &cancel;
  HttpResponse resp = http->Get(req);
  EXPECT_TRUE(resp.cancelled);
  EXPECT_EQ(resp.status, 0);
  EXPECT_EQ(server.silent_started(), 0);
}

TEST(HttpGet, ABodyPastMaxBodyIsCutAndSaysSo) {
  StreamServer server;
  auto http = NewCurlHttpClient();
  HttpRequest req;
  req.url = server.Url("/big");
  req.max_body = 1000;
  HttpResponse cut = http->Get(req);
  EXPECT_EQ(cut.status, 200);
  EXPECT_EQ(cut.body.size(), 1000u);
  EXPECT_TRUE(cut.body_truncated);

  req.max_body = 2 << 20;  // room for all of it: a 2xx body is read whole, not looked at
  HttpResponse whole = http->Get(req);
  EXPECT_EQ(whole.status, 200);
  EXPECT_EQ(whole.body.size(), size_t{1} << 20);
  EXPECT_FALSE(whole.body_truncated);
}

TEST(HttpGet, RetryAfterOf503And429InSecondsOrAsADate) {
  StreamServer server;
  auto http = NewCurlHttpClient();
  HttpRequest req;
  req.url = server.Url("/busy");
  HttpResponse busy = http->Get(req);
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(busy.retry_after, 7s);

  req.url = server.Url("/limited");
  HttpResponse limited = http->Get(req);
  EXPECT_EQ(limited.status, 429);
  EXPECT_GT(limited.retry_after, 60s);  // 120 s from the server's clock, read a moment later
  EXPECT_LE(limited.retry_after, 121s);

  req.url = server.Url("/broken");  // only 429 and 503 ask the client to come back later
  HttpResponse broken = http->Get(req);
  EXPECT_EQ(broken.status, 500);
  EXPECT_EQ(broken.retry_after, 0s);
}

TEST(HttpGet, OneClientSendsGetAndPostInTurn) {
  StreamServer server;
  auto http = NewCurlHttpClient();
  HttpRequest req;
  req.url = server.Url("/method");
  req.read_2xx_body = true;
  req.body = "x";
  EXPECT_EQ(http->Post(req).body, "POST");
  EXPECT_EQ(http->Get(req).body, "GET");
  EXPECT_EQ(http->Post(req).body, "POST");
}

// kubeconfig's certificate-authority-data: the CA comes from memory, and only that CA counts.
TEST(HttpGet, VerifiesTheServerWithAnInlinePemCa) {
  skidder::testing::TempDir dir, other_dir;
  skidder::testing::FakeKubeApi api(dir.path(), "token");
  skidder::testing::FakeKubeApi other(other_dir.path(), "token");
  auto http = NewCurlHttpClient();
  HttpRequest req;
  req.url = api.url() + "/api/v1/pods";
  req.headers = {{"Authorization", "Bearer token"}};
  req.max_body = 1 << 20;
  req.tls.ca_pem = skidder::testing::ReadFile(api.ca_file());
  HttpResponse ok = http->Get(req);
  EXPECT_EQ(ok.status, 200) << ok.transport_error;
  EXPECT_NE(ok.body.find("\"items\""), std::string::npos);

  req.url = other.url() + "/api/v1/pods";  // a server that CA did not sign
  HttpResponse refused = http->Get(req);
  EXPECT_EQ(refused.status, 0);
  EXPECT_FALSE(refused.transport_error.empty());
}

}  // namespace
}  // namespace skidder::io
