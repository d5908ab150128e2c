// JournalSource: journal files made from export format reach the sink as Promtail's journal
// target would send them (labels, lines, timestamps), from where the last run left off.
#include "sources/journal/journal_source.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "pipeline/pipeline.h"
#include "sources/journal/entry_builder.h"
#include "support/fake_clock.h"
#include "unit/journal/journal_harness.h"
#include "util/log.h"

namespace skidder::sources::journal::testing {
namespace {

std::string Label(const Entry& e, std::string_view name) {
  const std::string* v = e.labels.Get(name);
  return v != nullptr ? *v : "<none>";
}

TEST(JournalSource, MapsEveryJournalFieldToItsMetaLabel) {
  JournalHarness h;
  h.rules.clear();
  config::RelabelConfig map_all;  // every __journal_x becomes x
  map_all.action = "labelmap";
  map_all.regex = "__journal_(.+)";
  h.raw = {map_all};
  const uint64_t at = NowUs() - 5'000'000;
  WriteJournal(h.File("a.journal"), {{at,
                                      {{"MESSAGE", "disk full"},
                                       {"PRIORITY", "3"},
                                       {"_SYSTEMD_UNIT", "kubelet.service"},
                                       {"_HOSTNAME", "node-1"},
                                       {"SYSLOG_IDENTIFIER", "kubelet"},
                                       {"_PID", "42"},
                                       {"CUSTOM_FIELD", "x"}}}});
  ASSERT_TRUE(h.Start().ok());
  ASSERT_TRUE(h.WaitCount(1));
  Entry e = h.sink.Take().at(0);
  EXPECT_EQ(e.line, "disk full");
  EXPECT_EQ(e.timestamp_ns, static_cast<int64_t>(at) * 1000);
  EXPECT_EQ(Label(e, "message"), "disk full");
  EXPECT_EQ(Label(e, "priority"), "3");
  EXPECT_EQ(Label(e, "priority_keyword"), "error");
  EXPECT_EQ(Label(e, "_systemd_unit"), "kubelet.service");
  EXPECT_EQ(Label(e, "_hostname"), "node-1");
  EXPECT_EQ(Label(e, "syslog_identifier"), "kubelet");
  EXPECT_EQ(Label(e, "_pid"), "42");
  EXPECT_EQ(Label(e, "custom_field"), "x");
  EXPECT_EQ(Label(e, "_boot_id"), "6c7c6013a8314f68b8d4e7e5e4e5e0f5");
  // Metrics: the entry was 5 s old when read; its bytes are every NAME=value.
  ASSERT_TRUE(WaitFor([&] { return h.metrics.journal_lag.With({"node"})->Value() >= 4.0; }));
  EXPECT_EQ(h.metrics.journal_entries.With({"node"})->Value(), 1);
  EXPECT_GT(h.metrics.journal_bytes.With({"node"})->Value(), 100);
}

TEST(JournalSource, RelabelsNamedMetaLabelsAndAddsConfigLabels) {
  JournalHarness h;
  h.rules = {{"[__journal__systemd_unit]", "unit"},
             {"[__journal__hostname]", "node_name"},
             {"[__journal_priority_keyword]", "level"},
             {"[__journal_syslog_identifier]", "ident"}};
  h.cfg.labels.Set("job", "systemd-journal");
  std::vector<JournalEntry> entries;
  for (int i = 0; i < 8; ++i) {
    entries.push_back({NowUs(),
                       {{"MESSAGE", "m" + std::to_string(i)},
                        {"PRIORITY", std::to_string(i)},
                        {"_SYSTEMD_UNIT", i % 2 ? "a.service" : "b.service"},
                        {"_HOSTNAME", "node-1"},
                        {"SYSLOG_IDENTIFIER", "id"}}});
  }
  WriteJournal(h.File("a.journal"), entries);
  ASSERT_TRUE(h.Start().ok());
  ASSERT_TRUE(h.WaitCount(8));
  std::vector<Entry> got = h.sink.Take();
  const char* levels[] = {"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"};
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(got[i].line, "m" + std::to_string(i));
    EXPECT_EQ(got[i].labels.ToString(),
              fmt::format("{{ident=\"id\", job=\"systemd-journal\", level=\"{}\", "
                          "node_name=\"node-1\", unit=\"{}\"}}",
                          levels[i], i % 2 ? "a.service" : "b.service"));
  }
}

// A rule that reads MESSAGE (drop what matches) sees a new value in each record: the relabel
// cache keeps no outcome of a long one, or it held up to 4096 whole messages (GBs with 4 MiB
// fields anyone on the node can log); short values are still cached, and the outcomes right.
TEST(JournalEntryBuilder, LongPerRecordValuesAreNotCached) {
  config::RelabelConfig drop;
  drop.source_labels = {"__journal_message"};
  drop.action = "drop";
  drop.regex = "secret.*";
  config::RelabelConfig unit;
  unit.source_labels = {"__journal__systemd_unit"};
  unit.target_label = "unit";
  auto rules = kubernetes::CompileRelabel({drop, unit});
  ASSERT_TRUE(rules) << rules.error().message();
  config::JournalConfig cfg;
  EntryBuilder builder(cfg, *rules);
  std::vector<std::string> messages;
  for (int i = 0; i < 200; ++i) {
    messages.push_back((i % 2 ? "secret " : "public ") + std::string(4096, 'a' + i % 26) +
                       std::to_string(i));
  }
  int kept = 0;
  for (const std::string& m : messages) {
    JournalRecord rec;
    rec.fields = {{"MESSAGE", m}, {"_SYSTEMD_UNIT", "a.service"}};
    Entry e;
    if (builder.Build(rec, &e)) {
      ++kept;
      EXPECT_EQ(e.labels.ToString(), "{unit=\"a.service\"}");
      EXPECT_TRUE(e.line.starts_with("public"));
    }
  }
  EXPECT_EQ(kept, 100);
  EXPECT_EQ(builder.cached(), 0u);
  for (const char* m : {"public 1", "secret 2", "public 1"}) {
    JournalRecord rec;
    rec.fields = {{"MESSAGE", m}, {"_SYSTEMD_UNIT", "a.service"}};
    Entry e;
    EXPECT_EQ(builder.Build(rec, &e), std::string_view(m).starts_with("public"));
  }
  EXPECT_EQ(builder.cached(), 2u);
}

TEST(JournalSource, DropsRecordsWithoutMessageOrWithoutLabels) {
  JournalHarness h;  // the only label comes from _SYSTEMD_UNIT
  WriteJournal(h.File("a.journal"), {{NowUs(), {{"_SYSTEMD_UNIT", "a.service"}}},
                                     {NowUs(), {{"MESSAGE", "no unit"}}},
                                     Msg("kept")});
  ASSERT_TRUE(h.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return h.metrics.journal_entries.With({"node"})->Value() >= 3; }));
  ASSERT_TRUE(h.WaitCount(1));
  EXPECT_EQ(h.Lines(), std::vector<std::string>{"kept"});
  // Never silently: each is counted by why (Promtail's journal parsing errors).
  EXPECT_EQ(h.metrics.journal_dropped_entries.With({"node", "no_message"})->Value(), 1);
  EXPECT_EQ(h.metrics.journal_dropped_entries.With({"node", "no_labels"})->Value(), 1);
}

