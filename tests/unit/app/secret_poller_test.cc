// remote.kubernetes.secret's polling: every poll_frequency the Secret is read again, and a change
// asks for one reload; an unchanged Secret or a failing API server asks for none.
#include "app/secret_poller.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>

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
  int Reads(const std::string& name) {
    std::lock_guard lock(mu_);
    return reads_[name];
  }
  config::SecretReader Reader() {
    return [this](const config::SecretRef& r) -> Result<Data> {
      std::lock_guard lock(mu_);
      ++reads_[r.name];
      if (fail_) return Err(Status(StatusCode::kUnavailable, "API server down"));
      return data_.at(r.name);
    };
  }

 private:
  std::mutex mu_;
  std::map<std::string, Data> data_;
  std::map<std::string, int> reads_;
  bool fail_ = false;
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

TEST_F(SecretPollerTest, OneSecretReadByTwoComponentsIsOnePollAtTheShorterFrequency) {
  api_.Set("loki", {{"password", "b2xk"}});
  poller_.Update({Polled("loki", {{"password", "b2xk"}}, std::chrono::hours(1)),
                  Polled("loki", {{"password", "b2xk"}}, std::chrono::milliseconds(10))});
  ASSERT_TRUE(WaitFor([&] { return api_.Reads("loki") >= 3; }));
  api_.Set("loki", {{"password", "bmV3"}});
  ASSERT_TRUE(WaitFor([&] { return changes_.load() == 1; }));
  const int reads = api_.Reads("loki");
  ASSERT_TRUE(WaitFor([&] { return api_.Reads("loki") >= reads + 3; }));
  EXPECT_EQ(changes_.load(), 1);  // one remembered copy, not a second one still on the old data
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
