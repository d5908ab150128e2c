// LokiClient on a FakeClock with a scripted HttpClient: retry backoff, max_period and batchwait
// are decided by the injected clock, so these tests cover minutes of backoff without waiting
// for them and without a socket.
#include <gtest/gtest.h>

#include <deque>
#include <mutex>
#include <vector>

#include "sink/loki/client.h"
#include "support/fake_clock.h"
#include "support/test_util.h"

namespace skidder::sink {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::WaitFor;
using SteadyTime = Clock::SteadyTime;

// Answers each push with the next scripted status (then 204) and notes the fake time it came.
// Shared between the test and the client's sender thread.
class ScriptedLoki {
 public:
  // retry_after: the Retry-After every scripted (non-204) answer carries; 0 = none.
  ScriptedLoki(const FakeClock* clock, std::deque<int> statuses,
               std::chrono::seconds retry_after = {})
      : clock_(clock), statuses_(std::move(statuses)), retry_after_(retry_after) {}

  std::function<std::unique_ptr<io::HttpClient>()> Factory() {
    return [this] { return std::make_unique<Http>(this); };
  }
  std::vector<SteadyTime> Posts() const {
    std::lock_guard lock(mu_);
    return posts_;
  }
  size_t PostCount() const { return Posts().size(); }

 private:
  class Http final : public io::HttpClient {
   public:
    explicit Http(ScriptedLoki* loki) : loki_(loki) {}
    io::HttpResponse Post(const io::HttpRequest&) override { return loki_->Answer(); }

   private:
    ScriptedLoki* loki_;
  };
  io::HttpResponse Answer() {
    std::lock_guard lock(mu_);
    posts_.push_back(clock_->Steady());
    io::HttpResponse r;
    r.status = 204;
    if (!statuses_.empty()) {
      r.status = statuses_.front();
      r.retry_after = retry_after_;
      statuses_.pop_front();
    }
    return r;
  }

  const FakeClock* clock_;
  mutable std::mutex mu_;
  std::deque<int> statuses_;
  const std::chrono::seconds retry_after_;
  std::vector<SteadyTime> posts_;
};

class LokiClientClockTest : public ::testing::Test {
 protected:
  static config::ClientConfig Config() {
    config::ClientConfig cfg;
    cfg.url = "http://loki.invalid/loki/api/v1/push";  // never resolved: the HTTP is scripted
    cfg.batchwait = seconds(1);
    cfg.backoff_config.min_period = milliseconds(500);
    cfg.backoff_config.max_period = seconds(5);
    return cfg;
  }
  std::unique_ptr<LokiClient> Make(config::ClientConfig cfg, ScriptedLoki& loki) {
    ClientOptions opts;
    opts.seed = 7;
    opts.clock = &clock_;
    opts.http_client = loki.Factory();
    auto client = LokiClient::Create(std::move(cfg), std::move(opts), &metrics_);
    EXPECT_TRUE(client.has_value()) << client.error().ToString();
    return client ? std::move(*client) : nullptr;
  }
  Entry MakeEntry() const {
    Entry e;
    e.labels = Labels{{"job", "test"}};
    e.timestamp_ns = clock_.NowNs();
    e.line = "a line";
    return e;
  }
  // Plays time forward: whenever the sender has done all it can at this moment and waits, the
  // clock jumps to the moment it waits for. Stops once done() holds.
  bool RunUntil(const std::function<bool()>& done) {
    const auto end = std::chrono::steady_clock::now() + seconds(30);
    while (!done()) {
      if (std::chrono::steady_clock::now() > end) return false;
      if (!clock_.AwaitWaiter(milliseconds(200))) continue;
      if (done()) break;
      if (auto next = clock_.NextWakeup()) clock_.AdvanceTo(*next);
    }
    return true;
  }
  double Counter(telemetry::Family<telemetry::Counter>& f, std::vector<std::string> labels) {
    return f.With(labels)->Value();
  }