TEST(JournalSource, MatchesSelectEntries) {
  JournalHarness h;
  h.cfg.matches = "_SYSTEMD_UNIT=a.service _SYSTEMD_UNIT=c.service";  // one field: either
  WriteJournal(h.File("a.journal"),
               {Msg("1", "a.service"), Msg("2", "b.service"), Msg("3", "c.service"), Msg("4")});
  ASSERT_TRUE(h.Start().ok());
  ASSERT_TRUE(h.WaitCount(2));
  ASSERT_TRUE(WaitFor([&] { return h.metrics.journal_entries.With({"node"})->Value() >= 2; }));
  EXPECT_EQ(h.Lines(), (std::vector<std::string>{"1", "3"}));
}

TEST(JournalSource, StartsMaxAgeAgoWithoutAPosition) {
  JournalHarness h;
  h.cfg.max_age = std::chrono::hours(1);
  const uint64_t now = NowUs();
  WriteJournal(h.File("a.journal"),
               {Msg("3h ago", "a.service", now - 3ull * 3600'000'000),
                Msg("2h ago", "a.service", now - 2ull * 3600'000'000),
                Msg("10m ago", "a.service", now - 600'000'000), Msg("now", "a.service", now)});
  ASSERT_TRUE(h.Start().ok());
  ASSERT_TRUE(h.WaitCount(2));
  EXPECT_EQ(h.Lines(), (std::vector<std::string>{"10m ago", "now"}));
}

