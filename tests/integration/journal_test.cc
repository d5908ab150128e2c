// The journal source end to end: the real binary reads journal files (made with
// systemd-journal-remote, no journald needed) and delivers to the fake Loki; SIGKILL at any
// moment loses nothing, SIGTERM saves the cursor so a restart sends nothing twice.
#include <fmt/format.h>

#include <fstream>
#include <random>
#include <thread>

#include "harness.h"
#include "support/journal_writer.h"

namespace skidder::testing {
namespace {

class Journal : public IntegrationTest {
 protected:
  std::string journal_dir() const { return dir_ / "journal"; }
  std::string Config(const std::string& top = "") {
    MakeDirs(journal_dir());
    return WriteConfig({.extra_client = "    batchsize: 4096",
                        .extra_top = fmt::format(R"(  - job_name: node
    journal:
      path: {}
      labels: {{job: systemd-journal}}
    relabel_configs:
      - source_labels: [__journal__systemd_unit]
        target_label: unit
      - source_labels: [__journal_priority_keyword]
        target_label: level
{})",
                                                 journal_dir(), top),
                        .positions_sync = "50ms"});
  }
  void Write(const std::string& file, int from, int to) {
    std::vector<JournalEntry> entries;
    for (int i = from; i < to; ++i) {
      entries.push_back({NowUs(),
                         {{"MESSAGE", fmt::format("j-{}", i)},
                          {"PRIORITY", "4"},
                          {"_SYSTEMD_UNIT", "kubelet.service"}}});
    }
    WriteJournal(journal_dir() + "/" + file, entries);
  }
};

TEST_F(Journal, DeliversEntriesWithUnitAndLevelLabels) {
  std::string config = Config();
  Write("a.journal", 0, 3);
  StartAgent(config);
  ASSERT_TRUE(loki_.WaitForLines(3));
  ExpectEachOnce("j", 0, 3);
  ReceivedEntry e = loki_.Entries().at(0);
  EXPECT_EQ(e.labels, "{job=\"systemd-journal\", level=\"warning\", unit=\"kubelet.service\"}");
  EXPECT_GE(agent_.Metric("skidder_journal_entries_total", {"job_name=\"node\""}), 3);
}

// limits_config.max_line_size applies to journal messages as to any line: one over it is dropped
// (counted) without max_line_size_truncate, as Promtail's client drops it; with it, cut to the
// limit. The reader cuts a huge field just past the limit, not at it, so the client can tell.
class JournalLineLimit : public Journal {
 protected:
  void Run(bool truncate) {
    const std::string config = Config(fmt::format(
        "limits_config:\n  max_line_size: 64\n  max_line_size_truncate: {}\n", truncate));
    WriteJournal(
        journal_dir() + "/a.journal",
        {{NowUs(), {{"MESSAGE", "short-1"}, {"_SYSTEMD_UNIT", "a.service"}}},
         {NowUs(), {{"MESSAGE", std::string(100000, 'x')}, {"_SYSTEMD_UNIT", "a.service"}}},
         {NowUs(), {{"MESSAGE", "short-2"}, {"_SYSTEMD_UNIT", "a.service"}}}});
    StartAgent(config);
  }
};

TEST_F(JournalLineLimit, ALongMessageIsDroppedWithoutTruncate) {
  Run(false);
  ASSERT_TRUE(loki_.WaitForLines(2)) << agent_.Stderr();
  ASSERT_TRUE(WaitFor([&] {
    return agent_.Metric("promtail_dropped_entries_total", {"reason=\"line_too_long\""}) == 1;
  })) << agent_.HttpGet("/metrics");
  EXPECT_EQ(loki_.Lines(), (std::vector<std::string>{"short-1", "short-2"}));
  EXPECT_EQ(agent_.Metric("skidder_truncated_lines_total"), 0);  // dropped, not also cut
}

TEST_F(JournalLineLimit, ALongMessageIsCutToTheLimitWithTruncate) {
  Run(true);
  ASSERT_TRUE(loki_.WaitForLines(3)) << agent_.Stderr();
  EXPECT_EQ(loki_.Lines(), (std::vector<std::string>{"short-1", std::string(64, 'x'), "short-2"}));
  EXPECT_EQ(agent_.Metric("skidder_truncated_lines_total"), 1);  // once, by the client
  EXPECT_EQ(agent_.Metric("promtail_dropped_entries_total", {"reason=\"line_too_long\""}), 0);
}

// Memory: libsystemd (with libgcrypt, liblzma, liblz4, libcap) is loaded only by a journal
// source, so every other agent saves its mapped pages (benchmarks/README.md, "Memory").
bool MapsLibsystemd(pid_t pid) {
  std::ifstream maps(fmt::format("/proc/{}/maps", pid));
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find("libsystemd.so") != std::string::npos) return true;
  }
  return false;
}

