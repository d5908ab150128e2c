// The cardinality guard: limits_config.max_streams (Promtail's per-batch stream cap) and
// limits_config.max_label_value_length (skidder's own check of Loki's limit), in the batcher and
// through a LokiClient against FakeLoki.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "sink/loki/batcher.h"
#include "sink/loki/client.h"
#include "sink/loki/entry_checks.h"
#include "support/fake_clock.h"
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

bool Admits(const Batcher& batcher, const std::string& tenant, const Entry& e) {
  return batcher.Admits(tenant, e.labels, e.line.size());
}

void Add(Batcher& batcher, const Entry& e, std::deque<Batch>* ready, const FakeClock& clock) {
  int64_t memory = 0;
  batcher.Add("", e.labels, e, e.line, e.ack, clock.Steady(), ready, &memory);
}

TEST(BatcherStreams, NewStreamsBeyondMaxStreamsAreNotAdmittedToTheOpenBatch) {
  FakeClock clock;
  Batcher batcher(1 << 20, std::chrono::seconds(1));
  batcher.set_max_streams(2);
  std::deque<Batch> ready;
  for (const char* s : {"a", "b"}) {
    Entry e = StreamEntry(s, "x");
    ASSERT_TRUE(Admits(batcher, "", e));
    Add(batcher, e, &ready, clock);
  }
  EXPECT_FALSE(Admits(batcher, "", StreamEntry("c", "x")));
  EXPECT_TRUE(Admits(batcher, "", StreamEntry("a", "more of a")));      // an existing stream
  EXPECT_TRUE(Admits(batcher, "other-tenant", StreamEntry("c", "x")));  // a batch per tenant
  batcher.CloseAll(&ready);
  EXPECT_TRUE(Admits(batcher, "", StreamEntry("c", "x")));  // the next batch starts empty
}

TEST(BatcherStreams, AnEntryThatClosesTheBatchBySizeStartsTheNextOneAndIsAdmitted) {
  FakeClock clock;
  Batcher batcher(4, std::chrono::seconds(1));
  batcher.set_max_streams(1);
  std::deque<Batch> ready;
  Add(batcher, StreamEntry("a", "aaa"), &ready, clock);
  EXPECT_FALSE(Admits(batcher, "", StreamEntry("b", "b")));  // 4 bytes: fits, new stream
  EXPECT_TRUE(Admits(batcher, "", StreamEntry("b", "bb")));  // 5 bytes: a new batch
}

TEST(BatcherStreams, ZeroMeansNoLimit) {
  FakeClock clock;
  Batcher batcher(1 << 20, std::chrono::seconds(1));
  std::deque<Batch> ready;
  for (int i = 0; i < 1000; ++i) {
    Entry e = StreamEntry(std::to_string(i), "x");
    ASSERT_TRUE(Admits(batcher, "", e));
    Add(batcher, e, &ready, clock);
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
    auto client = LokiClient::Create(cfg, opts, &metrics_);
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

double Shortened(telemetry::AgentMetrics& m, const std::string& host) {
  return m.truncated_label_values.With({host})->Value();
}

// Loki would refuse the whole push for one over-long value; dropping the entry would lose a line
// still on disk. The value is shortened instead, and two long values stay two streams.
TEST_F(ClientLimits, OverlongLabelValuesAreShortenedKeepingEntriesAndStreamsDistinct) {
  ClientOptions opts;
  opts.max_label_value_length = 16;
  auto client = Make(opts, milliseconds(20));
  ASSERT_TRUE(client->Start().ok());
  const std::string prefix = "abcdefgh";
  client->Push(StreamEntry(prefix + "-first-very-long", "first"));
  client->Push(StreamEntry(prefix + "-second-very-long", "second"));
  client->Push(StreamEntry(std::string(16, 'y'), "fits"));  // exactly the limit: untouched
  ASSERT_TRUE(loki_.WaitForLines(3));
  ASSERT_TRUE(client->Stop(std::chrono::seconds(5)));
  std::map<std::string, std::string> stream_of;
  for (const auto& e : loki_.Entries()) stream_of[e.line] = e.labels;
  EXPECT_EQ(stream_of["fits"], R"({job="a", stream_id="yyyyyyyyyyyyyyyy"})");
  EXPECT_TRUE(stream_of["first"].starts_with(R"({job="a", stream_id="abcdefg~)"))
      << stream_of["first"];
  EXPECT_EQ(stream_of["first"].size(), std::string(R"({job="a", stream_id=""})").size() + 16);
  EXPECT_NE(stream_of["first"], stream_of["second"]);
  EXPECT_EQ(Shortened(metrics_, host()), 2);
  EXPECT_EQ(metrics_.dropped_entries.With({host(), "label_value_too_long"})->Value(), 0);
}

TEST_F(ClientLimits, ExternalLabelsCountTowardsTheLabelValueLimit) {
  ClientOptions opts;
  opts.max_label_value_length = 4;
  config::ClientConfig cfg;
  cfg.url = loki_.url();
  cfg.batchwait = milliseconds(20);
  cfg.external_labels = Labels{{"cluster", "production"}};
  auto client = LokiClient::Create(cfg, opts, &metrics_);
  ASSERT_TRUE(client.has_value());
  ASSERT_TRUE((*client)->Start().ok());
  (*client)->Push(StreamEntry("a", "line"));
  ASSERT_TRUE(loki_.WaitForLines(1));
  EXPECT_EQ(loki_.Entries()[0].labels, R"({cluster="prod", job="a", stream_id="a"})");
  EXPECT_EQ(Shortened(metrics_, host()), 1);
}

TEST(ShortenLabelValue, CutsOnACodePointBoundaryAndAddsAStableHash) {
  std::string v = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";  // 6 x U+00E9, 12 bytes
  ASSERT_TRUE(ShortenLabelValue(&v, 11));
  EXPECT_EQ(v.substr(0, 2), "\xc3\xa9");  // 2 bytes fit before the 9-byte suffix, not 3
  EXPECT_EQ(v.size(), 11u);
  EXPECT_EQ(v[2], '~');
  std::string again = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";
  ShortenLabelValue(&again, 11);
  EXPECT_EQ(v, again);
  std::string fits = "short";
  EXPECT_FALSE(ShortenLabelValue(&fits, 5));
  EXPECT_EQ(fits, "short");
}

TEST(ValidTenantId, AcceptsLokisAlphabetOnly) {
  EXPECT_TRUE(ValidTenantId("team-b"));
  EXPECT_TRUE(ValidTenantId("a.b_c*d'e(f)!"));
  EXPECT_FALSE(ValidTenantId(""));
  EXPECT_FALSE(ValidTenantId("."));
  EXPECT_FALSE(ValidTenantId(".."));
  EXPECT_FALSE(ValidTenantId("team-b\rX-Injected: 1"));
  EXPECT_FALSE(ValidTenantId("\x01\x02"));
  EXPECT_FALSE(ValidTenantId("a|b"));
  EXPECT_FALSE(ValidTenantId(std::string(151, 'a')));
  EXPECT_TRUE(ValidTenantId(std::string(150, 'a')));
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
