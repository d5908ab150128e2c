// The real binary tails real files and delivers every line to a fake Loki exactly once, across
// rotation, copytruncate and container restarts.
#include <filesystem>
#include <thread>

#include "harness.h"

namespace skidder::testing {
namespace {

namespace fs = std::filesystem;

class Delivery : public IntegrationTest {};

TEST_F(Delivery, EveryLineOfEveryFileArrivesExactlyOnce) {
  constexpr int kFiles = 5, kLines = 2000;
  // Half the lines exist before the agent starts (read from the start: no position yet).
  for (int f = 0; f < kFiles; ++f) {
    MakeDirs(logs() + "/app" + std::to_string(f));
    WriteFile(logs() + "/app" + std::to_string(f) + "/0.log",
              Lines("f" + std::to_string(f), 0, kLines / 2));
  }
  StartAgent(WriteConfig());
  for (int f = 0; f < kFiles; ++f) {
    AppendFile(logs() + "/app" + std::to_string(f) + "/0.log",
               Lines("f" + std::to_string(f), kLines / 2, kLines));
  }
  ASSERT_TRUE(loki_.WaitForLines(kFiles * kLines, std::chrono::seconds(30))) << loki_.LineCount();
  for (int f = 0; f < kFiles; ++f) ExpectEachOnce("f" + std::to_string(f), 0, kLines);
  EXPECT_EQ(loki_.LineCount(), size_t{kFiles * kLines});
  auto entries = loki_.Entries();
  ASSERT_FALSE(entries.empty());
  EXPECT_NE(entries[0].labels.find("job=\"itest\""), std::string::npos) << entries[0].labels;
  EXPECT_NE(entries[0].labels.find("filename=\"" + logs()), std::string::npos);
  EXPECT_EQ(entries[0].labels.find("__path__"), std::string::npos) << "internal labels leak";
  EXPECT_EQ(loki_.DecodeErrors(), 0u);
}

TEST_F(Delivery, LinesOfOneFileArriveInOrder) {
  StartAgent(WriteConfig());
  for (int i = 0; i < 10; ++i) AppendFile(logs() + "/a.log", Lines("o", i * 300, (i + 1) * 300));
  ASSERT_TRUE(loki_.WaitForLines(3000));
  auto lines = loki_.Lines();
  for (size_t i = 0; i < lines.size(); ++i) ASSERT_EQ(lines[i], "o-" + std::to_string(i));
}

TEST_F(Delivery, RenameRotationWhileRunningLosesNothing) {
  std::string log = logs() + "/0.log";
  WriteFile(log, Lines("r", 0, 500));
  StartAgent(WriteConfig());
  ASSERT_TRUE(loki_.WaitForLines(500));
  // The writer keeps writing into the old inode after the rename, as a process does until it
  // reopens; then the new file appears.
  AppendFile(log, Lines("r", 500, 700));
  fs::rename(log, logs() + "/0.log.20261124-104012");
  AppendFile(logs() + "/0.log.20261124-104012", Lines("r", 700, 800));
  WriteFile(log, Lines("r", 800, 1000));
  ASSERT_TRUE(loki_.WaitForLines(1000)) << loki_.LineCount();
  ExpectEachOnce("r", 0, 1000);
}

TEST_F(Delivery, RotatedFileDeletedWhileBeingReadIsDrained) {
  std::string log = logs() + "/0.log";
  StartAgent(WriteConfig({.path_glob = logs() + "/*.log"}));
  WriteFile(log, Lines("d", 0, 100));
  ASSERT_TRUE(loki_.WaitForLines(100));
  AppendFile(log, Lines("d", 100, 20000));  // large: likely still being read when unlinked
  fs::rename(log, logs() + "/0.log.1");     // rotated name no longer matches the glob
  fs::remove(logs() + "/0.log.1");
  WriteFile(log, Lines("d", 20000, 20100));
  ASSERT_TRUE(loki_.WaitForLines(20100)) << loki_.LineCount();
  ExpectEachOnce("d", 0, 20100);
}

TEST_F(Delivery, CopytruncateStartsAgainFromTheBeginning) {
  std::string log = logs() + "/app.log";
  WriteFile(log, Lines("c", 0, 300));
  StartAgent(WriteConfig());
  ASSERT_TRUE(loki_.WaitForLines(300));
  fs::copy_file(log, logs() + "/app.log.1.bak");
  fs::resize_file(log, 0);
  AppendFile(log, Lines("c", 300, 350));
  ASSERT_TRUE(loki_.WaitForLines(350)) << loki_.LineCount();
  ExpectEachOnce("c", 0, 350);
}

TEST_F(Delivery, ContainerRestartReadsBothLogFiles) {
  std::string dir = logs() + "/ns_pod_uid/app";
  MakeDirs(dir);
  WriteFile(dir + "/0.log", Lines("k", 0, 100));
  StartAgent(WriteConfig());
  ASSERT_TRUE(loki_.WaitForLines(100));
  AppendFile(dir + "/0.log", Lines("k", 100, 150));
  WriteFile(dir + "/1.log", Lines("k", 150, 300));
  ASSERT_TRUE(loki_.WaitForLines(300)) << loki_.LineCount();
  ExpectEachOnce("k", 0, 300);
}

TEST_F(Delivery, PartialLineIsHeldUntilItsNewlineArrives) {
  std::string log = logs() + "/p.log";
  StartAgent(WriteConfig());
  WriteFile(log, "first\nsecond-half");
  ASSERT_TRUE(loki_.WaitForLines(1));
  AppendFile(log, "-done\n");
  ASSERT_TRUE(loki_.WaitForLines(2));
  auto lines = loki_.Lines();
  EXPECT_EQ(lines[1], "second-half-done");
}

TEST_F(Delivery, CriPartialRecordsAreJoinedIntoOneEntry) {
  std::string log = logs() + "/ns_pod_uid/c/0.log";
  MakeDirs(logs() + "/ns_pod_uid/c");
  std::string a(16384, 'a'), b(100, 'b');
  WriteFile(log, "2026-11-24T10:40:12.000000001Z stdout P " + a + "\n" +
                     "2026-11-24T10:40:12.000000002Z stderr F err line\n" +
                     "2026-11-24T10:40:12.000000003Z stdout F " + b + "\n");
  StartAgent(WriteConfig({.pipeline_stages = "[{cri: {}}]"}));
  ASSERT_TRUE(loki_.WaitForLines(2));
  auto entries = loki_.Entries();
  std::map<std::string, std::string> by_stream;
  for (const auto& e : entries) {
    by_stream[e.labels.find("stderr") != std::string::npos ? "stderr" : "stdout"] = e.line;
  }
  EXPECT_EQ(by_stream["stdout"], a + b);
  EXPECT_EQ(by_stream["stderr"], "err line");
}

}  // namespace
}  // namespace skidder::testing
