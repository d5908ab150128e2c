// KubeEventsSource against FakeKubeApi (HTTPS, bearer token): events listed and watched become
// entries once each, through relists and restarts, with Alloy's labels.
#include "sources/kube_events/kube_events_source.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "support/fake_kube_api.h"
#include "support/test_util.h"
#include "telemetry/agent_metrics.h"
#include "unit/sources/fake_sink.h"

namespace skidder::sources::kube_events {
namespace {

using namespace std::chrono_literals;
using skidder::testing::EventFields;
using skidder::testing::EventJson;
using skidder::testing::FakeKubeApi;
using skidder::testing::TempDir;
using skidder::testing::WaitFor;

EventFields At(const std::string& last_timestamp, const std::string& reason = "Started",
               int count = 1) {
  EventFields f;
  f.last_timestamp = last_timestamp;
  f.reason = reason;
  f.count = count;
  return f;
}

class KubeEventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    api_ = std::make_unique<FakeKubeApi>(dir_.path(), "token-1");
    skidder::testing::WriteFile(dir_ / "token", "token-1\n");
    cfg_.api_server = api_->url();
    cfg_.bearer_token_file = dir_ / "token";
    cfg_.tls_config.ca_file = api_->ca_file();
    cfg_.labels = Labels{{"job", "loki.source.kubernetes_events"},
                         {"instance", "loki.source.kubernetes_events.cluster"}};
    positions_ = NewPositions();
  }
  void TearDown() override { Stop(); }

  static kubernetes::DiscoveryOptions DiscoveryOptions() {
    kubernetes::DiscoveryOptions d;
    d.env = kubernetes::DiscoveryEnv{};
    d.backoff_min = 20ms;
    d.backoff_max = 200ms;
    return d;
  }

  std::unique_ptr<Positions> NewPositions() {
    return std::make_unique<Positions>(dir_ / "positions.json", false, &metrics_);
  }

  void Start(std::vector<config::RelabelConfig> relabel = {}) {
    auto rules = kubernetes::CompileRelabel(relabel);
    ASSERT_TRUE(rules.has_value());
    KubeEventsOptions o;
    o.job_name = "events";
    o.config = cfg_;
    o.relabel = std::move(*rules);
    o.pipeline = &pipe_;
    o.discovery = discovery_;
    source_ = std::make_unique<KubeEventsSource>(std::move(o), positions_.get(), &sink_, &metrics_,
                                                 &SystemClock::Get());
    Status st = source_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  void Stop() {
    if (source_) source_->Stop();
    source_.reset();
  }
  // Stops as the agent does (sources stopped, then positions synced and saved) and starts again
  // from the file.
  void Restart() {
    source_->Stop();
    source_->SyncPositions();
    Stop();
    ASSERT_TRUE(positions_->Save().ok());
    positions_ = NewPositions();
    Start();
  }
  bool WaitCount(size_t n) {
    return WaitFor([&] { return sink_.Count() >= n; }, 10s);
  }
  std::vector<std::string> Reasons() {
    std::vector<std::string> out;
    for (const std::string& line : sink_.Lines()) {
      const size_t at = line.find("reason=");
      out.push_back(at == std::string::npos ? line
                                            : line.substr(at + 7, line.find(' ', at) - at - 7));
    }
    return out;
  }
  // Syncs until the position under `key` is `us` (microseconds since the epoch).
  bool WaitPosition(const std::string& key, const std::string& us) {
    return WaitFor(
        [&] {
          source_->SyncPositions();
          return positions_->GetCursor(key) == std::optional<std::string>(us);
        },
        10s);
  }
  double Skipped(const std::string& reason) {
    return metrics_.kube_events_skipped.With({"events", reason})->Value();
  }
  int Lists() {
    int n = 0;
    for (const auto& r : api_->requests()) n += r.params.count("watch") == 0 && r.authorized;
    return n;
  }

  TempDir dir_;
  std::unique_ptr<FakeKubeApi> api_;
  telemetry::Registry registry_;
  telemetry::AgentMetrics metrics_{registry_};
  config::KubernetesEventsConfig cfg_;
  kubernetes::DiscoveryOptions discovery_ = DiscoveryOptions();
  std::unique_ptr<Positions> positions_;
  sources::testing::FakeSink sink_;
  pipeline::Pipeline pipe_{std::vector<std::unique_ptr<pipeline::Stage>>{}};
  std::unique_ptr<KubeEventsSource> source_;
};

TEST_F(KubeEventsTest, ListedAndWatchedEventsBecomeEntriesWithAlloysLabels) {
  api_->AddObject("events", EventJson("shop", "web-1.a", At("2026-12-06T04:00:00Z", "Pulled")));
  Start();
  ASSERT_TRUE(WaitCount(1));
  api_->AddObject("events", EventJson("shop", "web-1.b", At("2026-12-06T04:00:02Z", "Started")));
  ASSERT_TRUE(WaitCount(2));
  // The same event seen again (its count went up): a new line, as in Alloy.
  api_->AddObject("events", EventJson("shop", "web-1.a", At("2026-12-06T04:00:05Z", "Pulled", 2)));
  ASSERT_TRUE(WaitCount(3));
  api_->DeleteObject("events", EventJson("shop", "web-1.b"));  // expired: nothing to say

  EventFields node;
  node.kind = "Node";
  node.object = "node-1";
  node.object_namespace = "";
  node.reason = "NodeNotReady";
  api_->AddObject("events", EventJson("default", "node-1.c", node));
  ASSERT_TRUE(WaitCount(4));

  const std::vector<Entry> entries = sink_.Take();
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].labels, (Labels{{"instance", "loki.source.kubernetes_events.cluster"},
                                       {"job", "loki.source.kubernetes_events"},
                                       {"namespace", "shop"}}));
  EXPECT_EQ(entries[0].timestamp_ns, 1796529600000000000);
  EXPECT_NE(entries[0].line.find("name=web-1 kind=Pod"), std::string::npos) << entries[0].line;
  EXPECT_NE(entries[2].line.find("reason=Pulled type=Normal count=2 "), std::string::npos)
      << entries[2].line;
  EXPECT_EQ(entries[2].timestamp_ns, 1796529605000000000);
  EXPECT_EQ(entries[3].labels.Get("namespace"), nullptr) << "a node's event has no namespace";
  for (const auto& r : api_->requests()) EXPECT_EQ(r.path, "/api/v1/events");
  EXPECT_EQ(metrics_.kube_events.With({"events"})->Value(), 4);
}

