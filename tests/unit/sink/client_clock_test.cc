// LokiClient on a FakeClock with a scripted HttpClient: retry backoff, max_period and batchwait
// are decided by the injected clock, so these tests cover minutes of backoff without waiting
// for them and without a socket.
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <thread>
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
// A tenant (X-Scope-OrgID) with a script of its own is answered from that one instead.
// Shared between the test and the client's sender thread.
class ScriptedLoki {
 public:
  // retry_after: the Retry-After every scripted (non-204) answer carries; 0 = none.
  ScriptedLoki(const FakeClock* clock, std::deque<int> statuses,
               std::chrono::seconds retry_after = {},
               std::map<std::string, std::deque<int>> by_tenant = {})
      : clock_(clock),
        statuses_(std::move(statuses)),
        retry_after_(retry_after),
        by_tenant_(std::move(by_tenant)) {}

  std::function<std::unique_ptr<io::HttpClient>()> Factory() {
    return [this] { return std::make_unique<Http>(this); };
  }
  std::vector<SteadyTime> Posts() const {
    std::lock_guard lock(mu_);
    return posts_;
  }
  size_t PostCount() const { return Posts().size(); }
  std::vector<size_t> BodyBytes() const {  // of each push
    std::lock_guard lock(mu_);
    return body_bytes_;
  }
  // The tenant of each push, in order ("" without X-Scope-OrgID), and its answer.
  std::vector<std::pair<std::string, int>> Answers() const {
    std::lock_guard lock(mu_);
    return answers_;
  }

 private:
  class Http final : public io::HttpClient {
   public:
    explicit Http(ScriptedLoki* loki) : loki_(loki) {}
    io::HttpResponse Post(const io::HttpRequest& req) override {
      std::string tenant;
      for (const auto& [name, value] : req.headers) {
        if (name == "X-Scope-OrgID") tenant = value;
      }
      return loki_->Answer(tenant, req.body.size());
    }

   private:
    ScriptedLoki* loki_;
  };
  io::HttpResponse Answer(const std::string& tenant, size_t body_bytes) {
    std::lock_guard lock(mu_);
    posts_.push_back(clock_->Steady());
    body_bytes_.push_back(body_bytes);
    io::HttpResponse r;
    r.status = 204;
    auto own = by_tenant_.find(tenant);
    std::deque<int>& script = own != by_tenant_.end() ? own->second : statuses_;
    if (!script.empty()) {
      r.status = script.front();
      r.retry_after = retry_after_;
      script.pop_front();
    }
    answers_.emplace_back(tenant, r.status);
    return r;
  }

