// remote.kubernetes.secret's polling: every poll_frequency the Secret is read again, and a change
// asks for one reload; an unchanged Secret or a failing API server asks for none; a refused
// reload has the change asked for again, less often; a stop ends a read in progress.
#include "app/secret_poller.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "support/fake_clock.h"
#include "support/test_util.h"

namespace skidder::app {
namespace {

using Data = std::map<std::string, std::string>;
using testing::WaitFor;

// The API server's Secrets, changed by the test while the poller reads them.
class FakeSecrets {
 public:
  void Set(const std::string& name, Data data) {
    std::lock_guard lock(mu_);
    data_[name] = std::move(data);
  }
  void Fail(bool fail) {
    std::lock_guard lock(mu_);
    fail_ = fail;
  }
  // Reads wait (until Release() or the poller's cancel) once this is set: a read under way.
  void Block(bool block) {
    std::lock_guard lock(mu_);
    block_ = block;
  }
  int Reads(const std::string& name) {
    std::lock_guard lock(mu_);
    return reads_[name];
  }
  int Blocked() {
    std::lock_guard lock(mu_);
    return blocked_;
  }
  bool SawCancel() {
    std::lock_guard lock(mu_);
    return saw_cancel_;
  }
  SecretPoller::Reader Reader() {
    return [this](const config::SecretRef& r, const std::atomic<bool>* cancel) -> Result<Data> {
      std::unique_lock lock(mu_);
      ++reads_[r.name];
      if (block_) {
        ++blocked_;
        // Until released or cancelled; a minute at most, so a cancel that does not work fails
        // the test instead of hanging it.
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(1);
        auto cancelled = [&] { return cancel != nullptr && cancel->load(); };
        while (block_ && !cancelled() && std::chrono::steady_clock::now() < give_up) {
          lock.unlock();
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
          lock.lock();
        }
        if (cancelled()) {
          saw_cancel_ = true;
          return Err(Status(StatusCode::kUnavailable, "cancelled"));
        }
      }
      if (fail_) return Err(Status(StatusCode::kUnavailable, "API server down"));
      return data_.at(r.name);
    };
  }