// A saved cursor libsystemd cannot parse (the positions file edited or damaged): reading starts
// max_age ago, and the log says so, as Promtail's does.
TEST(JournalSource, AnUnusableSavedCursorIsSaidAndReadingStartsMaxAgeAgo) {
  skidder::testing::CapturedLog captured;
  std::string& log = captured.text;
  JournalHarness h;
  h.cfg.max_age = std::chrono::hours(1);
  const uint64_t now = NowUs();
  WriteJournal(h.File("a.journal"), {Msg("2h ago", "a.service", now - 2ull * 3600'000'000),
                                     Msg("now", "a.service", now)});
  h.positions = std::make_unique<Positions>(h.dir / "positions.json", false, &h.metrics);
  h.positions->PutCursor(JournalSource::PositionKey("node"), "not a cursor");
  ASSERT_TRUE(h.Start().ok());
  ASSERT_TRUE(h.WaitCount(1));
  EXPECT_EQ(h.Lines(), (std::vector<std::string>{"now"}));
  h.Stop();  // nothing writes the log while it is read
  EXPECT_NE(log.find("cannot seek to the saved journal cursor; starting max_age ago"),
            std::string::npos)
      << log;
}

TEST(JournalSource, JsonModeSendsEveryFieldSorted) {
  JournalHarness h;
  h.cfg.json = true;
  WriteJournal(h.File("a.journal"), {{NowUs(),
                                      {{"MESSAGE", "say \"hi\" <b>&</b>\n"},
                                       {"_SYSTEMD_UNIT", "a.service"},
                                       {"PRIORITY", "6"}}}});
  ASSERT_TRUE(h.Start().ok());
  ASSERT_TRUE(h.WaitCount(1));
  // As Promtail's json.Marshal writes it: HTML-safe escapes included.
  EXPECT_EQ(h.Lines().at(0),
            "{\"MESSAGE\":\"say \\\"hi\\\" \\u003cb\\u003e\\u0026\\u003c/b\\u003e\\n\","
            "\"PRIORITY\":\"6\",\"_BOOT_ID\":"
            "\"6c7c6013a8314f68b8d4e7e5e4e5e0f5\",\"_SYSTEMD_UNIT\":\"a.service\"}");
}

TEST(JournalSource, BinaryMessageArrivesByteForByte) {
  JournalHarness h;
  const std::string binary("caf\xc3\xa9 \xff\xfe\x00\x01 end\n", 14);
  WriteJournal(h.File("a.journal"), {Msg(binary)});
  ASSERT_TRUE(h.Start().ok());
  ASSERT_TRUE(h.WaitCount(1));
  EXPECT_EQ(h.Lines().at(0), binary);
}

TEST(JournalSource, OneMegabyteEntriesArriveWhole) {
  JournalHarness h;
  std::vector<JournalEntry> entries;
  for (char c : {'a', 'b', 'c'}) entries.push_back(Msg(std::string(1 << 20, c)));
  WriteJournal(h.File("a.journal"), entries);
  ASSERT_TRUE(h.Start().ok());
  ASSERT_TRUE(h.WaitCount(3));
  std::vector<std::string> lines = h.Lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], std::string(1 << 20, 'a'));
  EXPECT_EQ(lines[2], std::string(1 << 20, 'c'));
}

TEST(JournalSource, FollowsEntriesWrittenWhileRunning) {
  JournalHarness h;
  WriteJournal(h.File("a.journal"), Numbered("old", 0, 3));
  ASSERT_TRUE(h.Start().ok());
  ASSERT_TRUE(h.WaitCount(3));
  WriteJournal(h.File("b.journal"), Numbered("new", 0, 3));
  ASSERT_TRUE(h.WaitCount(6));
  EXPECT_EQ(h.Lines(), (std::vector<std::string>{"old0", "old1", "old2", "new0", "new1", "new2"}));
}

