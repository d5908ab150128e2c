// GelfSource on loopback with a test sink: plain, compressed and chunked datagrams become
// entries with Promtail's labels; bad datagrams and backpressure are counted, never fatal.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <mutex>
#include <set>

#include "pipeline/pipeline.h"
#include "sources/gelf/gelf_source.h"
#include "support/compress.h"
#include "support/fake_clock.h"
#include "support/gelf_client.h"
#include "support/syslog_client.h"
#include "support/test_util.h"

namespace skidder::sources::gelf {
namespace {

using testing::GelfChunk;
using testing::SendUdp;
using testing::WaitFor;

class CollectingSink : public EntrySink {
 public:
  void PushBatch(std::span<Entry> batch) override {
    std::lock_guard lock(mu_);
    for (Entry& e : batch) entries_.push_back(std::move(e));
  }
  bool Saturated() const override { return saturated_; }
  std::vector<Entry> entries() const {
    std::lock_guard lock(mu_);
    return entries_;
  }
  size_t size() const {
    std::lock_guard lock(mu_);
    return entries_.size();
  }
  std::atomic<bool> saturated_{false};

 private:
  mutable std::mutex mu_;
  std::vector<Entry> entries_;
};

config::RelabelConfig Copy(std::string from, std::string to) {
  config::RelabelConfig rc;
  rc.source_labels = {std::move(from)};
  rc.target_label = std::move(to);
  return rc;
}

class GelfSourceTest : public ::testing::Test {
 protected:
  void Start(bool incoming_timestamp = false, pipeline::Pipeline* pipeline = nullptr,
             const Clock* clock = &SystemClock::Get()) {
    GelfSourceOptions o;
    o.job_name = "g";
    o.config.listen_address = "127.0.0.1:0";
    o.config.use_incoming_timestamp = incoming_timestamp;
    o.config.labels = labels_;
    auto rules = kubernetes::CompileRelabel(rules_);
    ASSERT_TRUE(rules) << rules.error().message();
    o.relabel = *rules;
    o.pipeline = pipeline != nullptr ? pipeline : &pipeline_;
    source_ = std::make_unique<GelfSource>(std::move(o), &sink_, &metrics_, clock);
    ASSERT_TRUE(source_->Start().ok());
    port_ = source_->port();
  }
  double Dropped(const std::string& reason) {
    return metrics_.gelf_dropped.With({"g", reason})->Value();
  }