 private:
  std::mutex mu_;
  std::map<std::string, Data> data_;
  std::map<std::string, int> reads_;
  bool fail_ = false;
  bool block_ = false;
  int blocked_ = 0;
  bool saw_cancel_ = false;
};

PolledSecret Polled(const std::string& name, Data data,
                    std::chrono::milliseconds every = std::chrono::milliseconds(10)) {
  PolledSecret s;
  s.ref.namespace_name = "monitoring";
  s.ref.name = name;
  s.ref.poll_frequency = every;
  s.data = std::move(data);
  return s;
}

class SecretPollerTest : public ::testing::Test {
 protected:
  FakeSecrets api_;
  std::atomic<int> changes_{0};
  SecretPoller poller_{api_.Reader(), [this] { ++changes_; }};
};

TEST_F(SecretPollerTest, AnUnchangedSecretAsksForNoReload) {
  api_.Set("loki", {{"password", "b2xk"}});
  poller_.Update({Polled("loki", {{"password", "b2xk"}})});
  ASSERT_TRUE(WaitFor([&] { return api_.Reads("loki") >= 5; }));
  EXPECT_EQ(changes_.load(), 0);
}

TEST_F(SecretPollerTest, AChangeAsksForOneReload) {
  api_.Set("loki", {{"password", "b2xk"}});
  poller_.Update({Polled("loki", {{"password", "b2xk"}})});
  ASSERT_TRUE(WaitFor([&] { return api_.Reads("loki") >= 2; }));
  api_.Set("loki", {{"password", "bmV3"}});
  ASSERT_TRUE(WaitFor([&] { return changes_.load() == 1; }));
  // The new data is remembered: later polls of it ask for nothing more, even when the reload
  // they asked for never comes (refused) and nothing updates the poller.
  const int reads = api_.Reads("loki");
  ASSERT_TRUE(WaitFor([&] { return api_.Reads("loki") >= reads + 5; }));
  EXPECT_EQ(changes_.load(), 1);
  // A key added is a change too.
  api_.Set("loki", {{"password", "bmV3"}, {"username", "dXNlcg=="}});
  ASSERT_TRUE(WaitFor([&] { return changes_.load() == 2; }));
}

TEST_F(SecretPollerTest, AFailingApiServerAsksForNoReloadAndIsPolledAgain) {
  api_.Set("loki", {{"password", "b2xk"}});
  api_.Fail(true);
  poller_.Update({Polled("loki", {{"password", "b2xk"}})});
  ASSERT_TRUE(WaitFor([&] { return api_.Reads("loki") >= 3; }));
  EXPECT_EQ(changes_.load(), 0);
  api_.Set("loki", {{"password", "bmV3"}});
  api_.Fail(false);
  ASSERT_TRUE(WaitFor([&] { return changes_.load() == 1; }));
}

TEST_F(SecretPollerTest, AnUpdateReplacesWhatIsPolled) {
  api_.Set("old", {{"k", "MQ=="}});
  api_.Set("new", {{"k", "Mg=="}});
  poller_.Update({Polled("old", {{"k", "MQ=="}})});
  ASSERT_TRUE(WaitFor([&] { return api_.Reads("old") >= 2; }));
  // The reloaded config reads "new" (with the data the reload got): "old" is not polled again.
  poller_.Update({Polled("new", {{"k", "Mg=="}})});
  ASSERT_TRUE(WaitFor([&] { return api_.Reads("new") >= 1; }));
  const int old_reads = api_.Reads("old");
  ASSERT_TRUE(WaitFor([&] { return api_.Reads("new") >= 5; }));
  EXPECT_LE(api_.Reads("old"), old_reads + 1);  // at most the poll already under way
  EXPECT_EQ(changes_.load(), 0);
}

TEST_F(SecretPollerTest, TwoComponentsReadingOneSecretAskForOneReloadPerChange) {
  api_.Set("loki", {{"password", "b2xk"}});
  poller_.Update({Polled("loki", {{"password", "b2xk"}}, std::chrono::milliseconds(10)),
                  Polled("loki", {{"password", "b2xk"}}, std::chrono::milliseconds(15))});
  ASSERT_TRUE(WaitFor([&] { return api_.Reads("loki") >= 3; }));
  api_.Set("loki", {{"password", "bmV3"}});
  ASSERT_TRUE(WaitFor([&] { return changes_.load() == 1; }));
  const int reads = api_.Reads("loki");
  ASSERT_TRUE(WaitFor([&] { return api_.Reads("loki") >= reads + 6; }));
  EXPECT_EQ(changes_.load(), 1) << "the other reader still compared against the old data";
}

// The reload a change asked for was refused (a config file broken meanwhile, a port taken): the
// running config still has the old data, so the change is asked for again, but each refusal in
// a row doubles the time between polls, up to an hour; a reload that succeeds ends that. On a
// fake clock: each poll comes exactly when due, and not a moment before.
TEST_F(SecretPollerTest, ARefusedReloadIsAskedForAgainLessAndLessOften) {
  FakeClock clock;
  SecretPoller poller(
      api_.Reader(), [this] { ++changes_; }, clock);
  const Data old_data = {{"password", "b2xk"}};
  const std::chrono::milliseconds every(25);
  const Clock::SteadyTime::duration tick = std::chrono::milliseconds(1);
  // True once the poller waits for its next poll exactly `in` from now.
  auto next_poll_in = [&](Clock::SteadyTime::duration in) {
    const Clock::SteadyTime at = clock.Steady() + in;
    return WaitFor([&] { return clock.NextWakeup() == at; });
  };
  api_.Set("loki", {{"password", "bmV3"}});
  poller.Update({Polled("loki", old_data, every)});
  // 25 ms doubled 18 times is past the hour: the last rounds wait the hour.
  Clock::SteadyTime::duration interval = every;
  for (int refusals = 0; refusals <= 20; ++refusals) {
    interval = std::min<Clock::SteadyTime::duration>(every * (int64_t{1} << refusals),
                                                     SecretPoller::kMaxBackoff);
    ASSERT_TRUE(next_poll_in(interval)) << refusals << " refusals";
    const int reads = api_.Reads("loki");
    clock.Advance(interval - tick);
    ASSERT_TRUE(clock.AwaitWaiter());  // the poller has seen that moment, and waits on
    EXPECT_EQ(api_.Reads("loki"), reads) << "polled early after " << refusals << " refusals";
    clock.Advance(tick);
    ASSERT_TRUE(WaitFor([&] { return changes_.load() == refusals + 1; })) << refusals;
    // A tick later, so that the poll this hand-over times is told from the one the poller timed
    // before it (once the time between polls is capped, both are an hour away).
    clock.Advance(tick);
    poller.Refused({Polled("loki", old_data, every)});
  }
  EXPECT_EQ(interval, SecretPoller::kMaxBackoff);
  // Applied at last: polled every 25 ms again, with nothing more to ask.
  poller.Update({Polled("loki", {{"password", "bmV3"}}, every)});
  ASSERT_TRUE(next_poll_in(every));
  const int asked = changes_.load();
  for (int i = 0; i < 3; ++i) {
    const int reads = api_.Reads("loki");
    clock.Advance(every);
    ASSERT_TRUE(WaitFor([&] { return api_.Reads("loki") == reads + 1; }));
    ASSERT_TRUE(next_poll_in(every));
  }
  EXPECT_EQ(changes_.load(), asked);
}

// An operator's reload read the rotated Secret while a poll of the old list was under way: that
// poll's news is already applied and asks for no second reload.
TEST_F(SecretPollerTest, APollUnderWayWhenAReloadHandsOverAsksForNothing) {
  api_.Set("loki", {{"password", "b2xk"}});
  poller_.Update({Polled("loki", {{"password", "b2xk"}})});
  api_.Block(true);
  ASSERT_TRUE(WaitFor([&] { return api_.Blocked() == 1; }));
  api_.Set("loki", {{"password", "bmV3"}});
  poller_.Update({Polled("loki", {{"password", "bmV3"}})});  // what the reload read
  api_.Block(false);
  const int reads = api_.Reads("loki");
  ASSERT_TRUE(WaitFor([&] { return api_.Reads("loki") >= reads + 5; }));
  EXPECT_EQ(changes_.load(), 0);
}

TEST_F(SecretPollerTest, StopCancelsAReadUnderWay) {
  api_.Set("loki", {{"password", "b2xk"}});
  api_.Block(true);
  poller_.Update({Polled("loki", {{"password", "b2xk"}})});
  ASSERT_TRUE(WaitFor([&] { return api_.Blocked() == 1; }));
  const auto start = std::chrono::steady_clock::now();
  poller_.Stop();  // returns: the read does not run to its poll_timeout
  EXPECT_TRUE(api_.SawCancel());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  EXPECT_EQ(changes_.load(), 0);
}

TEST_F(SecretPollerTest, StopEndsAWaitOfAnHour) {
  api_.Set("loki", {{"password", "b2xk"}});
  poller_.Update({Polled("loki", {{"password", "b2xk"}}, std::chrono::hours(1))});
  poller_.Stop();  // returns: the thread does not sleep its hour out
  EXPECT_EQ(api_.Reads("loki"), 0);
  poller_.Update({Polled("loki", {{"password", "b2xk"}})});  // stopped: ignored
  EXPECT_EQ(api_.Reads("loki"), 0);
}

}  // namespace
}  // namespace skidder::app