  const FakeClock* clock_;
  mutable std::mutex mu_;
  std::deque<int> statuses_;
  const std::chrono::seconds retry_after_;
  std::map<std::string, std::deque<int>> by_tenant_;
  std::vector<SteadyTime> posts_;
  std::vector<size_t> body_bytes_;
  std::vector<std::pair<std::string, int>> answers_;
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
  std::unique_ptr<LokiClient> Make(config::ClientConfig cfg, ScriptedLoki& loki,
                                   int64_t max_buffered_bytes = 8 << 20) {
    ClientOptions opts;
    opts.max_buffered_bytes = max_buffered_bytes;
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
  // The sender waits with no timer but the far bound for nothing to do (it looks again and again
  // on the fake clock, between two waits, so asked until it holds).
  bool SetsNoTimer() const {
    auto next = clock_.NextWakeup();
    return next && *next - clock_.Steady() >= std::chrono::minutes(10);
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
  // Released just after the entries count as sent.
  EXPECT_TRUE(WaitFor([&] { return client->BufferedBytes() == 0; })) << client->BufferedBytes();
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
  EXPECT_TRUE(WaitFor([&] { return SetsNoTimer(); }));

  const SteadyTime pushed = clock_.Steady();
  client->Push(MakeEntry());
  ASSERT_TRUE(WaitFor([&] {  // the open batch wakes the sender, which now waits for its deadline
    auto n = clock_.NextWakeup();
    return n && *n <= pushed + seconds(2);
  }));
  ASSERT_TRUE(RunUntil([&] { return loki.PostCount() == 1; }));
  EXPECT_EQ(loki.Posts()[0] - pushed, seconds(2));
  // Sent and acknowledged: no timer again.
  EXPECT_TRUE(WaitFor([&] { return SetsNoTimer(); }));
  EXPECT_TRUE(client->Stop(seconds(5)));
}

// One tenant refused for minutes (at its ingestion limit, 429; a gateway's 403) holds up only its
// own batches: another tenant's entries, pushed after them, are sent and acknowledged while it
// waits for its retries, and each tenant's batches still leave in order. Before, the one sender
// retried the first batch until it went, and every other tenant waited behind it.
TEST_F(LokiClientClockTest, OneTenantsRetriesDoNotHoldUpAnotherTenantsBatches) {
  auto cfg = Config();
  cfg.batchsize = 10;  // a batch per entry
  cfg.backoff_config.max_period = seconds(30);
  ScriptedLoki loki(&clock_, {}, {}, {{"slow", std::deque<int>(6, 429)}, {"down", {403, 403}}});
  auto client = Make(cfg, loki);
  auto tracker = AckTracker::Create(0);
  auto push = [&](const std::string& tenant, std::string line, uint64_t end) {
    Entry e = MakeEntry();
    e.labels = Labels{{"job", "test"}, {std::string(kTenantLabel), tenant}};
    e.line = std::move(line);
    e.ack = tracker->Open(end);
    client->Push(std::move(e));
  };
  push("slow", "slow 1 of 2", 10);
  push("slow", "slow 2 of 2", 20);
  push("down", "down 1 of 1", 30);
  push("fast", "fast 1 of 2", 40);
  push("fast", "fast 2 of 2", 50);
  ASSERT_TRUE(client->Start().ok());

  ASSERT_TRUE(RunUntil([&] { return Counter(metrics_.sent_entries, {host_}) >= 2; }));
  // Both of "fast" went while "slow" and "down" were still refused.
  auto answers = loki.Answers();
  std::vector<std::string> fast;
  for (const auto& [tenant, status] : answers) {
    if (status == 204) fast.push_back(tenant);
  }
  EXPECT_EQ(fast, (std::vector<std::string>{"fast", "fast"}));
  EXPECT_EQ(tracker->Committed(), 0u);  // the positions still wait for the first entries

  ASSERT_TRUE(RunUntil([&] { return tracker->Committed() == 50; }));
  answers = loki.Answers();
  std::vector<std::pair<std::string, int>> slow;
  for (const auto& a : answers) {
    if (a.first == "slow") slow.push_back(a);
  }
  // "slow"'s second batch waited for its first: 6 refusals, then both, in order.
  ASSERT_EQ(slow.size(), 8u);
  EXPECT_EQ(slow[6].second, 204);
  EXPECT_EQ(slow[7].second, 204);
  EXPECT_EQ(Counter(metrics_.sent_entries, {host_}), 5);
  EXPECT_EQ(Counter(metrics_.batch_retries, {host_}), 8);
  // Released just after the entries count as sent.
  EXPECT_TRUE(WaitFor([&] { return client->BufferedBytes() == 0; })) << client->BufferedBytes();
  EXPECT_TRUE(client->Stop(seconds(5)));
}

// Two clients pushing to one host share promtail_stream_lag_seconds{host} (Promtail's labels):
// the gauge shows the lag of the one that is behind, not whichever client set it last (a healthy
// client's 0, set every time it looked, hid the other's outage from the alert on the gauge).
TEST_F(LokiClientClockTest, ClientsOfOneHostShowTheLargestLagOnTheirSharedGauge) {
  ScriptedLoki down(&clock_, std::deque<int>(1000, 503));
  ScriptedLoki up(&clock_, {});
  auto blocked = Make(Config(), down);
  auto healthy = Make(Config(), up);
  const SteadyTime pushed = clock_.Steady();
  blocked->Push(MakeEntry());
  ASSERT_TRUE(blocked->Start().ok());
  ASSERT_TRUE(healthy->Start().ok());
  ASSERT_TRUE(RunUntil([&] { return clock_.Steady() - pushed >= seconds(30); }));
  healthy->Push(MakeEntry());
  ASSERT_TRUE(RunUntil([&] { return Counter(metrics_.sent_entries, {host_}) == 1; }));
  // Both senders look at the clock again and again (the fake clock's waits end after 2 ms of
  // real time): whenever the gauge is read, it shows the blocked client's lag.
  telemetry::Gauge* lag = metrics_.stream_lag.With({host_});
  ASSERT_TRUE(WaitFor([&] { return lag->Value() >= 30.0; }));  // the blocked one looked at 30 s
  for (int i = 0; i < 100; ++i) {
    ASSERT_GE(lag->Value(), 30.0) << "sample " << i;
    std::this_thread::sleep_for(milliseconds(1));
  }
  EXPECT_TRUE(healthy->Stop(seconds(5)));
  EXPECT_FALSE(blocked->Stop(milliseconds(0)));  // its entry is left for a restart to read again
}

// A 413 for a batch's last entry drops it (entry_too_large) and the batch is done: not a retry,
// no retry warning, no backoff before the tenant's next batch.
TEST_F(LokiClientClockTest, A413ForTheLastEntryEndsTheBatchWithoutARetry) {
  ScriptedLoki loki(&clock_, {413});
  auto client = Make(Config(), loki);
  auto tracker = AckTracker::Create(0);
  Entry e = MakeEntry();
  e.ack = tracker->Open(10);
  client->Push(std::move(e));
  ASSERT_TRUE(client->Start().ok());
  ASSERT_TRUE(RunUntil([&] { return tracker->Committed() == 10; }));
  EXPECT_EQ(Counter(metrics_.dropped_entries, {host_, telemetry::kReasonTooLarge}), 1);
  EXPECT_EQ(Counter(metrics_.batch_retries, {host_}), 0);
  // Released just after the entries count as sent.
  EXPECT_TRUE(WaitFor([&] { return client->BufferedBytes() == 0; })) << client->BufferedBytes();
  // Nothing is left waiting: the sender sets no timer.
  EXPECT_TRUE(WaitFor([&] { return SetsNoTimer(); }));
  EXPECT_TRUE(client->Stop(seconds(5)));
}

// A batch waiting for its retry counts its request against the budget (an outage with many
// tenants holds one per tenant), and gives it back once the batch is sent.
TEST_F(LokiClientClockTest, ABatchWaitingForARetryCountsItsRequest) {
  ScriptedLoki loki(&clock_, {503});
  auto client = Make(Config(), loki);
  Entry e = MakeEntry();
  std::mt19937 rng(1);
  e.line.clear();
  for (int i = 0; i < 20000; ++i)
    e.line += static_cast<char>('a' + rng() % 26);  // compresses little
  client->Push(std::move(e));
  ASSERT_TRUE(client->Start().ok());
  ASSERT_TRUE(RunUntil([&] { return loki.PostCount() == 1; }));
  ASSERT_TRUE(clock_.AwaitWaiter());  // answered 503: the batch waits for its retry
  EXPECT_GE(client->BufferedBytes(), static_cast<int64_t>(loki.BodyBytes().at(0)));
  ASSERT_TRUE(RunUntil([&] { return Counter(metrics_.sent_entries, {host_}) == 1; }));
  // Released just after the entries count as sent.
  EXPECT_TRUE(WaitFor([&] { return client->BufferedBytes() == 0; })) << client->BufferedBytes();
  EXPECT_TRUE(client->Stop(seconds(5)));
}

// Entries without a tenant and entries whose tenant Loki would refuse (sent without one, the
// client having no tenant_id) reach the same tenant of Loki's: they wait for each other's retries
// as one tenant's batches do, so a stream's entries cannot overtake each other.
TEST_F(LokiClientClockTest, NoTenantAndAnInvalidTenantAreOneLane) {
  ScriptedLoki loki(&clock_, {503});
  auto client = Make(Config(), loki);
  Entry plain = MakeEntry();
  plain.line = "short";
  Entry invalid = MakeEntry();
  invalid.labels = Labels{{"job", "test"}, {std::string(kTenantLabel), "not a tenant"}};
  std::mt19937 rng(1);
  invalid.line.clear();
  for (int i = 0; i < 5000; ++i) invalid.line += static_cast<char>('a' + rng() % 26);
  client->Push(std::move(plain));
  client->Push(std::move(invalid));
  ASSERT_TRUE(client->Start().ok());
  ASSERT_TRUE(RunUntil([&] { return Counter(metrics_.sent_entries, {host_}) == 2; }));
  const auto bytes = loki.BodyBytes();
  ASSERT_EQ(bytes.size(), 3u);
  EXPECT_EQ(bytes[0], bytes[1]);  // the retry of the first batch ...
  EXPECT_GT(bytes[2], 4000u);     // ... before the second
  EXPECT_TRUE(client->Stop(seconds(5)));
}

// With the budget full and nothing due, open batches are closed early so that they can be sent,
// but not the open batch of a tenant whose batch waits for a retry: closed, it could only wait
// too, and every wake of the sender would cut it again. Its entries go as one batch once the
// tenant's refused batch is through.
TEST_F(LokiClientClockTest, AFullBudgetDoesNotCutTheOpenBatchOfATenantWaitingForARetry) {
  ScriptedLoki loki(&clock_, {}, {}, {{"slow", {429, 429}}});
  auto client = Make(Config(), loki, /*max_buffered_bytes=*/1);  // always full
  auto tracker = AckTracker::Create(0);
  auto push = [&](uint64_t end) {
    Entry e = MakeEntry();
    e.labels = Labels{{"job", "test"}, {std::string(kTenantLabel), "slow"}};
    e.ack = tracker->Open(end);
    client->Push(std::move(e));
  };
  ASSERT_TRUE(client->Start().ok());
  push(10);
  ASSERT_TRUE(WaitFor([&] { return loki.PostCount() == 1; }));  // refused: waits for a retry
  for (uint64_t end : {20, 30, 40}) {
    push(end);
    // A moment later (the retry is due in 500 ms, the batch in 1 s): the sender has looked at
    // the full budget again since the push once it waits having seen this time.
    clock_.Advance(milliseconds(1));
    ASSERT_TRUE(clock_.AwaitWaiter());
  }
  ASSERT_TRUE(RunUntil([&] { return tracker->Committed() == 40; }));
  std::vector<int> answers;
  for (const auto& [tenant, status] : loki.Answers()) answers.push_back(status);
  EXPECT_EQ(answers, (std::vector<int>{429, 429, 204, 204}));  // the first batch, then the rest
  EXPECT_TRUE(client->Stop(seconds(5)));
}

// For readers of tenants not held back, what held tenants hold beyond half the budget (up to
// another half) does not count: they keep half the budget, and the client holds at most 1.5
// times it. With nothing held it is the plain budget.
TEST(BudgetFull, HeldTenantsBeyondHalfTheBudgetLeaveTheRestToTheOthers) {
  struct Case {
    int64_t buffered, held;
    bool full;
  } cases[] = {
      {99, 0, false},    {100, 0, true},                       // nothing held: the budget
      {100, 50, true},   {99, 50, false},                      // held up to half: counted
      {100, 80, false},  {129, 80, false},  {130, 80, true},   // held beyond half: not counted
      {100, 100, false}, {149, 100, false}, {150, 100, true},  // all held (an outage)
      {150, 150, true},  {149, 149, false},                    // never more than 1.5 times
  };
  for (const Case& c : cases) {
    EXPECT_EQ(BudgetFull(c.buffered, c.held, 100, 50), c.full) << c.buffered << " " << c.held;
  }
  // A reader not read yet gets a quarter: it cannot take the known readers' last quarter.
  EXPECT_FALSE(BudgetFull(124, 100, 100, 25));
  EXPECT_TRUE(BudgetFull(125, 100, 100, 25));
  EXPECT_FALSE(BudgetFull(99, 0, 100, 25));
}

// A tenant whose batch waits for a retry is held back (TenantHeld): its readers wait for the whole
// budget, the others may use what it holds beyond half of it (BudgetFull). Not once Loki takes
// the batch. No tenant and one Loki would refuse share the default lane.
TEST_F(LokiClientClockTest, ATenantWhoseBatchWaitsForARetryIsHeldBack) {
  constexpr uint64_t kAll = ~uint64_t{0};
  auto push = [](LokiClient& client, const std::string& tenant) {
    Entry e;
    e.labels = Labels{{"job", "test"}};
    if (!tenant.empty()) e.labels.Set(kTenantLabel, tenant);
    e.line = "a line";
    client.Push(std::move(e));
  };
  ScriptedLoki loki(&clock_, {}, {}, {{"slow", {429, 429}}, {"", {503}}});
  auto client = Make(Config(), loki);
  ASSERT_TRUE(client->Start().ok());
  push(*client, "slow");
  push(*client, "");
  ASSERT_TRUE(RunUntil([&] { return loki.PostCount() == 2; }));
  ASSERT_TRUE(clock_.AwaitWaiter());
  EXPECT_TRUE(client->TenantHeld("slow", kAll));
  EXPECT_FALSE(client->TenantHeld("slow", 0));  // entries sent to no client of this sink
  EXPECT_FALSE(client->TenantHeld("fast", kAll));
  EXPECT_TRUE(client->TenantHeld("", kAll));
  EXPECT_TRUE(client->TenantHeld("not/valid", kAll));  // sent without a tenant, as ""
  // Loki takes them: nothing is held any more.
  ASSERT_TRUE(RunUntil([&] { return client->BufferedBytes() == 0 && loki.PostCount() == 5; }));
  ASSERT_TRUE(clock_.AwaitWaiter());
  EXPECT_FALSE(client->TenantHeld("slow", kAll));
  EXPECT_FALSE(client->TenantHeld("", kAll));
  EXPECT_TRUE(client->Stop(seconds(5)));
}

}  // namespace
}  // namespace skidder::sink
