// PodDiscovery against an API server that misbehaves, by accident or on purpose: it must never
// turn a DaemonSet into a storm of requests on its own control plane, and it must say what is
// happening in a few log lines, not one per retry.
//
// Rates are checked by counting the requests the fake received in a window of requests, divided
// by the time that window took: with the fix the backoffs put a floor under that time (so a slow
// machine only lowers the rate), without it the requests come as fast as TLS handshakes allow.
#include <algorithm>

#include "discovery_fixture.h"
#include "util/log.h"

namespace skidder::kubernetes {
namespace {

using Clock = std::chrono::steady_clock;
using WatchMode = skidder::testing::FakeKubeApi::WatchMode;

// Requests per second among the watch (or list) requests from the from-th (0-based) on.
double Rate(const std::vector<skidder::testing::KubeRequest>& all, bool watch, size_t from) {
  std::vector<Clock::time_point> at;
  for (const auto& r : all) {
    if (r.params.count("watch") == (watch ? 1u : 0u)) at.push_back(r.at);
  }
  if (at.size() < from + 2) return 0;
  return (at.size() - from - 1) / std::chrono::duration<double>(at.back() - at[from]).count();
}

int Occurrences(const std::string& text, std::string_view what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class HostileApiTest : public DiscoveryTest {
 protected:
  void SetUp() override {
    DiscoveryTest::SetUp();
    log::CaptureForTest(&log_);
  }
  void TearDown() override {
    DiscoveryTest::TearDown();  // stops discovery: nothing logs any more
    log::CaptureForTest(nullptr);
  }
  DiscoveryOptions SlowBackoff() {
    DiscoveryOptions o = Options();
    o.backoff_min = 5ms;
    o.backoff_max = 500ms;
    return o;
  }
  std::string log_;
};

// Backoffs of 5 ms doubling to 500 ms (drawn from [d/2, d]): from the 8th retry on, requests are
// at least 250 ms apart, 4 a second at most; without a backoff they come tens a second.
TEST_F(HostileApiTest, WatchClosedAfterOneNewlineIsBackedOffNotReopenedAtOnce) {
  api_->SetWatchMode(WatchMode::kNewlineThenClose);
  Start(Config(), SlowBackoff());
  ASSERT_TRUE(WaitFor([&] { return CountRequests(/*watch=*/true) >= 14; }, 60s));
  EXPECT_LT(Rate(api_->requests(), /*watch=*/true, 7), 6) << "watches per second";
  EXPECT_EQ(CountRequests(/*watch=*/false), 1) << "a short watch is resumed, not relisted";
  discovery_->Stop();
  EXPECT_EQ(Occurrences(log_, "kubernetes pod watch ended early"), 1) << log_;
}

TEST_F(HostileApiTest, EveryWatchGoneBacksOffTheRelists) {
  api_->SetWatchMode(WatchMode::kAlwaysGone);
  Start(Config(), SlowBackoff());
  ASSERT_TRUE(WaitFor([&] { return CountRequests(/*watch=*/false) >= 14; }, 60s));
  EXPECT_LT(Rate(api_->requests(), /*watch=*/false, 7), 6) << "lists per second";
  discovery_->Stop();
  EXPECT_EQ(Occurrences(log_, "410 Gone"), 1) << log_;
}

TEST_F(HostileApiTest, HonoursRetryAfterOf429AndLogsTheOutageOnce) {
  api_->Add(PodJson("shop", "web", "node-1", {"app"}));
  Start();
  ASSERT_TRUE(WaitContainers({"shop/web/app"}));
  ASSERT_TRUE(WaitFor([&] { return api_->watches_started() == 1; }, 10s));
  const size_t before = api_->requests().size();
  api_->FailNext(1000, 429, /*retry_after=*/1);
  const auto start = Clock::now();
  api_->DropWatches();
  // The first retry is refused with Retry-After: 1; two more each wait for it.
  ASSERT_TRUE(WaitFor([&] { return api_->requests().size() >= before + 3; }, 30s));
  EXPECT_GE(Clock::now() - start, 2s) << "Retry-After: 1 between refused requests";
  api_->FailNext(0, 0);
  api_->Add(PodJson("shop", "db", "node-1", {"pg"}));
  ASSERT_TRUE(WaitContainers({"shop/web/app", "shop/db/pg"}));
  discovery_->Stop();
  EXPECT_EQ(Occurrences(log_, "kubernetes pod watch failed"), 1) << log_;
}

TEST_F(HostileApiTest, UndecodableWatchEventsAreLoggedButNotOncePerEvent) {
  Start();
  ASSERT_TRUE(WaitContainers({}));
  api_->RawEvent("{not json");
  ASSERT_TRUE(WaitFor([&] { return api_->watches_started() >= 2; }, 10s));
  api_->RawEvent(R"({"type":"ADDED","object":{"kind":"Pod","metadata":{"uid":"x"}}})");
  ASSERT_TRUE(
      WaitFor([&] { return Metric(metrics_.kubernetes_api_errors, "decode") >= 2; }, 10s));
  discovery_->Stop();
  EXPECT_EQ(Occurrences(log_, "kubernetes watch event not understood"), 1) << log_;
  EXPECT_NE(log_.find("not JSON"), std::string::npos) << log_;
}

}  // namespace
}  // namespace skidder::kubernetes