  FakeClock clock_;
  telemetry::Registry registry_;
  telemetry::AgentMetrics metrics_{registry_};
  const std::string host_ = "loki.invalid";
};

TEST_F(LokiClientClockTest, RetryDelaysGrowFromMinPeriodAndNeverExceedMaxPeriod) {
  ScriptedLoki loki(&clock_, {503, 503, 429, 503, 500, 503, 503, 503});
  auto client = Make(Config(), loki);
  const SteadyTime pushed = clock_.Steady();
  client->Push(MakeEntry());
  ASSERT_TRUE(client->Start().ok());

  ASSERT_TRUE(RunUntil([&] { return Counter(metrics_.sent_entries, {host_}) == 1; }));
  auto posts = loki.Posts();
  ASSERT_EQ(posts.size(), 9u);
  EXPECT_EQ(posts[0] - pushed, seconds(1));  // a partial batch leaves after batchwait
  // Attempt i waits between min_period and min(min_period * 2^i, max_period).
  std::chrono::nanoseconds ceiling = milliseconds(500), total{0};
  for (size_t i = 0; i + 1 < posts.size(); ++i) {
    const auto delay = posts[i + 1] - posts[i];
    EXPECT_GE(delay, milliseconds(500)) << "retry " << i;
    EXPECT_LE(delay, ceiling) << "retry " << i;
    ceiling = std::min<std::chrono::nanoseconds>(ceiling * 2, seconds(5));
    total += delay;
  }
  EXPECT_EQ(posts[1] - posts[0], milliseconds(500));  // the first window is min_period alone
  EXPECT_GT(total, seconds(8));  // the windows widen: eight retries at min_period would be 4 s
  EXPECT_EQ(Counter(metrics_.batch_retries, {host_}), 8);
  EXPECT_EQ(client->BufferedBytes(), 0);
  EXPECT_TRUE(client->Stop(seconds(5)));
}

// A gateway's Retry-After (429, 503) is waited for when longer than the backoff, up to
// max_period: sooner would only be refused again, and a long one must not stall the node.
TEST_F(LokiClientClockTest, RetryAfterIsHonouredUpToMaxPeriod) {
  for (auto [retry_after, want] : {std::pair{seconds(3), seconds(3)}, {seconds(60), seconds(5)}}) {
    ScriptedLoki loki(&clock_, {429, 503}, retry_after);
    auto client = Make(Config(), loki);
    client->Push(MakeEntry());
    ASSERT_TRUE(client->Start().ok());
    ASSERT_TRUE(RunUntil([&] { return loki.PostCount() == 3; }));
    auto posts = loki.Posts();
    EXPECT_EQ(posts[1] - posts[0], want) << "Retry-After " << retry_after.count();
    EXPECT_EQ(posts[2] - posts[1], want) << "Retry-After " << retry_after.count();
    EXPECT_TRUE(client->Stop(seconds(5)));
  }
}

// Promtail drops a batch after max_retries; skidder keeps it (and the file behind it) for as
// long as Loki refuses, at max_period between attempts.
TEST_F(LokiClientClockTest, KeepsRetryingPastMaxRetriesAtMaxPeriodUntilLokiAccepts) {
  auto cfg = Config();
  cfg.backoff_config.max_retries = 3;
  cfg.backoff_config.max_period = seconds(30);
  ScriptedLoki loki(&clock_, std::deque<int>(20, 429));
  auto client = Make(cfg, loki);
  auto tracker = AckTracker::Create(0);
  Entry e = MakeEntry();
  e.ack = tracker->Open(10);
  client->Push(std::move(e));
  ASSERT_TRUE(client->Start().ok());

  ASSERT_TRUE(RunUntil([&] { return loki.PostCount() == 20; }));
  EXPECT_EQ(tracker->Committed(), 0u);  // still held: nothing dropped, the position waits
  EXPECT_GT(client->BufferedBytes(), 0);
  auto posts = loki.Posts();
  EXPECT_LE(posts.back() - posts[posts.size() - 2], seconds(30));
  EXPECT_GT(posts.back() - posts.front(), std::chrono::minutes(2));  // no real minute passed

  ASSERT_TRUE(RunUntil([&] { return tracker->Committed() == 10; }));
  EXPECT_EQ(loki.PostCount(), 21u);
  EXPECT_EQ(Counter(metrics_.dropped_entries, {host_, telemetry::kReasonRateLimited}), 0);
  EXPECT_TRUE(client->Stop(seconds(5)));
}

TEST_F(LokiClientClockTest, APartialBatchLeavesExactlyWhenBatchwaitHasPassed) {
  auto cfg = Config();
  cfg.batchwait = seconds(10);
  ScriptedLoki loki(&clock_, {});
  auto client = Make(cfg, loki);
  ASSERT_TRUE(client->Start().ok());
  ASSERT_TRUE(clock_.AwaitWaiter());
  const SteadyTime pushed = clock_.Steady();
  client->Push(MakeEntry());

  clock_.Advance(milliseconds(9999));
  ASSERT_TRUE(clock_.AwaitWaiter());  // the sender has looked at 9.999 s and waits on
  EXPECT_EQ(loki.PostCount(), 0u);
  clock_.Advance(milliseconds(1));
  ASSERT_TRUE(WaitFor([&] { return loki.PostCount() == 1; }));
  EXPECT_EQ(loki.Posts()[0] - pushed, seconds(10));
  EXPECT_TRUE(client->Stop(seconds(5)));
}

// Idle is idle: with nothing buffered the sender sets no timer (an idle agent's sender woke 5
// times a second); the first entry wakes it and its batch still leaves after batchwait.
TEST_F(LokiClientClockTest, IdleSenderSetsNoTimerUntilABatchOpens) {
  auto cfg = Config();
  cfg.batchwait = seconds(2);
  ScriptedLoki loki(&clock_, {});
  auto client = Make(cfg, loki);
  ASSERT_TRUE(client->Start().ok());
  ASSERT_TRUE(clock_.AwaitWaiter());
  auto next = clock_.NextWakeup();
  ASSERT_TRUE(next.has_value());
  EXPECT_GE(*next - clock_.Steady(), std::chrono::minutes(10));

  const SteadyTime pushed = clock_.Steady();
  client->Push(MakeEntry());
  ASSERT_TRUE(WaitFor([&] {  // the open batch wakes the sender, which now waits for its deadline
    auto n = clock_.NextWakeup();
    return n && *n <= pushed + seconds(2);
  }));
  ASSERT_TRUE(RunUntil([&] { return loki.PostCount() == 1; }));
  EXPECT_EQ(loki.Posts()[0] - pushed, seconds(2));
  // Sent and acknowledged: no timer again.
  ASSERT_TRUE(clock_.AwaitWaiter());
  next = clock_.NextWakeup();
  ASSERT_TRUE(next.has_value());
  EXPECT_GE(*next - clock_.Steady(), std::chrono::minutes(10));
  EXPECT_TRUE(client->Stop(seconds(5)));
}

}  // namespace
}  // namespace skidder::sink
