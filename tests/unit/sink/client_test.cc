// LokiClient against FakeLoki on loopback: what reaches Loki, and what happens to data and
// positions when Loki misbehaves.
#include "sink/loki/client.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <random>

#include "client_fixture.h"

namespace skidder::sink {
namespace {

TEST_F(LokiClientTest, DeliversEveryEntryInOrderWithLabelsTenantAndHeaders) {
  auto cfg = Config();
  cfg.tenant_id = "tenant-1";
  cfg.external_labels = Labels{{"cluster", "prod"}};
  cfg.headers = {{"X-Custom", "yes"}};
  auto client = Make(cfg);
  ASSERT_TRUE(client->Start().ok());
  auto want = Numbered(100);
  for (const auto& l : want) client->Push(MakeEntry(l));

  ASSERT_TRUE(loki_.WaitForLines(want.size()));
  EXPECT_EQ(loki_.Lines(), want);
  for (const auto& e : loki_.Entries()) {
    EXPECT_EQ(e.labels, R"({cluster="prod", job="test"})");
    EXPECT_EQ(e.tenant, "tenant-1");
  }
  auto requests = loki_.Requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests[0].headers["Content-Type"], "application/x-protobuf");
  EXPECT_TRUE(requests[0].headers["User-Agent"].starts_with("skidder/"));
  EXPECT_EQ(requests[0].headers["X-Custom"], "yes");
  EXPECT_TRUE(WaitFor([&] { return Counter(metrics_.sent_entries, {host()}) == 100; }));
  EXPECT_TRUE(client->Stop(std::chrono::seconds(5)));
  EXPECT_EQ(client->BufferedBytes(), 0);
}

// One read handed over as a batch may hold many streams (a `labels` stage on a level or a path):
// every entry keeps its own stream, however many distinct label sets the batch interleaves.
TEST_F(LokiClientTest, ABatchOfManyInterleavedStreamsKeepsEachEntrysLabels) {
  auto client = Make(Config());
  ASSERT_TRUE(client->Start().ok());
  std::vector<Entry> batch;
  for (int i = 0; i < 60; ++i) {
    Entry e = MakeEntry(fmt::format("line {} of stream {}", i, i % 7));
    e.labels.Set("level", fmt::format("l{}", i % 7));
    batch.push_back(std::move(e));
  }
  client->PushBatch(batch);

  ASSERT_TRUE(loki_.WaitForLines(batch.size()));
  ASSERT_EQ(loki_.Entries().size(), batch.size());
  for (const auto& e : loki_.Entries()) {
    const std::string stream = e.line.substr(e.line.rfind(' ') + 1);
    EXPECT_EQ(e.labels, fmt::format(R"({{job="test", level="l{}"}})", stream)) << e.line;
  }
  EXPECT_TRUE(client->Stop(std::chrono::seconds(5)));
}

// PushBatch moves each entry's reference into the batch (the caller is done with the entries);
// PushShared, for entries other clients get too, takes references of its own. Either way the
// bytes count as done once Loki has the entry, and not before.
TEST_F(LokiClientTest, PushBatchTakesTheEntriesReferencesAndPushSharedCopiesThem) {
  auto client = Make(Config());
  auto tracker = AckTracker::Create(0);
  std::vector<Entry> shared, taken;
  {
    AckRef hold = tracker->Open(10);
    shared.push_back(MakeEntry("shared", hold));
    taken.push_back(MakeEntry("taken", hold));
  }
  client->PushShared(shared);
  EXPECT_FALSE(shared[0].ack.empty()) << "a shared entry is left as it was";
  client->PushBatch(taken);
  EXPECT_TRUE(taken[0].ack.empty()) << "the client moved the reference into its batch";
  shared.clear();
  taken.clear();
  EXPECT_EQ(tracker->Committed(), 0u) << "the batch holds both references until Loki has it";
  ASSERT_TRUE(client->Start().ok());
  ASSERT_TRUE(loki_.WaitForLines(2));
  ASSERT_TRUE(WaitFor([&] { return tracker->Committed() == 10; }));
  EXPECT_EQ(loki_.Lines(), (std::vector<std::string>{"shared", "taken"}));
  EXPECT_TRUE(client->Stop(std::chrono::seconds(5)));
}

// The client remembers the final labels of the sets it saw lately, per thread (Finalize). A
// client made by a reload, perhaps at the address of the one it replaces, must not be given the
// old one's results: here the external labels change and the entries' label set does not.
TEST_F(LokiClientTest, AClientMadeByAReloadFinalizesLabelsWithItsOwnExternalLabels) {
  const Labels labels = MakeEntry("").labels;
  for (const std::string cluster : {"before", "after"}) {
    auto cfg = Config();
    cfg.external_labels = Labels{{"cluster", cluster}};
    auto client = Make(cfg);
    ASSERT_TRUE(client->Start().ok());
    Entry e = MakeEntry("from " + cluster);
    e.labels = labels;
    client->Push(std::move(e));
    ASSERT_TRUE(client->Stop(std::chrono::seconds(5)));
  }
  ASSERT_EQ(loki_.Entries().size(), 2u);
  EXPECT_EQ(loki_.Entries()[0].labels, R"({cluster="before", job="test"})");
  EXPECT_EQ(loki_.Entries()[1].labels, R"({cluster="after", job="test"})");
}

TEST_F(LokiClientTest, RetriesThrough503sWithoutLosingOrDuplicatingAnything) {
  loki_.ScriptStatuses({503, 503, 503});
  auto client = Make(Config());
  auto want = Numbered(10);
  for (const auto& l : want) client->Push(MakeEntry(l));  // before Start: one batch
  ASSERT_TRUE(client->Start().ok());

  ASSERT_TRUE(loki_.WaitForLines(want.size()));
  EXPECT_TRUE(client->Stop(std::chrono::seconds(5)));
  EXPECT_EQ(loki_.Lines(), want);
  EXPECT_EQ(loki_.RequestCount(), 4u);
  EXPECT_EQ(Counter(metrics_.batch_retries, {host()}), 3);
  EXPECT_EQ(metrics_.request_duration.With({host(), "503"})->Count(), 3u);
  EXPECT_EQ(metrics_.request_duration.With({host(), "204"})->Count(), 1u);
}

// As Promtail's: every drop reason of a client is on /metrics at 0 from its start, so an alert on
// increase() fires at the first drop (a series born at its value has no increase to see).
TEST_F(LokiClientTest, DropSeriesExistAtZeroFromTheStart) {
  auto client = Make(Config());
  const std::string page = registry_.Render();
  for (const char* reason : {"too_old", "line_too_long", "stream_limited", "rate_limited"}) {
    for (const char* name : {"promtail_dropped_entries_total", "promtail_dropped_bytes_total"}) {
      const std::string series =
          fmt::format("{}{{host=\"{}\",reason=\"{}\"}} 0\n", name, host(), reason);
      EXPECT_NE(page.find(series), std::string::npos) << series << page;
    }
  }
  for (const char* name : {"promtail_mutated_entries_total", "promtail_mutated_bytes_total"}) {
    const std::string series =
        fmt::format("{}{{host=\"{}\",reason=\"line_too_long\"}} 0\n", name, host());
    EXPECT_NE(page.find(series), std::string::npos) << series << page;
  }
}

TEST_F(LokiClientTest, A400IsNotRetriedIsCountedByReasonAndLetsPositionsAdvance) {
  loki_.ScriptReply(400, "entry for stream '{job=\"test\"}' has timestamp too old: 2001-01-01");
  auto tracker = AckTracker::Create(0);
  auto client = Make(Config());
  for (int i = 0; i < 3; ++i) {
    AckRef hold = tracker->Open(static_cast<uint64_t>(i + 1) * 10);
    client->Push(MakeEntry("old " + std::to_string(i), hold));
  }  // the reader's holds are gone: only the entries keep the checkpoints open
  EXPECT_EQ(tracker->Committed(), 0u);
  ASSERT_TRUE(client->Start().ok());

  ASSERT_TRUE(WaitFor([&] { return tracker->Committed() == 30; }));
  EXPECT_EQ(Counter(metrics_.dropped_entries, {host(), telemetry::kReasonTooOld}), 3);
  EXPECT_GT(Counter(metrics_.dropped_bytes, {host(), telemetry::kReasonTooOld}), 0);
  // The client moves on: the next entry is sent, and the refused batch never was again.
  client->Push(MakeEntry("fresh"));
  ASSERT_TRUE(loki_.WaitForLines(1));
  EXPECT_EQ(loki_.Lines(), std::vector<std::string>{"fresh"});
  EXPECT_EQ(loki_.RequestCount(), 2u);
  EXPECT_EQ(Counter(metrics_.batch_retries, {host()}), 0);
}

// Answers from something in front of Loki that never come from Loki itself.
class GatewayRefusals : public LokiClientTest {
 protected:
  // Pushes three entries to a Loki whose first `refusals` answers (scripted by the test) are
  // `status`: every line still arrives, each position is committed, nothing is counted dropped.
  void ExpectKeptAndRetried(const std::string& status, int refusals) {
    auto tracker = AckTracker::Create(0);
    auto client = Make(Config());
    auto want = Numbered(3);
    for (size_t i = 0; i < want.size(); ++i) {
      client->Push(MakeEntry(want[i], tracker->Open((i + 1) * 10)));
    }
    ASSERT_TRUE(client->Start().ok());
    ASSERT_TRUE(loki_.WaitForLines(want.size()));
    ASSERT_TRUE(WaitFor([&] { return tracker->Committed() == 30; }));
    EXPECT_TRUE(client->Stop(std::chrono::seconds(5)));
    EXPECT_EQ(loki_.Lines(), want);
    EXPECT_EQ(metrics_.request_duration.With({host(), status})->Count(),
              static_cast<size_t>(refusals));
    EXPECT_EQ(Counter(metrics_.batch_retries, {host()}), refusals);
    EXPECT_EQ(Counter(metrics_.dropped_entries, {host(), telemetry::kReasonInvalid}), 0);
  }
};

// A 404 (a wrong path, or an ingress that does not route the host yet) never comes from Loki:
// the lines are kept and retried, and positions hold until the route works, so a first install
// with a wrong URL loses nothing once it is fixed.
TEST_F(GatewayRefusals, A404IsRetriedAndNothingIsDropped) {
  loki_.ScriptStatuses({404, 404});
  ExpectKeptAndRetried("404", 2);
}

// nginx's own 400 page in front of Loki (here: a client certificate it refuses, until it is
// renewed): not Loki refusing the content, so the lines are kept and retried like a 404's.
TEST_F(GatewayRefusals, AnHtml400IsRetriedAndNothingIsDropped) {
  loki_.ScriptReply(400,
                    "<html>\r\n<head><title>400 The SSL certificate error</title></head>\r\n"
                    "<body><center><h1>400 Bad Request</h1></center><hr><center>nginx</center>"
                    "</body></html>\r\n");
  ExpectKeptAndRetried("400", 1);
}

TEST_F(LokiClientTest, A413SplitsTheBatchAndDropsOnlyAnEntryTooLargeOnItsOwn) {
  loki_.SetMaxBodyBytes(1024);
  auto client = Make(Config());
  std::mt19937 rng(3);
  std::string huge(4096, ' ');
  for (char& c : huge) c = static_cast<char>('!' + rng() % 90);  // snappy cannot shrink it
  std::vector<std::string> want;
  for (int i = 0; i < 9; ++i) {
    if (i == 4) {
      client->Push(MakeEntry(huge));
      continue;
    }
    want.push_back("small " + std::to_string(i));
    client->Push(MakeEntry(want.back()));
  }
  ASSERT_TRUE(client->Start().ok());

  ASSERT_TRUE(WaitFor([&] {
    return Counter(metrics_.dropped_entries, {host(), telemetry::kReasonTooLarge}) == 1;
  }));
  ASSERT_TRUE(loki_.WaitForLines(want.size()));
  EXPECT_TRUE(client->Stop(std::chrono::seconds(5)));
  EXPECT_EQ(loki_.Lines(), want);  // halves were sent in order, rebuilt from the refused body
  EXPECT_EQ(client->BufferedBytes(), 0);  // what the rebuild took is given back with the batch
  EXPECT_EQ(metrics_.buffered_bytes.With({})->Value(), 0);
}

TEST_F(LokiClientTest, A401RereadsTheBearerTokenFileAndKeepsTheData) {
  testing::TempDir dir;
  testing::WriteFile(dir / "token", "old-token\n");
  loki_.RequireAuthorization("Bearer new-token");
  auto cfg = Config();
  cfg.bearer_token_file = dir / "token";
  auto client = Make(cfg);
  ASSERT_TRUE(client->Start().ok());
  client->Push(MakeEntry("needs auth"));

  ASSERT_TRUE(loki_.WaitForRequests(1));
  EXPECT_EQ(loki_.LineCount(), 0u);
  testing::WriteFile(dir / "token", "new-token\n");  // the secret is rotated
  ASSERT_TRUE(loki_.WaitForLines(1));
  auto auth = loki_.HeaderValues("Authorization");
  EXPECT_EQ(auth.front(), "Bearer old-token");
  EXPECT_EQ(auth.back(), "Bearer new-token");
  EXPECT_EQ(loki_.Lines(), std::vector<std::string>{"needs auth"});
}

TEST_F(LokiClientTest, ABlackholedLokiHitsTheRequestTimeoutAndIsRetried) {
  loki_.SetBlackhole(true);
  auto cfg = Config();
  cfg.timeout = milliseconds(200);
  auto client = Make(cfg);
  ASSERT_TRUE(client->Start().ok());
  client->Push(MakeEntry("patient"));

  ASSERT_TRUE(WaitFor([&] { return Counter(metrics_.batch_retries, {host()}) >= 2; }));
  EXPECT_GE(metrics_.request_duration.With({host(), "-1"})->Count(), 2u);
  loki_.SetBlackhole(false);
  ASSERT_TRUE(loki_.WaitForLines(1));
  // At least once: an attempt the fake's server read only after the client gave up on it (a
  // loaded machine, 200 ms) is answered once the blackhole is off and recorded beside the retry,
  // as a real Loki would store it (and drop the exact duplicate).
  for (const std::string& line : loki_.Lines()) EXPECT_EQ(line, "patient");
}

TEST_F(LokiClientTest, SaturatesWhileLokiIsDownAndRecoversWhenItIsBack) {
  loki_.SetFailFor(std::chrono::minutes(5), 503);
  ClientOptions opts;
  opts.max_buffered_bytes = 8 * 1024;
  auto client = Make(Config(), opts);
  ASSERT_TRUE(client->Start().ok());
  int pushed = 0;
  while (!client->Saturated() && pushed < 10'000) {
    client->Push(MakeEntry("entry " + std::to_string(pushed++)));
  }
  ASSERT_TRUE(client->Saturated());
  EXPECT_GE(metrics_.buffered_bytes.With({})->Value(), 8 * 1024);
  ASSERT_TRUE(WaitFor([&] { return Counter(metrics_.batch_retries, {host()}) >= 1; }));

  loki_.SetFailFor(milliseconds(0), 503);  // Loki recovers
  ASSERT_TRUE(loki_.WaitForLines(static_cast<size_t>(pushed)));
  EXPECT_TRUE(WaitFor([&] { return !client->Saturated(); }));
  EXPECT_TRUE(WaitFor([&] { return metrics_.buffered_bytes.With({})->Value() == 0; }));
  auto lines = loki_.Lines();
  for (int i = 0; i < pushed; ++i) ASSERT_EQ(lines[i], "entry " + std::to_string(i));
}

// Readers paused by the budget are told when it has room again, once per pause, instead of
// finding out at their next look.
TEST_F(LokiClientTest, TellsPausedReadersWhenTheBudgetHasRoomAgain) {
  loki_.SetFailFor(std::chrono::minutes(5), 503);
  std::atomic<int> told{0};
  std::atomic<bool> recovering{false}, saturated_when_told{false};
  LokiClient* seen = nullptr;
  ClientOptions opts;
  opts.max_buffered_bytes = 8 * 1024;
  opts.on_room = [&] {
    if (recovering && seen->Saturated()) saturated_when_told = true;  // nothing pushes by then
    ++told;
  };
  auto client = Make(Config(), opts);
  seen = client.get();
  ASSERT_TRUE(client->Start().ok());
  int pushed = 0;
  // The sender frees what is in flight (its body is kept); fill the budget behind it too.
  ASSERT_TRUE(WaitFor([&] {
    while (!client->Saturated() && pushed < 10'000) {
      client->Push(MakeEntry("entry " + std::to_string(pushed++)));
    }
    return Counter(metrics_.batch_retries, {host()}) >= 2 && client->Saturated();
  }));
  const int before = told.load();
  recovering = true;
  loki_.SetFailFor(milliseconds(0), 503);  // Loki recovers: the budget empties
  ASSERT_TRUE(loki_.WaitForLines(static_cast<size_t>(pushed)));
  EXPECT_TRUE(WaitFor([&] { return told.load() > before; }));
  EXPECT_FALSE(client->Saturated());
  EXPECT_FALSE(saturated_when_told.load());
  EXPECT_TRUE(client->Stop(std::chrono::seconds(5)));
}

TEST_F(LokiClientTest, StopFlushesEverythingWithinItsDeadlineIgnoringBatchwait) {
  auto cfg = Config();
  cfg.batchwait = std::chrono::hours(1);
  auto client = Make(cfg);
  ASSERT_TRUE(client->Start().ok());
  for (const auto& l : Numbered(5)) client->Push(MakeEntry(l));
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(client->Stop(std::chrono::seconds(5)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(loki_.Lines(), Numbered(5));
}

TEST_F(LokiClientTest, StopGivesUpAtItsDeadlineWithoutAdvancingPositions) {
  loki_.SetFailFor(std::chrono::minutes(5), 503);
  auto tracker = AckTracker::Create(0);
  auto client = Make(Config());
  ASSERT_TRUE(client->Start().ok());
  {
    AckRef hold = tracker->Open(100);
    client->Push(MakeEntry("unsent", hold));
  }
  ASSERT_TRUE(loki_.WaitForRequests(1));
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(client->Stop(milliseconds(200)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  client.reset();
  EXPECT_EQ(tracker->Committed(), 0u);  // read again after a restart, never lost
}

// A reload stops every client; entries it could not send must neither be held for the life of the
// process (memory grows with each reload) nor let their file's position move past them.
TEST_F(LokiClientTest, ClientsStoppedWithUnsentEntriesFreeThemAndNeverCommitThem) {
  loki_.SetFailFor(std::chrono::minutes(5), 503);
  std::vector<std::weak_ptr<AckTracker>> trackers;
  for (int cycle = 0; cycle < 100; ++cycle) {
    auto tracker = AckTracker::Create(0);
    trackers.push_back(tracker);
    auto client = Make(Config());
    ASSERT_TRUE(client->Start().ok());
    for (int i = 0; i < 20; ++i) {
      AckRef hold = tracker->Open(static_cast<uint64_t>(i + 1) * 10);
      client->Push(MakeEntry(std::string(200, 'x'), hold));
    }
    EXPECT_FALSE(client->Stop(milliseconds(0)));
    EXPECT_EQ(client->BufferedBytes(), 0);
    EXPECT_EQ(tracker->Committed(), 0u) << "cycle " << cycle << ": read again after a reload";
  }
  EXPECT_EQ(metrics_.buffered_bytes.With({})->Value(), 0);
  for (const auto& t : trackers) EXPECT_TRUE(t.expired()) << "an abandoned entry is still alive";
}

TEST_F(LokiClientTest, StopCancelsARequestStuckOnABlackholedLoki) {
  loki_.SetBlackhole(true);
  auto cfg = Config();
  cfg.timeout = std::chrono::seconds(60);
  auto client = Make(cfg);
  ASSERT_TRUE(client->Start().ok());
  client->Push(MakeEntry("stuck"));
  ASSERT_TRUE(WaitFor([&] { return Counter(metrics_.encoded_bytes, {host()}) > 0; }));
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(client->Stop(milliseconds(100)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

// Two clients stopped within one shutdown deadline, the first blackholed: the second, begun at
// the same time (BeginStop), flushes while the first waits, instead of being left Stop(0) to
// abort without a try once the first has used the deadline up.
TEST_F(LokiClientTest, ClientsBegunTogetherFlushSideBySideWithinOneDeadline) {
  FakeLoki healthy;
  ASSERT_TRUE(healthy.Start());
  loki_.SetBlackhole(true);
  auto blackholed_cfg = Config();
  blackholed_cfg.batchwait = std::chrono::hours(1);
  blackholed_cfg.timeout = std::chrono::seconds(60);
  auto healthy_cfg = blackholed_cfg;
  healthy_cfg.url = healthy.url();
  auto first = Make(blackholed_cfg);
  auto second = Make(healthy_cfg);
  ASSERT_TRUE(first->Start().ok());
  ASSERT_TRUE(second->Start().ok());
  for (const auto& l : Numbered(5)) {
    first->Push(MakeEntry(l));
    second->Push(MakeEntry(l));
  }
  first->BeginStop();
  second->BeginStop();
  // The deadline is the first's to use up; the second has been sending since BeginStop.
  EXPECT_FALSE(first->Stop(std::chrono::seconds(2)));
  ASSERT_TRUE(healthy.WaitForLines(5)) << "the second client was not flushing meanwhile";
  EXPECT_TRUE(second->Stop(std::chrono::seconds(5)));
  EXPECT_EQ(healthy.Lines(), Numbered(5));
}

// Loki was down long enough for the backoff to reach minutes and is back when a SIGTERM (or a
// reload, often the very fix) stops the client: the stop ends the backoff and the batch is sent
// within the deadline, instead of the sleep using it up and everything being left unsent.
TEST_F(LokiClientTest, AStopDuringALongBackoffTriesAgainAtOnce) {
  loki_.ScriptStatuses({503});
  auto cfg = Config();
  cfg.backoff_config.min_period = std::chrono::minutes(5);
  cfg.backoff_config.max_period = std::chrono::minutes(5);
  auto client = Make(cfg);
  ASSERT_TRUE(client->Start().ok());
  client->Push(MakeEntry("waited out"));
  ASSERT_TRUE(WaitFor([&] { return Counter(metrics_.batch_retries, {host()}) == 1; }));
  EXPECT_TRUE(client->Stop(std::chrono::seconds(30)));
  EXPECT_EQ(loki_.Lines(), std::vector<std::string>{"waited out"});
}

// While stopping, Loki still down: retries come about a second apart until the deadline, then
// what is left is abandoned (and read again after the restart).
TEST_F(LokiClientTest, AStoppingClientRetriesEverySecondUntilItsDeadline) {
  loki_.ScriptStatuses(std::vector<int>(100, 503));
  auto cfg = Config();
  cfg.backoff_config.min_period = std::chrono::minutes(5);
  cfg.backoff_config.max_period = std::chrono::minutes(5);
  auto client = Make(cfg);
  ASSERT_TRUE(client->Start().ok());
  client->Push(MakeEntry("never"));
  ASSERT_TRUE(WaitFor([&] { return loki_.RequestCount() == 1; }));
  EXPECT_FALSE(client->Stop(std::chrono::milliseconds(2500)));
  // One at the stop, then one a second (a slow machine may fit fewer in, never more).
  EXPECT_GE(loki_.RequestCount(), 2u);
  EXPECT_LE(loki_.RequestCount(), 4u);
  EXPECT_EQ(loki_.LineCount(), 0u);
}

TEST_F(LokiClientTest, LongLinesAreTruncatedOrDroppedByConfig) {
  auto tracker = AckTracker::Create(0);
  ClientOptions truncate;
  truncate.max_line_size = 8;
  truncate.max_line_size_truncate = true;
  auto a = Make(Config(), truncate);
  ASSERT_TRUE(a->Start().ok());
  a->Push(MakeEntry("0123456\xc3\xa9xyz"));  // cut before the 2-byte character
  ASSERT_TRUE(loki_.WaitForLines(1));
  EXPECT_EQ(loki_.Lines(), std::vector<std::string>{"0123456"});
  EXPECT_EQ(metrics_.truncated_lines.With({})->Value(), 1);
  // Promtail's series too: one line, 5 bytes cut ("\xc3\xa9xyz").
  EXPECT_EQ(metrics_.mutated_entries.With({host(), "line_too_long"})->Value(), 1);
  EXPECT_EQ(metrics_.mutated_bytes.With({host(), "line_too_long"})->Value(), 5);
  ASSERT_TRUE(a->Stop(std::chrono::seconds(5)));

  ClientOptions drop;
  drop.max_line_size = 8;
  auto b = Make(Config(), drop);
  ASSERT_TRUE(b->Start().ok());
  {
    AckRef hold = tracker->Open(50);
    b->Push(MakeEntry("much too long for the limit", hold));
  }
  EXPECT_EQ(tracker->Committed(), 50u);  // dropped deliberately: the file moves on
  EXPECT_EQ(Counter(metrics_.dropped_entries, {host(), telemetry::kReasonLineTooLong}), 1);
  EXPECT_TRUE(b->Stop(std::chrono::seconds(5)));
  EXPECT_EQ(loki_.LineCount(), 1u);
}

// Loki refuses a stream without labels with a 400 for the whole push: an entry left with none
// (a pipeline that dropped every label, `__` labels only) is dropped alone, and the entries
// batched with it arrive.
TEST_F(LokiClientTest, AnEntryWithoutLabelsIsDroppedAloneAndTheRestOfTheBatchArrives) {
  auto client = Make(Config());
  auto tracker = AckTracker::Create(0);
  std::vector<Entry> batch;
  {
    AckRef hold = tracker->Open(30);
    batch.push_back(MakeEntry("before", hold));
    Entry none = MakeEntry("no labels", hold);
    none.labels = Labels{{"__tenant_id__", "team-a"}, {"__path__", "/x"}};
    batch.push_back(std::move(none));
    batch.push_back(MakeEntry("after", hold));
  }
  client->PushBatch(batch);
  batch.clear();
  ASSERT_TRUE(client->Start().ok());
  ASSERT_TRUE(loki_.WaitForLines(2));
  ASSERT_TRUE(WaitFor([&] { return tracker->Committed() == 30; }));
  EXPECT_TRUE(client->Stop(std::chrono::seconds(5)));
  EXPECT_EQ(loki_.Lines(), (std::vector<std::string>{"before", "after"}));
  for (const auto& r : loki_.Requests()) EXPECT_EQ(r.status, 204);
  EXPECT_EQ(Counter(metrics_.dropped_entries, {host(), telemetry::kReasonMissingLabels}), 1);
  EXPECT_EQ(Counter(metrics_.dropped_bytes, {host(), telemetry::kReasonMissingLabels}), 9);
  EXPECT_EQ(Counter(metrics_.dropped_entries, {host(), telemetry::kReasonInvalid}), 0);
}

TEST_F(LokiClientTest, InvalidUtf8IsReplacedSoLokiNeverRejectsTheRequest) {
  auto client = Make(Config());
  ASSERT_TRUE(client->Start().ok());
  client->Push(MakeEntry("bad \xff\xfe bytes"));
  ASSERT_TRUE(loki_.WaitForLines(1));
  EXPECT_EQ(loki_.Lines()[0], "bad \xEF\xBF\xBD\xEF\xBF\xBD bytes");
  EXPECT_EQ(loki_.DecodeErrors(), 0u);
}

TEST_F(LokiClientTest, RateLimitedBatchesAreDroppedOnlyWhenConfigured) {
  loki_.ScriptStatuses({429});
  auto cfg = Config();
  cfg.drop_rate_limited_batches = true;
  auto client = Make(cfg);
  client->Push(MakeEntry("dropped"));
  ASSERT_TRUE(client->Start().ok());
  ASSERT_TRUE(WaitFor([&] {
    return Counter(metrics_.dropped_entries, {host(), telemetry::kReasonRateLimited}) == 1;
  }));
  EXPECT_TRUE(client->Stop(std::chrono::seconds(5)));
  EXPECT_EQ(loki_.LineCount(), 0u);
  EXPECT_EQ(loki_.RequestCount(), 1u);
}

TEST(LokiClientCreate, RefusesBadConfigWithoutEchoingSecrets) {
  telemetry::Registry registry;
  telemetry::AgentMetrics metrics(registry);
  config::ClientConfig cfg;
  cfg.url = "ftp://user:hunter2@loki/push";
  auto bad_url = LokiClient::Create(cfg, {}, &metrics);
  ASSERT_FALSE(bad_url.has_value());
  EXPECT_EQ(bad_url.error().message().find("hunter2"), std::string::npos);

  cfg.url = "http://loki/push";
  cfg.headers = {{"X-Api-Key", "secret\r\nX-Injected: 1"}};
  auto bad_header = LokiClient::Create(cfg, {}, &metrics);
  ASSERT_FALSE(bad_header.has_value());
  EXPECT_EQ(bad_header.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad_header.error().message().find("secret"), std::string::npos);

  cfg.headers = {};
  cfg.tenant_id = "team a";
  auto bad_tenant = LokiClient::Create(cfg, {}, &metrics);
  ASSERT_FALSE(bad_tenant.has_value());
  EXPECT_NE(bad_tenant.error().message().find("tenant_id"), std::string::npos);
}

}  // namespace
}  // namespace skidder::sink