TEST(JournalSource, ReadsTheMachineIdDirectoryLayout) {
  // journald writes /var/log/journal/<machine id>/system.journal; path names the top directory.
  JournalHarness h;
  skidder::testing::MakeDirs(h.File("0f5c3a1b2d4e4f6a8b9c0d1e2f3a4b5c"));
  WriteJournal(h.File("0f5c3a1b2d4e4f6a8b9c0d1e2f3a4b5c/system.journal"), {Msg("from a machine")});
  ASSERT_TRUE(h.Start().ok());
  ASSERT_TRUE(h.WaitCount(1));
  EXPECT_EQ(h.Lines().at(0), "from a machine");
}

// An OS tree with journald's layout under a temp root: persistent journals of two machines (the
// host's and one left by the image it was built from), a volatile one, and journal-remote's.
class LocalJournalTree : public ::testing::Test {
 protected:
  static constexpr const char* kHost = "0f5c3a1b2d4e4f6a8b9c0d1e2f3a4b5c";
  static constexpr const char* kImage = "9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a";
  void Journal(const std::string& dir, const std::string& message) {
    skidder::testing::MakeDirs(root() + "/" + dir);
    WriteJournal(root() + "/" + dir + "/system.journal", {Msg(message)});
  }
  void MachineId(const std::string& content) {
    skidder::testing::MakeDirs(root() + "/etc");
    std::ofstream(root() + "/etc/machine-id", std::ios::trunc | std::ios::binary) << content;
  }
  LocalJournal Where() const { return {root(), root() + "/etc/machine-id"}; }
  std::string root() const { return dir_.path() + "/root"; }

  skidder::testing::TempDir dir_;
};

TEST_F(LocalJournalTree, TheHostsMachineIdReadsThisMachinesJournalAsLibsystemdDoes) {
  Journal(std::string("var/log/journal/") + kHost, "host");
  Journal(std::string("var/log/journal/") + kImage, "image");
  MachineId(std::string(kHost) + "\n");
  LocalChoice c = ChooseLocal(Where());
  EXPECT_FALSE(c.every_machine);
  EXPECT_EQ(c.note, "");
}

TEST_F(LocalJournalTree, AMachineIdThatNamesNoJournalReadsEveryMachinesAndSaysWhy) {
  Journal(std::string("var/log/journal/") + kHost, "host");
  Journal(std::string("var/log/journal/") + kImage, "image");
  const std::string file = root() + "/etc/machine-id";
  struct Case {
    std::string content;  // "<none>": no file
    std::string why;
  };
  for (const Case& c : std::vector<Case>{
           {"<none>", file + " is missing: "},
           {"", file + " is empty: "},
           {"uninitialized\n", file + " holds no machine id (uninitialized): "},
           {"1234567890abcdef1234567890abcdef\n",
            file + " names no journal directory (1234567890abcdef1234567890abcdef): "},
       }) {
    std::filesystem::remove(file);
    if (c.content != "<none>") MachineId(c.content);
    LocalChoice got = ChooseLocal(Where());
    EXPECT_TRUE(got.every_machine) << c.content;
    EXPECT_EQ(got.note.find(c.why), 0u) << got.note;
    EXPECT_NE(got.note.find(std::string(kHost) + ", " + kImage), std::string::npos) << got.note;
    EXPECT_NE(got.note.find("mount the host's /etc/machine-id"), std::string::npos) << got.note;
  }
}

// libsystemd's own reading: one trailing newline at most, hex digits in either case.
TEST_F(LocalJournalTree, TheMachineIdIsReadAsLibsystemdReadsIt) {
  Journal(std::string("var/log/journal/") + kHost, "host");
  std::string upper = kHost;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const std::string& ok : {std::string(kHost), upper + "\n"}) {
    MachineId(ok);
    EXPECT_FALSE(ChooseLocal(Where()).every_machine) << ok;
  }
  for (const std::string& bad : {std::string(kHost) + "\r\n", std::string(kHost) + " \n",
                                 std::string(kHost) + "\n\n", std::string(kHost) + "\nmore"}) {
    MachineId(bad);
    LocalChoice c = ChooseLocal(Where());
    EXPECT_TRUE(c.every_machine) << bad;  // libsystemd would take it for no id, and read nothing
    EXPECT_NE(c.note.find("holds no machine id (" + std::string(kHost)), std::string::npos)
        << c.note;
  }
}