  Labels labels_{{"job", "gelf"}};
  std::vector<config::RelabelConfig> rules_ = {
      Copy("__gelf_message_host", "host"), Copy("__gelf_message_level", "level"),
      Copy("__gelf_message_facility", "facility"), Copy("__gelf_message_version", "version")};
  pipeline::Pipeline pipeline_{std::vector<std::unique_ptr<pipeline::Stage>>{}};
  // For the limit test; declared before source_, whose thread uses them until it is gone.
  FakeClock clock_;
  std::unique_ptr<pipeline::Pipeline> limited_;
  CollectingSink sink_;
  telemetry::Registry registry_;
  telemetry::AgentMetrics metrics_{registry_};
  std::unique_ptr<GelfSource> source_;
  int port_ = 0;
};

const std::string kMessage =
    R"({"version":"1.1","host":"web-1","short_message":"hello","timestamp":1700000000.5,)"
    R"("level":4,"facility":"billing","_user":"ana"})";

TEST_F(GelfSourceTest, PlainCompressedAndChunkedMessagesArriveWithPromtailsLabels) {
  Start();
  ASSERT_TRUE(SendUdp(port_, kMessage));
  ASSERT_TRUE(SendUdp(port_, testing::Gzip(kMessage)));
  const std::string z = testing::Zlib(kMessage);
  const size_t half = z.size() / 2;
  ASSERT_TRUE(SendUdp(port_, GelfChunk(42, 1, 2, z.substr(half))));  // out of order
  ASSERT_TRUE(SendUdp(port_, GelfChunk(42, 0, 2, z.substr(0, half))));
  ASSERT_TRUE(WaitFor([&] { return sink_.size() >= 3; }));
  const std::string line =
      R"({"version":"1.1","host":"web-1","short_message":"hello","timestamp":1700000000.5,)"
      R"("level":4,"facility":"billing","_user":"ana"})";
  for (const Entry& e : sink_.entries()) {
    EXPECT_EQ(e.line, line);
    EXPECT_EQ(e.labels.ToString(),
              R"({facility="billing", host="web-1", job="gelf", level="warning", version="1.1"})");
    // The receive time, not the message's (use_incoming_timestamp is off).
    EXPECT_GT(e.timestamp_ns, 1'750'000'000'000'000'000);
  }
  // Counted after the hand-off, in the same turn.
  EXPECT_TRUE(WaitFor([&] {
    return metrics_.gelf_entries.With({"g"})->Value() == 3 &&
           metrics_.gelf_promtail_entries.With({})->Value() == 3;
  }));
}

TEST_F(GelfSourceTest, TheMessagesTimestampWithUseIncomingTimestamp) {
  Start(/*incoming_timestamp=*/true);
  ASSERT_TRUE(SendUdp(port_, kMessage));
  ASSERT_TRUE(SendUdp(port_, R"({"short_message":"no time"})"));
  ASSERT_TRUE(WaitFor([&] { return sink_.size() >= 2; }));
  auto entries = sink_.entries();
  EXPECT_EQ(entries[0].timestamp_ns, 1'700'000'000'500'000'000);
  EXPECT_GT(entries[1].timestamp_ns, 1'750'000'000'000'000'000);  // none given: received
  // No host or facility: no such labels. No level is level 0, "emergency", as in Promtail
  // (go-gelf reads an absent level as 0).
  EXPECT_EQ(entries[1].labels.ToString(), R"({job="gelf", level="emergency"})");
}

// relabel_configs' drop drops; a message left with no labels goes on to the pipeline, as in
// Promtail (a stage may add labels; the client drops one that still has none).
TEST_F(GelfSourceTest, ADropRuleDropsAndAMessageWithoutLabelsGoesOn) {
  labels_ = Labels();
  config::RelabelConfig drop;
  drop.source_labels = {"__gelf_message_level"};
  drop.action = "drop";
  drop.regex = "debug";
  rules_ = {drop};
  Start();
  ASSERT_TRUE(SendUdp(port_, R"({"short_message":"dropped","level":7})"));
  ASSERT_TRUE(SendUdp(port_, R"({"short_message":"kept","level":4})"));
  ASSERT_TRUE(WaitFor([&] { return sink_.size() == 1 && Dropped("relabel") == 1; }));
  const Entry e = sink_.entries()[0];
  EXPECT_NE(e.line.find("kept"), std::string::npos);
  EXPECT_TRUE(e.labels.empty());
}

TEST_F(GelfSourceTest, BadDatagramsAreCountedAndTheListenerGoesOn) {
  Start();
  ASSERT_TRUE(SendUdp(port_, "not json"));
  ASSERT_TRUE(SendUdp(port_, R"({"level":"high"})"));
  ASSERT_TRUE(SendUdp(port_, GelfChunk(1, 5, 2, "x")));
  ASSERT_TRUE(SendUdp(port_, testing::Gzip(kMessage).substr(0, 20)));
  ASSERT_TRUE(SendUdp(port_, kMessage));
  ASSERT_TRUE(WaitFor([&] { return sink_.size() >= 1; }));
  ASSERT_TRUE(WaitFor([&] {
    return Dropped("invalid") == 3 && Dropped("chunk") == 1 &&
           metrics_.gelf_promtail_errors.With({})->Value() == 4;
  }));
  EXPECT_EQ(sink_.size(), 1u);
}

TEST_F(GelfSourceTest, WhileTheSinkIsBackedUpDatagramsAreCountedAsDropped) {
  Start();
  sink_.saturated_ = true;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(SendUdp(port_, kMessage));
  ASSERT_TRUE(WaitFor([&] { return Dropped("saturated") == 5; }));
  sink_.saturated_ = false;
  ASSERT_TRUE(SendUdp(port_, kMessage));
  ASSERT_TRUE(WaitFor([&] { return sink_.size() == 1; }));
  EXPECT_GT(metrics_.gelf_bytes.With({"g"})->Value(), 6.0 * 100);
}

// A `limit` stage without `drop` waiting for its rate: UDP cannot wait, so what arrives is
// counted and dropped, as for syslog over UDP.
TEST_F(GelfSourceTest, DatagramsOverALimitWithoutDropAreCounted) {
  auto p = pipeline::Pipeline::Build(
      {config::StageConfig{"limit", YAML::Load("{rate: 1, burst: 1}"), "t.yaml"}}, {});
  ASSERT_TRUE(p.has_value());
  limited_ = std::move(*p);
  Start(false, limited_.get(), &clock_);  // the clock stands still: no new token
  ASSERT_TRUE(WaitFor([&] {
    SendUdp(port_, kMessage);
    return Dropped("rate_limited") >= 1;
  }));
  EXPECT_EQ(sink_.size(), 1u);  // the burst's one token
}

// The relabel outcome is cached by the meta labels' values: each sender keeps its own labels.
TEST_F(GelfSourceTest, EachHostAndLevelKeepsItsOwnLabels) {
  Start();
  for (int i = 0; i < 3; ++i) {
    for (const char* host : {"a", "b"}) {
      ASSERT_TRUE(SendUdp(
          port_, fmt::format(R"({{"host":"{}","level":{},"short_message":"{}"}})", host, i, host)));
    }
  }
  ASSERT_TRUE(WaitFor([&] { return sink_.size() == 6; }));
  const char* levels[] = {"emergency", "alert", "critical"};
  std::multiset<std::string> got, want;
  for (const Entry& e : sink_.entries()) got.insert(e.labels.ToString());
  for (const char* level : levels) {
    for (const char* host : {"a", "b"}) {
      want.insert(fmt::format(R"({{host="{}", job="gelf", level="{}"}})", host, level));
    }
  }
  EXPECT_EQ(got, want);
}

TEST_F(GelfSourceTest, TheLargestDatagramIsReadWhole) {
  Start();
  const std::string text(60000, 'x');
  ASSERT_TRUE(SendUdp(port_, R"({"short_message":")" + text + R"("})"));
  ASSERT_TRUE(WaitFor([&] { return sink_.size() == 1; }));
  EXPECT_NE(sink_.entries()[0].line.find(text), std::string::npos);
}

}  // namespace
}  // namespace skidder::sources::gelf
