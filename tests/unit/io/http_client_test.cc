#include "io/http_client.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "io/proxy.h"
#include "support/fake_kube_api.h"
#include "support/fake_proxy.h"
#include "support/test_util.h"

namespace skidder::io {
namespace {

// A loopback server with a few routes that misbehave on request.
class TestServer {
 public:
  TestServer() {
    server_.set_keep_alive_timeout(1);
    server_.Post("/echo", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      last_ = req;
      remote_ports_.insert(req.remote_port);
      res.status = 202;
      res.set_content("got " + std::to_string(req.body.size()), "text/plain");
    });
    server_.Post("/big", [](const httplib::Request&, httplib::Response& res) {
      res.status = 400;
      res.set_content(std::string(1024 * 1024, 'x'), "text/plain");
    });
    // A 200 whose body starts and never ends (until the server stops or the client leaves).
    server_.Post("/endless", [this](const httplib::Request&, httplib::Response& res) {
      res.status = 200;
      res.set_chunked_content_provider("text/plain", [this](size_t, httplib::DataSink& sink) {
        if (!sink.write("ok", 2)) return false;
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(50), [this] { return released_; });
        return !released_ && sink.is_writable();
      });
    });
    // A 200 announcing a 1 GiB body, written as fast as the client takes it.
    server_.Post("/huge", [this](const httplib::Request&, httplib::Response& res) {
      res.status = 200;
      res.set_content_provider(size_t{1} << 30, "text/plain",
                               [this](size_t offset, size_t length, httplib::DataSink& sink) {
                                 static const std::string chunk(64 * 1024, 'y');
                                 size_t n = std::min(length, chunk.size());
                                 if (!sink.write(chunk.data(), n)) return false;
                                 huge_written_ += n;
                                 return true;
                               });
    });
    server_.Post("/hang", [this](const httplib::Request&, httplib::Response& res) {
      std::unique_lock lock(mu_);
      ++hanging_;
      cv_.wait(lock, [this] { return released_; });
      res.status = 204;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() is a no-op until the accept loop runs.
    testing::WaitFor([this] { return server_.is_running(); }, std::chrono::seconds(10),
                     std::chrono::milliseconds(1));
  }
  ~TestServer() {
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
  httplib::Request last() {
    std::lock_guard lock(mu_);
    return last_;
  }
  int hanging() {
    std::lock_guard lock(mu_);
    return hanging_;
  }
  size_t huge_written() const { return huge_written_.load(); }
  size_t distinct_connections() {
    std::lock_guard lock(mu_);
    return remote_ports_.size();
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  int hanging_ = 0;
  httplib::Request last_;
  std::set<int> remote_ports_;
  std::atomic<size_t> huge_written_{0};
};

TEST(HttpClient, PostsBodyAndHeadersAndReturnsStatusAndBody) {
  TestServer server;
  auto http = NewCurlHttpClient();
  std::string body(300 * 1024, 'a');  // large enough that curl would otherwise send Expect
  HttpRequest req;
  req.url = server.Url("/echo");
  req.body = body;
  req.headers = {{"Content-Type", "application/x-protobuf"}, {"X-Scope-OrgID", "tenant-1"}};
  HttpResponse resp = http->Post(req);
  EXPECT_EQ(resp.status, 202);
  EXPECT_EQ(resp.body, "got " + std::to_string(body.size()));
  EXPECT_TRUE(resp.transport_error.empty());
  httplib::Request seen = server.last();
  EXPECT_EQ(seen.body.size(), body.size());
  EXPECT_EQ(seen.get_header_value("X-Scope-OrgID"), "tenant-1");
  EXPECT_EQ(seen.get_header_value("Content-Type"), "application/x-protobuf");
  EXPECT_FALSE(seen.has_header("Expect"));
}

TEST(HttpClient, ReusesOneConnectionForConsecutiveRequests) {
  TestServer server;
  auto http = NewCurlHttpClient();
  HttpRequest req;
  req.url = server.Url("/echo");
  req.body = "x";
  for (int i = 0; i < 3; ++i) ASSERT_EQ(http->Post(req).status, 202);
  EXPECT_EQ(server.distinct_connections(), 1u);
}

TEST(HttpClient, NeverSendsAHeaderValueWithCrLf) {
  TestServer server;
  auto http = NewCurlHttpClient();
  HttpRequest req;
  req.url = server.Url("/echo");
  req.headers = {{"X-Evil", "a\r\nX-Injected: 1"}, {"X-Good", "ok"}};
  ASSERT_EQ(http->Post(req).status, 202);
  httplib::Request seen = server.last();
  EXPECT_FALSE(seen.has_header("X-Injected"));
  EXPECT_FALSE(seen.has_header("X-Evil"));
  EXPECT_EQ(seen.get_header_value("X-Good"), "ok");
}

TEST(HttpClient, TruncatesLargeResponseBodies) {
  TestServer server;
  auto http = NewCurlHttpClient();
  HttpRequest req;
  req.url = server.Url("/big");
  HttpResponse resp = http->Post(req);
  EXPECT_EQ(resp.status, 400);
  EXPECT_EQ(resp.body.size(), HttpResponse::kMaxResponseBody);
  EXPECT_TRUE(resp.body_truncated);
}

// A 2xx is an answer as soon as its status line and headers are in: an endless body must not turn
// it into a timeout (the batch would be re-sent forever).
TEST(HttpClient, A2xxWithAnEndlessBodyIsASuccessNotATimeout) {
  TestServer server;
  auto http = NewCurlHttpClient();
  HttpRequest req;
  req.url = server.Url("/endless");
  req.timeout = std::chrono::seconds(60);
  auto start = std::chrono::steady_clock::now();
  HttpResponse resp = http->Post(req);
  EXPECT_EQ(resp.status, 200) << resp.transport_error;
  EXPECT_TRUE(resp.body_truncated);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

TEST(HttpClient, A2xxWithAHugeBodyIsNotDownloaded) {
  TestServer server;
  auto http = NewCurlHttpClient();
  HttpRequest req;
  req.url = server.Url("/huge");
  req.timeout = std::chrono::seconds(60);
  HttpResponse resp = http->Post(req);
  EXPECT_EQ(resp.status, 200) << resp.transport_error;
  EXPECT_LE(resp.body.size(), HttpResponse::kMax2xxBody);
  // Socket buffers take some megabytes; downloading the gigabyte would take far more.
  EXPECT_LT(server.huge_written(), size_t{64} << 20);
}

TEST(HttpClient, ConnectionRefusedIsStatusZeroWithAnError) {
  int port;
  {
    TestServer closed;  // learn a free port, then close it
    port = std::stoi(closed.Url("").substr(std::string("http://127.0.0.1:").size()));
  }
  auto http = NewCurlHttpClient();
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/x";
  HttpResponse resp = http->Post(req);
  EXPECT_EQ(resp.status, 0);
  EXPECT_NE(resp.curl_code, 0);
  EXPECT_FALSE(resp.transport_error.empty());
}

// The fake API server's certificate names 127.0.0.1 and localhost, signed by its own test CA.
TEST(HttpClient, TlsServerNameIsWhatTheCertificateIsCheckedAgainst) {
  skidder::testing::TempDir dir;
  skidder::testing::FakeKubeApi https(dir.path(), "token");
  auto http = NewCurlHttpClient();
  HttpRequest req;
  req.url = https.url() + "/loki/api/v1/push";
  req.tls.ca_file = https.ca_file();

  req.tls.server_name = "localhost";  // differs from the URL's 127.0.0.1 but is on the cert
  HttpResponse ok = http->Post(req);
  EXPECT_NE(ok.status, 0) << ok.transport_error;

  req.tls.server_name = "loki.example.com";  // not on the certificate: must be refused
  HttpResponse refused = http->Post(req);
  EXPECT_EQ(refused.status, 0);
  EXPECT_FALSE(refused.transport_error.empty());
}

// A CA file rotated in place (cert-manager, trust-manager) counts from the next connection on;
// libcurl's CA cache would keep the old store for a day.
TEST(HttpClient, ARotatedCaFileIsUsedForTheNextConnection) {
  skidder::testing::TempDir dir_a, dir_b, dir;
  skidder::testing::FakeKubeApi old_server(dir_a.path(), "token");
  skidder::testing::FakeKubeApi new_server(dir_b.path(), "token");
  const std::string ca = dir / "ca.crt";
  skidder::testing::WriteFile(ca, skidder::testing::ReadFile(old_server.ca_file()));
  auto http = NewCurlHttpClient();
  HttpRequest req;
  req.tls.ca_file = ca;
  req.url = old_server.url() + "/loki/api/v1/push";
  HttpResponse before = http->Post(req);
  ASSERT_NE(before.status, 0) << before.transport_error;

  skidder::testing::WriteFile(ca, skidder::testing::ReadFile(new_server.ca_file()));
  req.url = new_server.url() + "/loki/api/v1/push";  // another port: a new connection
  HttpResponse after = http->Post(req);
  EXPECT_NE(after.status, 0) << after.transport_error;
}

TEST(HttpClient, ErrorMessagesNeverContainCredentialsFromTheUrl) {
  auto http = NewCurlHttpClient();
  HttpRequest req;
  // Port 1 on loopback: refused; the proxy case makes curl quote the proxy in its message.
  req.url = "http://loki-user:s3cr3t-pass@127.0.0.1:1/loki/api/v1/push";
  req.proxy_url = "http://proxy-user:pr0xy-pass@127.0.0.1:1";
  HttpResponse resp = http->Post(req);
  EXPECT_EQ(resp.status, 0);
  EXPECT_EQ(resp.transport_error.find("s3cr3t-pass"), std::string::npos) << resp.transport_error;
  EXPECT_EQ(resp.transport_error.find("pr0xy-pass"), std::string::npos) << resp.transport_error;
}

TEST(HttpClient, ErrorMessagesNeverContainQueryStringTokens) {
  auto http = NewCurlHttpClient();
  HttpRequest req;
  req.url = "http://127.0.0.1:1/loki/api/v1/push?token=q-s3cr3t-tok";
  req.proxy_url = "http://127.0.0.1:1/?api_key=pr0xy-qu3ry-key";
  HttpResponse resp = http->Post(req);
  EXPECT_EQ(resp.status, 0);
  EXPECT_EQ(resp.transport_error.find("q-s3cr3t-tok"), std::string::npos) << resp.transport_error;
  EXPECT_EQ(resp.transport_error.find("pr0xy-qu3ry-key"), std::string::npos)
      << resp.transport_error;
}

TEST(HttpClient, TimesOutOnAServerThatNeverAnswers) {
  TestServer server;
  auto http = NewCurlHttpClient();
  HttpRequest req;
  req.url = server.Url("/hang");
  req.timeout = std::chrono::milliseconds(200);
  auto start = std::chrono::steady_clock::now();
  HttpResponse resp = http->Post(req);
  EXPECT_EQ(resp.status, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_FALSE(resp.transport_error.empty());
}

TEST(HttpClient, CancelFlagAbandonsAnInFlightRequest) {
  TestServer server;
  auto http = NewCurlHttpClient();
  std::atomic<bool> cancel{false};
  HttpRequest req;
  req.url = server.Url("/hang");
  req.timeout = std::chrono::seconds(30);
  req.cancel = &cancel;
  std::thread canceller([&] {
    testing::WaitFor([&] { return server.hanging() > 0; });
    cancel = true;
  });
  auto start = std::chrono::steady_clock::now();
  HttpResponse resp = http->Post(req);
  canceller.join();
  EXPECT_EQ(resp.status, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(Url, RedactsUserinfoAndExtractsHost) {
  struct Case {
    const char* url;
    const char* redacted;
    const char* host;
  } cases[] = {
      {"http://loki:3100/loki/api/v1/push", "http://loki:3100/loki/api/v1/push", "loki:3100"},
      {"https://u:p@loki.example.com/push", "https://loki.example.com/push", "loki.example.com"},
      {"http://u:p@w@host:80", "http://host:80", "host:80"},
      {"http://[::1]:3100/x?a=b@c", "http://[::1]:3100/x?a=<redacted>", "[::1]:3100"},
      {"https://u:p@loki/push?token=abc123&org=1",
       "https://loki/push?token=<redacted>&org=<redacted>", "loki"},
      // A password with an unencoded '#' or '?' (invalid, and a common mistake) is userinfo to
      // the redactor, as to config's MaskUrlCredentials, not a fragment that shows what follows.
      // (Config refuses such a URL, so it never names a host.)
      {"https://u:pa#ss@loki:3100/push", "https://loki:3100/push", nullptr},
      {"https://u:pa?ss@loki/push", "https://loki/push", nullptr},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(RedactUrl(c.url), c.redacted) << c.url;
    if (c.host != nullptr) {
      EXPECT_EQ(UrlHost(c.url), c.host) << c.url;
    }
  }
}

TEST(Url, ServerNameAppliesOnlyWhenItMatchesTheUrlHost) {
  EXPECT_TRUE(ServerNameApplies("https://loki:443/x", ""));
  EXPECT_TRUE(ServerNameApplies("https://loki:443/x", "loki"));
  EXPECT_TRUE(ServerNameApplies("https://[::1]:443/x", "::1"));
  EXPECT_FALSE(ServerNameApplies("https://10.0.0.1:443/x", "loki.example.com"));
}

TEST(Header, RejectsNamesAndValuesThatCouldSplitARequest) {
  EXPECT_TRUE(ValidHeader("X-Scope-OrgID", "tenant-a"));
  EXPECT_TRUE(ValidHeader("Authorization", "Bearer abc.def"));
  EXPECT_TRUE(ValidHeader("X-Tab", "a\tb"));
  EXPECT_FALSE(ValidHeader("X-A", "a\r\nX-B: c"));
  EXPECT_FALSE(ValidHeader("X-A", "a\nb"));
  EXPECT_FALSE(ValidHeader("X-A", std::string("a\0b", 3)));
  EXPECT_FALSE(ValidHeader("", "v"));
  EXPECT_FALSE(ValidHeader("Bad Name", "v"));
  EXPECT_FALSE(ValidHeader("Bad:Name", "v"));
}

}  // namespace
}  // namespace skidder::io

namespace skidder::io {
namespace {

// proxy_connect_header: the CONNECT request to the proxy carries the headers (e.g. the proxy's
// own credentials); the tunnelled request to the server does not.
TEST(HttpClient, ProxyConnectHeadersGoToTheProxyOnly) {
  skidder::testing::TempDir dir;
  skidder::testing::FakeKubeApi https(dir.path(), "token");
  skidder::testing::FakeConnectProxy proxy;
  ASSERT_TRUE(proxy.Start());
  auto http = NewCurlHttpClient();
  HttpRequest req;
  req.url = https.url() + "/loki/api/v1/push";
  req.tls.ca_file = https.ca_file();
  req.proxy_url = proxy.url();
  req.proxy_connect_header =
      ProxyConnectHeaderLines({{"Proxy-Authorization", {"Basic cHJveHk6cGFzcw=="}}});
  HttpResponse resp = http->Post(req);
  EXPECT_NE(resp.status, 0) << resp.transport_error;
  std::vector<skidder::testing::ConnectRequest> seen = proxy.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target, https.url().substr(8));
  EXPECT_EQ(seen[0].headers["proxy-authorization"], "Basic cHJveHk6cGFzcw==");
}

}  // namespace
}  // namespace skidder::io