// Before journald flushes (or with Storage=volatile) this machine's journal is in /run alone,
// while the persistent directory may hold only what the node image left there.
TEST_F(LocalJournalTree, AnIdOfAVolatileJournalIsThisMachines) {
  Journal(std::string("var/log/journal/") + kImage, "image");
  Journal(std::string("run/log/journal/") + kHost, "volatile");
  MachineId(std::string(kHost) + "\n");
  LocalChoice c = ChooseLocal(Where());
  EXPECT_FALSE(c.every_machine);
  EXPECT_EQ(c.note, "");
}

TEST_F(LocalJournalTree, OnlyAVolatileJournalNeedsNoMachineId) {
  Journal(std::string("run/log/journal/") + kHost, "volatile");  // libsystemd reads /run anyway
  LocalChoice c = ChooseLocal(Where());
  EXPECT_FALSE(c.every_machine);
  EXPECT_EQ(c.note, "");
}

TEST_F(LocalJournalTree, NoJournalAtAllIsSaidAtStart) {
  skidder::testing::MakeDirs(root() + "/var/log");
  LocalChoice c = ChooseLocal(Where());
  EXPECT_FALSE(c.every_machine);
  EXPECT_NE(c.note.find("no journal found in " + root() + "/var/log/journal"), std::string::npos)
      << c.note;
}

// What Promtail and Alloy do here is read nothing, and say nothing.
TEST_F(LocalJournalTree, WithoutTheHostsMachineIdEveryMachinesJournalArrives) {
  Journal(std::string("var/log/journal/") + kHost, "host");
  Journal(std::string("var/log/journal/") + kImage, "image");
  Journal(std::string("run/log/journal/") + kHost, "volatile");
  skidder::testing::CapturedLog captured;
  std::string& log = captured.text;
  JournalHarness h;
  h.cfg.path = "";
  h.cfg.max_age = std::chrono::hours(1);
  h.local = Where();
  ASSERT_TRUE(h.Start().ok());
  ASSERT_TRUE(h.WaitCount(3));
  std::vector<std::string> lines = h.Lines();
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines, (std::vector<std::string>{"host", "image", "volatile"}));
  h.Stop();  // its thread logs too: read the capture once it is gone
  EXPECT_NE(log.find("machine-id is missing"), std::string::npos) << log;
  EXPECT_NE(log.find("job=node"), std::string::npos) << log;
}

TEST(JournalSource, CommitsOnlyTheAcknowledgedPrefixAndResumesAfterIt) {
  JournalHarness h;
  h.batch_entries = 1;  // one checkpoint per entry: acknowledgements may come out of order
  h.sink.HoldAcks(true);
  WriteJournal(h.File("a.journal"), Numbered("e", 0, 5));
  ASSERT_TRUE(h.Start().ok());
  ASSERT_TRUE(h.WaitCount(5));
  std::vector<Entry> got = h.sink.Take();
  got[1].ack.Reset();  // Loki took entry 1 before entry 0
  h.source->SyncPositions();
  EXPECT_EQ(h.positions->GetCursor("journal-node"), std::nullopt);
  got[0].ack.Reset();
  h.source->SyncPositions();
  ASSERT_TRUE(h.positions->GetCursor("journal-node").has_value());
  h.sink.HoldAcks(false);
  h.Restart();  // entries 2..4 were never acknowledged: read again, nothing before them
  ASSERT_TRUE(h.WaitCount(3));
  EXPECT_EQ(h.Lines(), (std::vector<std::string>{"e2", "e3", "e4"}));
}

