// The cardinality guard: limits_config.max_streams (Promtail's per-batch stream cap) and
// limits_config.max_label_value_length (skidder's own check of Loki's limit), in the batcher and
// through a LokiClient against FakeLoki.
#include <gtest/gtest.h>

#include <set>

#include "sink/loki/batcher.h"
#include "sink/loki/client.h"
#include "support/fake_loki.h"
#include "support/test_util.h"
#include "util/clock.h"

namespace skidder::sink {
namespace {

using std::chrono::milliseconds;

Entry StreamEntry(const std::string& stream, std::string line) {
  Entry e;
  e.labels = Labels{{"job", "a"}, {"stream_id", stream}};
  e.line = std::move(line);
  return e;
}

TEST(BatcherStreams, NewStreamsBeyondMaxStreamsAreNotAdmittedToTheOpenBatch) {
  FakeClock clock;
  Batcher batcher(1 << 20, std::chrono::seconds(1));
  batcher.set_max_streams(2);
  std::deque<Batch> ready;
  for (const char* s : {"a", "b"}) {
    Entry e = StreamEntry(s, "x");
    ASSERT_TRUE(batcher.Admits("", e));
    batcher.Add("", std::move(e), 1, clock.Steady(), &ready);
  }
  EXPECT_FALSE(batcher.Admits("", StreamEntry("c", "x")));
  EXPECT_TRUE(batcher.Admits("", StreamEntry("a", "more of a")));      // an existing stream
  EXPECT_TRUE(batcher.Admits("other-tenant", StreamEntry("c", "x")));  // a batch per tenant
  batcher.CloseAll(&ready);
  EXPECT_TRUE(batcher.Admits("", StreamEntry("c", "x")));  // the next batch starts empty
}

TEST(BatcherStreams, AnEntryThatClosesTheBatchBySizeStartsTheNextOneAndIsAdmitted) {
  FakeClock clock;
  Batcher batcher(4, std::chrono::seconds(1));
  batcher.set_max_streams(1);
  std::deque<Batch> ready;
  batcher.Add("", StreamEntry("a", "aaa"), 1, clock.Steady(), &ready);
  EXPECT_FALSE(batcher.Admits("", StreamEntry("b", "b")));  // 4 bytes: fits, new stream
  EXPECT_TRUE(batcher.Admits("", StreamEntry("b", "bb")));  // 5 bytes: a new batch
}

TEST(BatcherStreams, ZeroMeansNoLimit) {
  FakeClock clock;
  Batcher batcher(1 << 20, std::chrono::seconds(1));
  std::deque<Batch> ready;
  for (int i = 0; i < 1000; ++i) {
    Entry e = StreamEntry(std::to_string(i), "x");
    ASSERT_TRUE(batcher.Admits("", e));
    batcher.Add("", std::move(e), 1, clock.Steady(), &ready);
  }
}

class ClientLimits : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(loki_.Start()); }

  std::unique_ptr<LokiClient> Make(ClientOptions opts, milliseconds batchwait) {
    config::ClientConfig cfg;
    cfg.url = loki_.url();
    cfg.batchwait = batchwait;
    cfg.timeout = std::chrono::seconds(5);
    opts.seed = 1;
    auto client = LokiClient::Create(cfg, opts, &metrics_, &SystemClock::Get());
    EXPECT_TRUE(client.has_value()) << client.error().ToString();
    return client ? std::move(*client) : nullptr;
  }
  double Dropped(const char* reason) {
    return metrics_.dropped_entries.With({host(), reason})->Value();
  }
  std::string host() const { return "127.0.0.1:" + std::to_string(loki_.port()); }

  testing::FakeLoki loki_;
  telemetry::Registry registry_;
  telemetry::AgentMetrics metrics_{registry_};
};

TEST_F(ClientLimits, EntriesWithAnOverlongLabelValueAreDroppedAndCountedTheRestIsSent) {
  ClientOptions opts;
  opts.max_label_value_length = 16;
  auto client = Make(opts, milliseconds(20));
  ASSERT_TRUE(client->Start().ok());
  client->Push(StreamEntry(std::string(17, 'x'), "bad line"));
  client->Push(StreamEntry(std::string(16, 'y'), "good line"));  // exactly the limit: fine
  ASSERT_TRUE(loki_.WaitForLines(1));
  ASSERT_TRUE(client->Stop(std::chrono::seconds(5)));
  EXPECT_EQ(loki_.Lines(), std::vector<std::string>{"good line"});
  EXPECT_EQ(Dropped(telemetry::kReasonLabelValueTooLong), 1);
  EXPECT_EQ(metrics_.dropped_bytes.With({host(), telemetry::kReasonLabelValueTooLong})->Value(), 8);
}

TEST_F(ClientLimits, ExternalLabelsCountTowardsTheLabelValueLimit) {
  ClientOptions opts;
  opts.max_label_value_length = 4;
  config::ClientConfig cfg;
  cfg.url = loki_.url();
  cfg.batchwait = milliseconds(20);
  cfg.external_labels = Labels{{"cluster", "production"}};
  auto client = LokiClient::Create(cfg, opts, &metrics_, &SystemClock::Get());
  ASSERT_TRUE(client.has_value());
  (*client)->Push(StreamEntry("a", "line"));
  EXPECT_EQ(Dropped(telemetry::kReasonLabelValueTooLong), 1);
}

TEST_F(ClientLimits, StreamsBeyondMaxStreamsInABatchAreDroppedAsPromtailDoes) {
  ClientOptions opts;
  opts.max_streams = 3;
  // A long batchwait: all pushes land in one batch, as in a burst from a bad relabel rule.
  auto client = Make(opts, milliseconds(60'000));
  ASSERT_TRUE(client->Start().ok());
  for (int i = 0; i < 10; ++i)
    client->Push(StreamEntry(std::to_string(i), "l" + std::to_string(i)));
  client->Push(StreamEntry("0", "again"));             // an admitted stream keeps its entries
  ASSERT_TRUE(client->Stop(std::chrono::seconds(5)));  // flushes the open batch
  std::set<std::string> streams;
  for (const auto& e : loki_.Entries()) streams.insert(e.labels);
  EXPECT_EQ(streams.size(), 3u);
  auto lines = loki_.Lines();  // grouped by stream in the push, so compared as a set
  EXPECT_EQ(std::multiset<std::string>(lines.begin(), lines.end()),
            (std::multiset<std::string>{"l0", "l1", "l2", "again"}));
  EXPECT_EQ(Dropped(telemetry::kReasonStreamLimited), 7);
}

}  // namespace
}  // namespace skidder::sink