TEST_F(KubeEventsTest, ARelistAfterGoneOrAnOutageRepeatsNothing) {
  api_->AddObject("events", EventJson("shop", "a", At("2026-12-06T04:00:00Z", "One")));
  api_->AddObject("events", EventJson("shop", "b", At("2026-12-06T04:00:01Z", "Two")));
  Start();
  ASSERT_TRUE(WaitCount(2));
  api_->ExpireWatches();
  ASSERT_TRUE(WaitFor([&] { return Lists() >= 2; }, 10s));
  api_->FailNext(2, 503);
  api_->DropWatches();
  api_->AddObject("events", EventJson("shop", "c", At("2026-12-06T04:00:03Z", "Three")));
  ASSERT_TRUE(WaitCount(3));
  // A changed event listed again is handed on once more: it says something new.
  api_->AddObject("events", EventJson("shop", "a", At("2026-12-06T04:00:04Z", "One", 2)));
  ASSERT_TRUE(WaitCount(4));
  api_->ExpireWatches();
  ASSERT_TRUE(WaitFor([&] { return Lists() >= 3; }, 10s));
  api_->AddObject("events", EventJson("shop", "d", At("2026-12-06T04:00:05Z", "Four")));
  ASSERT_TRUE(WaitCount(5));
  EXPECT_EQ(Reasons(), (std::vector<std::string>{"One", "Two", "Three", "One", "Four"}));
}