TEST(JournalSource, SaturatedSinkStopsReading) {
  JournalHarness h;
  h.sink.SetSaturated(true);
  h.sink.CountSaturatedCalls();
  WriteJournal(h.File("a.journal"), Numbered("e", 0, 3));
  ASSERT_TRUE(h.Start().ok());
  // The reader asks before every batch: after many answers of "saturated" it has read nothing.
  ASSERT_TRUE(WaitFor([&] { return h.sink.saturated_calls() >= 10; }));
  EXPECT_EQ(h.sink.Count(), 0u);
  EXPECT_EQ(h.metrics.journal_entries.With({"node"})->Value(), 0);
  h.sink.SetSaturated(false);
  ASSERT_TRUE(h.WaitCount(3));
}

// A limit stage with drop: false pauses reading (the journal holds the backlog) rather than being
// ignored: with the clock standing still, one token lets one batch of one entry through.
// A core dump stored in the journal (hundreds of MB in one field) must not be read whole: every
// field is cut to max_field_bytes (limits_config.max_line_size) and the cut counted.
TEST(JournalSource, AHugeFieldIsCutAndCounted) {
  JournalHarness h;
  h.max_field_bytes = 64 << 10;
  h.cfg.json = true;
  JournalEntry dump = Msg("core dumped");
  dump.fields.emplace_back("COREDUMP", std::string(3 << 20, 'x'));
  WriteJournal(h.File("a.journal"), {dump, Msg("after")});
  ASSERT_TRUE(h.Start().ok());
  ASSERT_TRUE(h.WaitCount(2));
  const std::vector<std::string> lines = h.Lines();
  EXPECT_LT(lines[0].size(), size_t{70} << 10) << "the field was cut to 64 KiB";
  EXPECT_NE(lines[0].find("core dumped"), std::string::npos);
  EXPECT_NE(lines[1].find("after"), std::string::npos);
  EXPECT_EQ(h.metrics.truncated_lines.With({})->Value(), 1);
}

TEST(JournalSource, ALimitStageWithoutDropPausesReading) {
  JournalHarness h;
  FakeClock clock(static_cast<int64_t>(NowUs()) * 1000);
  h.clock = &clock;
  h.batch_entries = 1;
  auto limit = pipeline::Pipeline::Build(
      {config::StageConfig{"limit", YAML::Load("{rate: 1, burst: 1}"), "t.yaml"}}, {});
  ASSERT_TRUE(limit.has_value()) << limit.error().message();
  h.pipeline = limit->get();
  h.sink.CountSaturatedCalls();
  WriteJournal(h.File("a.journal"), Numbered("e", 0, 20));
  ASSERT_TRUE(h.Start().ok());
  ASSERT_TRUE(h.WaitCount(1));
  // The reader looks again and again (every look asks Saturated() first) but reads no more.
  const int looks = h.sink.saturated_calls();
  ASSERT_TRUE(WaitFor([&] { return h.sink.saturated_calls() >= looks + 20; }));
  EXPECT_LE(h.sink.Count(), 2u);
  // A token a second (the bucket holds one): time moving on lets the rest through.
  ASSERT_TRUE(WaitFor([&] {
    clock.Advance(std::chrono::seconds(1));
    return h.sink.Count() >= 20;
  }));
  h.Stop();  // before the pipeline and the clock it reads go
}

// SkidderJournalEntriesLost is an increase() over this series: born at its first loss (counted
// at start, before any scrape), it would show none.
TEST(JournalSource, TheLostEntriesSeriesIsThereAtZeroFromTheStart) {
  JournalHarness h;
  WriteJournal(h.File("a.journal"), Numbered("a", 0, 1));
  ASSERT_TRUE(h.Start().ok());
  const std::string page = h.registry.Render();
  EXPECT_NE(page.find("skidder_journal_lost_entries_total{job_name=\"node\"} 0\n"),
            std::string::npos)
      << page;
}

TEST(JournalSource, CursorOfARotatedAwayFileResumesAtTheOldestEntry) {
  JournalHarness h;
  h.batch_entries = 1;
  h.sink.HoldAcks(true);
  WriteJournal(h.File("a.journal"), Numbered("a", 0, 5));
  ASSERT_TRUE(h.Start().ok());
  ASSERT_TRUE(h.WaitCount(5));
  std::vector<Entry> got = h.sink.Take();
  got[0].ack.Reset();
  got[1].ack.Reset();  // a2..a4 still in flight when the agent stops
  h.source->SyncPositions();
  h.Stop();
  got.clear();
  // Vacuumed while the agent was down; newer entries went to another file.
  std::filesystem::remove(h.File("a.journal"));
  WriteJournal(h.File("b.journal"), Numbered("b", 0, 3));
  h.sink.HoldAcks(false);
  h.Restart();
  ASSERT_TRUE(h.WaitCount(3));
  EXPECT_EQ(h.Lines(), (std::vector<std::string>{"b0", "b1", "b2"}));
}