TEST_F(Journal, LibsystemdIsLoadedOnlyByAnAgentThatReadsAJournal) {
  StartAgent(WriteConfig());
  EXPECT_FALSE(MapsLibsystemd(agent_.pid()));
  ASSERT_EQ(agent_.Terminate(), 0);
  std::string config = Config();
  Write("a.journal", 0, 1);
  StartAgent(config);
  ASSERT_TRUE(loki_.WaitForLines(1));
  EXPECT_TRUE(MapsLibsystemd(agent_.pid()));
}

TEST_F(Journal, SigkillsWhileReadingLoseNothing) {
  std::string config = Config();
  loki_.SetResponseDelay(std::chrono::milliseconds(20));  // so kills land mid-way
  Write("a.journal", 0, 3000);
  std::mt19937 rng(7);
  size_t written = 3000;
  for (int cycle = 0; cycle < 6; ++cycle) {
    if (cycle == 3) {
      Write("b.journal", 3000, 6000);  // the journal grows while the agent is down
      written = 6000;
    }
    ASSERT_TRUE(agent_.Start({"-config.file=" + config}));
    size_t seen = loki_.LineCount();
    WaitFor([&] { return loki_.LineCount() > seen || ReceivedCounts().size() >= written; },
            std::chrono::seconds(10));
    // Positions are saved every 250 ms: some kills land before a save, some after.
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 600));
    agent_.Kill();
  }
  loki_.SetResponseDelay(std::chrono::milliseconds(0));
  StartAgent(config);
  ASSERT_TRUE(WaitFor([&] { return ReceivedCounts().size() >= 6000; }, std::chrono::seconds(60)))
      << ReceivedCounts().size() << " of 6000";
  ExpectEachOnce("j", 0, 6000, /*allow_duplicates=*/true);
}

TEST_F(Journal, SigkillResumesAtTheSavedCursorNotFromTheStart) {
  std::string config = Config();
  Write("a.journal", 0, 500);
  StartAgent(config);
  ASSERT_TRUE(loki_.WaitForLines(500));
  ASSERT_TRUE(WaitFor(
      [&] { return ReadFile(positions_file()).find("\"journal-node\"") != std::string::npos; }));
  agent_.Kill();
  StartAgent(config);
  Write("b.journal", 500, 510);
  ASSERT_TRUE(WaitFor([&] { return ReceivedCounts().size() >= 510; }));
  ExpectEachOnce("j", 0, 510, /*allow_duplicates=*/true);
  // At most what was acknowledged after the last save is sent again, never the whole journal.
  EXPECT_LT(loki_.LineCount(), 1000u);
}

TEST_F(Journal, SigtermSavesTheCursorAndARestartSendsNothingTwice) {
  std::string config = Config();
  Write("a.journal", 0, 500);
  StartAgent(config);
  ASSERT_TRUE(loki_.WaitForLines(500));
  EXPECT_EQ(agent_.Terminate(), 0);
  EXPECT_NE(ReadFile(positions_file()).find("\"journal-node\""), std::string::npos);
  StartAgent(config);
  Write("b.journal", 500, 510);
  ASSERT_TRUE(loki_.WaitForLines(510));
  ExpectEachOnce("j", 0, 510);
}

}  // namespace
}  // namespace skidder::testing