TEST_F(KubeEventsTest, ARestartSendsOnlyWhatLokiHadNotAcknowledged) {
  api_->AddObject("events", EventJson("shop", "a", At("2026-12-06T04:00:00Z", "Old")));
  api_->AddObject("events", EventJson("shop", "b", At("2026-12-06T04:00:10Z", "Acked")));
  Start();
  ASSERT_TRUE(WaitCount(2));
  sink_.HoldAcks(true);  // Loki takes nothing from here on
  api_->AddObject("events", EventJson("shop", "c", At("2026-12-06T04:00:20Z", "InFlight")));
  ASSERT_TRUE(WaitCount(3));
  Restart();
  // The in-flight event and everything later is sent again; the acknowledged ones are not.
  ASSERT_TRUE(WaitCount(4));
  sink_.HoldAcks(false);
  sink_.ReleaseAcks();
  api_->AddObject("events", EventJson("shop", "d", At("2026-12-06T04:00:30Z", "New")));
  ASSERT_TRUE(WaitCount(5));
  EXPECT_EQ(Reasons(), (std::vector<std::string>{"Old", "Acked", "InFlight", "InFlight", "New"}));

  // All acknowledged: a restart sends again only the events of the newest one's second (Loki's
  // queries return an identical line once).
  Restart();
  ASSERT_TRUE(WaitCount(6));
  EXPECT_FALSE(WaitFor([&] { return sink_.Count() > 6; }, 1s));
  EXPECT_EQ(Reasons().back(), "New");
  EXPECT_EQ(Skipped("older"), 2 + 3) << "Old and Acked, then those and InFlight";
  EXPECT_EQ(positions_->GetCursor(KubeEventsSource::PositionKey("events")),
            std::optional<std::string>("1796529630000000"));
}

// A list comes in name order, not time order: while one has not been read to its end, an
// acknowledged event does not move the position past the events still to come.
TEST_F(KubeEventsTest, APositionNeverPassesEventsAListHasNotReachedYet) {
  api_->AddObject("events", EventJson("shop", "a", At("2026-12-06T04:00:10Z", "Newer")));
  api_->AddObject("events", EventJson("shop", "b", At("2026-12-06T04:00:00Z", "Older")));
  discovery_.list_page_size = 1;
  discovery_.max_list_pages = 1;  // every list is abandoned after its first page
  Start();
  ASSERT_TRUE(WaitCount(1));
  ASSERT_TRUE(WaitFor([&] { return Lists() >= 3; }, 10s));  // listed again: "a" is not repeated
  source_->SyncPositions();
  EXPECT_EQ(positions_->GetCursor(KubeEventsSource::PositionKey("events")), std::nullopt);

  discovery_ = DiscoveryOptions();
  Restart();
  ASSERT_TRUE(WaitCount(3));
  EXPECT_EQ(Reasons(), (std::vector<std::string>{"Newer", "Newer", "Older"}));
  // Once the list has been read to its end.
  EXPECT_TRUE(WaitFor(
      [&] {
        source_->SyncPositions();
        return positions_->GetCursor(KubeEventsSource::PositionKey("events")) ==
               std::optional<std::string>("1796529610000000");
      },
      10s));
}

// After a restart only the first list is checked against the position: an event written later
// with an older time (client-go retries a failed write for minutes; a node's clock may be
// behind) is new, and sent.
TEST_F(KubeEventsTest, AnEventWrittenLateWithAnOlderTimeIsStillSent) {
  api_->AddObject("events", EventJson("shop", "a", At("2026-12-06T04:00:10Z", "Acked")));
  Start();
  ASSERT_TRUE(WaitFor(
      [&] {
        source_->SyncPositions();
        return positions_->GetCursor(KubeEventsSource::PositionKey("events")) ==
               std::optional<std::string>("1796529610000000");
      },
      10s));
  Restart();
  ASSERT_TRUE(WaitCount(2));  // "Acked" again: its second is P's
  ASSERT_TRUE(WaitFor([&] { return api_->watches_started() >= 2; }, 10s));
  api_->AddObject("events", EventJson("shop", "late", At("2026-12-06T04:00:00Z", "Late")));
  ASSERT_TRUE(WaitCount(3));
  EXPECT_EQ(Reasons(), (std::vector<std::string>{"Acked", "Acked", "Late"}));
}

// A node whose clock runs ahead writes an event in the future: the position stays at now, or
// the next start would skip every event until the clock got there.
TEST_F(KubeEventsTest, AnEventFromTheFutureDoesNotMoveThePositionPastNow) {
  api_->AddObject("events", EventJson("shop", "a", At("2099-01-01T00:00:00Z", "Ahead")));
  Start();
  ASSERT_TRUE(WaitCount(1));
  const int64_t before_us = SystemClock::Get().NowNs() / 1000;
  std::optional<std::string> p;
  ASSERT_TRUE(WaitFor(
      [&] {
        source_->SyncPositions();
        p = positions_->GetCursor(KubeEventsSource::PositionKey("events"));
        return p.has_value();
      },
      10s));
  EXPECT_GE(std::stoll(*p), before_us);
  EXPECT_LE(std::stoll(*p), SystemClock::Get().NowNs() / 1000);
}