// The job's matches changed between two runs (a unit added or swapped): the saved entry is
// still in the journal, only no longer matched. The entries between it and the first one that
// matches now were never this job's: nothing is counted lost, so no alert fires.
TEST(JournalSource, ChangedMatchesLoseNothing) {
  JournalHarness h;
  h.cfg.matches = "_SYSTEMD_UNIT=a.service";
  WriteJournal(h.File("a.journal"),
               {Msg("a0", "a.service"), Msg("b0", "b.service"), Msg("a1", "a.service"),
                Msg("c0", "c.service"), Msg("c1", "c.service"), Msg("c2", "c.service"),
                Msg("b1", "b.service"), Msg("b2", "b.service")});
  ASSERT_TRUE(h.Start().ok());
  ASSERT_TRUE(h.WaitCount(2));
  EXPECT_EQ(h.Lines(), (std::vector<std::string>{"a0", "a1"}));
  h.cfg.matches = "_SYSTEMD_UNIT=b.service";
  h.sink.Take();
  h.Restart();
  ASSERT_TRUE(h.WaitCount(2));
  EXPECT_EQ(h.Lines(), (std::vector<std::string>{"b1", "b2"}));  // after the saved entry
  EXPECT_EQ(h.metrics.journal_lost_entries.With({"node"})->Value(), 0);
}

// After the saved entry was vacuumed, max_age still applies: what is left older than it is not
// sent (Promtail checks the next entry's age there too).
TEST(JournalSource, AfterAVacuumedCursorNothingOlderThanMaxAgeIsSent) {
  JournalHarness h;
  h.cfg.max_age = std::chrono::hours(7);
  WriteJournal(h.File("a.journal"), Numbered("a", 0, 2));
  ASSERT_TRUE(h.Start().ok());
  ASSERT_TRUE(h.WaitCount(2));
  h.source->SyncPositions();
  h.Stop();
  std::filesystem::remove(h.File("a.journal"));
  const uint64_t five_days_us = uint64_t{5} * 86400 * 1000 * 1000;
  WriteJournal(h.File("b.journal"),
               {Msg("stale", "app.service", NowUs() - five_days_us), Msg("fresh", "app.service")});
  h.Restart();
  ASSERT_TRUE(h.WaitCount(3));
  EXPECT_EQ(h.Lines(), (std::vector<std::string>{"a0", "a1", "fresh"}));
}

TEST(JournalCursor, CountsEntriesBetweenCursorsOfOneSequence) {
  CursorPosition saved = ParseCursor("s=abc;i=a;b=x;m=1;t=5f;x=2");
  ASSERT_TRUE(saved.valid);
  EXPECT_EQ(saved.seqnum, 10u);
  EXPECT_EQ(saved.realtime_us, 0x5fu);
  EXPECT_EQ(EntriesBetween(saved, ParseCursor("s=abc;i=1e;b=x")), 19);
  EXPECT_EQ(EntriesBetween(saved, ParseCursor("s=abc;i=b")), 0);
  EXPECT_EQ(EntriesBetween(saved, ParseCursor("s=other;i=1e")), -1);  // another journal
  EXPECT_FALSE(ParseCursor("garbage").valid);
}

TEST(JournalMeta, NamesAndPriorityKeywords) {
  EXPECT_EQ(MetaLabelName("_SYSTEMD_UNIT"), "__journal__systemd_unit");
  EXPECT_EQ(MetaLabelName("PRIORITY"), "__journal_priority");
  EXPECT_EQ(PriorityKeyword("0"), "emerg");
  EXPECT_EQ(PriorityKeyword("7"), "debug");
  EXPECT_EQ(PriorityKeyword("9"), "9");
}

}  // namespace
}  // namespace skidder::sources::journal::testing