// Each namespace keeps its own position: one the agent may not list (a Role missing there)
// holds back only its own, so a restart sends again none of the others' acknowledged events.
TEST_F(KubeEventsTest, ANamespaceThatCannotBeListedHoldsBackOnlyItsOwnPosition) {
  cfg_.namespaces = {"shop", "bank"};
  api_->AddObject("events", EventJson("shop", "a", At("2026-12-06T04:00:00Z", "Old")));
  api_->AddObject("events", EventJson("shop", "b", At("2026-12-06T04:00:10Z", "Acked")));
  EventFields bank = At("2026-12-06T04:00:05Z", "Bank");
  bank.object_namespace = "bank";
  api_->AddObject("events", EventJson("bank", "c", bank));
  api_->FailPath("/api/v1/namespaces/bank/events", 403);
  Start();
  ASSERT_TRUE(WaitCount(2));
  const std::string shop_key = KubeEventsSource::PositionKey("events", "shop");
  const std::string bank_key = KubeEventsSource::PositionKey("events", "bank");
  ASSERT_TRUE(WaitPosition(shop_key, "1796529610000000"));
  EXPECT_EQ(positions_->GetCursor(bank_key), std::nullopt);
  EXPECT_EQ(positions_->GetCursor(KubeEventsSource::PositionKey("events")), std::nullopt);

  // Granted by the next start: bank's event is sent, shop's acknowledged ones are not again
  // (but for the events of its P's second).
  api_->FailPath("/api/v1/namespaces/bank/events", 0);
  Restart();
  ASSERT_TRUE(WaitCount(4));
  EXPECT_FALSE(WaitFor([&] { return sink_.Count() > 4; }, 1s));
  std::vector<std::string> again = Reasons();
  std::sort(again.begin() + 2, again.end());
  EXPECT_EQ(again, (std::vector<std::string>{"Old", "Acked", "Acked", "Bank"}));
  EXPECT_TRUE(WaitPosition(bank_key, "1796529605000000"));
}

// Each watch has its own acknowledgements: an event of one namespace that Loki has not taken
// holds back that namespace's position only, not the events acknowledged after it in another.
TEST_F(KubeEventsTest, AnEventLokiHasNotTakenHoldsBackOnlyItsNamespacesPosition) {
  cfg_.namespaces = {"shop", "bank"};
  auto bank = [](const std::string& at) {
    EventFields f = At(at, "Bank");
    f.object_namespace = "bank";
    return f;
  };
  api_->AddObject("events", EventJson("shop", "a", At("2026-12-06T04:00:00Z", "Shop")));
  api_->AddObject("events", EventJson("bank", "c", bank("2026-12-06T04:00:05Z")));
  Start();
  ASSERT_TRUE(WaitCount(2));
  const std::string shop_key = KubeEventsSource::PositionKey("events", "shop");
  const std::string bank_key = KubeEventsSource::PositionKey("events", "bank");
  ASSERT_TRUE(WaitPosition(shop_key, "1796529600000000"));
  ASSERT_TRUE(WaitPosition(bank_key, "1796529605000000"));
  sink_.HoldAcks(true);  // shop's next event waits for Loki
  api_->AddObject("events", EventJson("shop", "b", At("2026-12-06T04:00:10Z", "Held")));
  ASSERT_TRUE(WaitCount(3));
  sink_.HoldAcks(false);  // bank's next two are taken at once
  api_->AddObject("events", EventJson("bank", "d", bank("2026-12-06T04:00:20Z")));
  api_->AddObject("events", EventJson("bank", "e", bank("2026-12-06T04:00:30Z")));
  ASSERT_TRUE(WaitCount(5));
  // With one tracker for all, bank's acknowledgements after shop's held one would not count:
  // its position would stay at its oldest event still "in flight" (04:00:20).
  EXPECT_TRUE(WaitPosition(bank_key, "1796529630000000"));
  EXPECT_EQ(positions_->GetCursor(shop_key), std::optional<std::string>("1796529610000000"))
      << "the held event is the oldest in flight";
}

TEST_F(KubeEventsTest, WatchesOnlyTheNamedNamespacesAndAppliesRelabelConfigs) {
  cfg_.namespaces = {"shop", "bank"};
  api_->AddObject("events", EventJson("shop", "a", At("2026-12-06T04:00:00Z", "Shop")));
  api_->AddObject("events", EventJson("other", "b", At("2026-12-06T04:00:00Z", "Other")));
  EventFields bank = At("2026-12-06T04:00:01Z", "Bank");
  bank.object_namespace = "bank";
  api_->AddObject("events", EventJson("bank", "c", bank));
  config::RelabelConfig drop_bank;
  drop_bank.source_labels = {"namespace"};
  drop_bank.regex = "bank";
  drop_bank.action = "drop";
  config::RelabelConfig team;
  team.target_label = "team";
  team.replacement = "platform";
  Start({drop_bank, team});
  ASSERT_TRUE(WaitCount(1));
  ASSERT_TRUE(WaitFor([&] { return Skipped("relabel") >= 1; }, 10s));  // bank's, dropped
  EXPECT_FALSE(WaitFor([&] { return sink_.Count() > 1; }, 1s));
  const std::vector<Entry> entries = sink_.Take();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(*entries[0].labels.Get("team"), "platform");
  EXPECT_EQ(*entries[0].labels.Get("namespace"), "shop");
  EXPECT_EQ(Skipped("relabel"), 1);
  std::set<std::string> paths;
  for (const auto& r : api_->requests()) paths.insert(r.path);
  EXPECT_EQ(paths, (std::set<std::string>{"/api/v1/namespaces/shop/events",
                                          "/api/v1/namespaces/bank/events"}));
}

TEST_F(KubeEventsTest, AFullSinkStopsReadingAndStopStaysPrompt) {
  sink_.SetSaturated(true);
  api_->AddObject("events", EventJson("shop", "a", At("2026-12-06T04:00:00Z", "Waits")));
  Start();
  ASSERT_TRUE(WaitFor([&] { return sink_.SaturatedChecks() > 2; }, 10s));
  EXPECT_EQ(sink_.Count(), 0u);
  sink_.SetSaturated(false);
  ASSERT_TRUE(WaitCount(1));
  sink_.SetSaturated(true);
  const int checks = sink_.SaturatedChecks();
  api_->AddObject("events", EventJson("shop", "b", At("2026-12-06T04:00:01Z", "Held")));
  // Asked more than once since: the source is waiting with "Held" (nothing else asks).
  ASSERT_TRUE(WaitFor([&] { return sink_.SaturatedChecks() > checks + 1; }, 10s));
  const auto t0 = std::chrono::steady_clock::now();
  source_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  EXPECT_EQ(sink_.Count(), 1u);
  // The event it stopped waiting with was not sent: the next start sends it.
  sink_.SetSaturated(false);
  Restart();
  ASSERT_TRUE(WaitCount(2));
  EXPECT_EQ(Reasons(), (std::vector<std::string>{"Waits", "Held"}));
}

TEST_F(KubeEventsTest, OutsideAClusterWithoutAnApiServerItSaysSo) {
  KubeEventsOptions o;
  o.job_name = "events";
  o.pipeline = &pipe_;
  o.discovery.env = kubernetes::DiscoveryEnv{};  // no KUBERNETES_SERVICE_HOST
  KubeEventsSource source(std::move(o), positions_.get(), &sink_, &metrics_, &SystemClock::Get());
  Status st = source.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.message().starts_with("kubernetes_events: not running in a cluster"))
      << st.message();
}

TEST_F(KubeEventsTest, AnEventWithoutAnObjectIsSkippedAndTheWatchGoesOn) {
  Start();
  ASSERT_TRUE(WaitFor([&] { return api_->watches_started() >= 1; }, 10s));
  api_->RawEvent(R"({"type":"ADDED","object":{"kind":"Event","metadata":{"namespace":"shop",)"
                 R"("name":"x","resourceVersion":"5000"},"message":"about nothing"}})");
  api_->AddObject("events", EventJson("shop", "a", At("2026-12-06T04:00:00Z", "After")));
  ASSERT_TRUE(WaitCount(1));
  EXPECT_EQ(Reasons(), std::vector<std::string>{"After"});
  EXPECT_EQ(Skipped("malformed"), 1);
  EXPECT_EQ(api_->watches_started(), 1);
}

}  // namespace
}  // namespace skidder::sources::kube_events
