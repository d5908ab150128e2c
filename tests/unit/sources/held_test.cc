// Held files: a rotated file that is deleted before it was read to the end survives a crash
// through its hard link in the held directory; the budget bounds the disk this keeps alive.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>

#include "sources/file/file_source.h"
#include "unit/sources/fake_sink.h"
#include "util/log.h"

namespace skidder::sources {
namespace {

using skidder::testing::AppendFile;
using skidder::testing::WaitFor;
using skidder::testing::WriteFile;
using testing::Harness;
using testing::Joined;
using testing::Numbered;

size_t CountEntries(const std::string& dir) {
  if (!std::filesystem::exists(dir)) return 0;
  return static_cast<size_t>(std::distance(std::filesystem::directory_iterator(dir),
                                           std::filesystem::directory_iterator()));
}

class Held : public ::testing::Test {
 protected:
  FileSourceOptions Options(uint64_t budget = uint64_t{1} << 30) {
    auto o = h_.DefaultOptions();
    o.held_dir = h_.dir / ".skidder-held";
    o.held_max_bytes = budget;
    return o;
  }
  std::string HeldDir() { return h_.dir / ".skidder-held"; }
  // A mount no link from the temp dir can cross (EXDEV).
  bool ShmIsAnotherFileSystem() {
    struct stat a, b;
    return ::stat("/dev/shm", &b) == 0 && ::stat(h_.dir.path().c_str(), &a) == 0 &&
           a.st_dev != b.st_dev;
  }
  Harness h_;
};

TEST_F(Held, ARotatedFileDeletedUnreadSurvivesACrash) {
  const std::string log = h_.dir / "0.log";
  WriteFile(log, Joined(Numbered("a", 0, 1000)));
  h_.sink.HoldAcks(true);  // Loki is down: nothing is acknowledged
  h_.Start(h_.dir / "*.log", Options());
  ASSERT_TRUE(WaitFor([&] { return h_.sink.Count() == 1000; }));
  ASSERT_EQ(std::rename(log.c_str(), (log + ".20261201-101500").c_str()), 0);
  WriteFile(log, "b0\n");
  ASSERT_TRUE(WaitFor([&] { return CountEntries(HeldDir()) == 1; }));
  h_.Stop();
  ASSERT_TRUE(h_.positions->Save().ok());
  h_.sink.Take();  // the agent dies: nothing it read was acknowledged
  h_.sink.HoldAcks(false);
  // While it is down, the kubelet deletes the rotated file (keep-N).
  ASSERT_EQ(::unlink((log + ".20261201-101500").c_str()), 0);
  h_.positions = std::make_unique<Positions>(h_.dir / "positions.json", false, &h_.metrics);
  h_.Start(h_.dir / "*.log", Options());
  auto want = Numbered("a", 0, 1000);
  want.push_back("b0");
  ASSERT_TRUE(h_.WaitLines(log, want)) << h_.sink.Count();
  // Everything acknowledged: the link goes, and nothing was counted lost.
  ASSERT_TRUE(WaitFor([&] { return CountEntries(HeldDir()) == 0; }));
  EXPECT_EQ(h_.metrics.lost_bytes.With({telemetry::kReasonHeldBudget})->Value(), 0);
}

// A file read through a link (/var/log/containers/*.log names /var/log/pods/.../0.log) is rotated
// beside the link's target, in a directory the source does not walk: it is held all the same,
// found by its descriptor, and once acknowledged leaves no record behind in that directory.
TEST_F(Held, ARotationBehindALinkDeletedUnreadSurvivesACrash) {
  skidder::testing::TempDir pods;  // the same file system as the held directory (/tmp)
  const std::string real = pods / "0.log", rotated = pods / "0.log.20261201-101500";
  const std::string link = h_.dir / "c.log";
  WriteFile(real, Joined(Numbered("a", 0, 1000)));
  ASSERT_EQ(::symlink(real.c_str(), link.c_str()), 0);
  h_.sink.HoldAcks(true);  // Loki is down: nothing is acknowledged
  h_.Start(h_.dir / "*.log", Options());
  ASSERT_TRUE(WaitFor([&] { return h_.sink.Count() == 1000; }));
  ASSERT_EQ(std::rename(real.c_str(), rotated.c_str()), 0);
  WriteFile(real, "b0\n");
  ASSERT_TRUE(WaitFor([&] { return CountEntries(HeldDir()) == 1; }));
  h_.Stop();
  ASSERT_TRUE(h_.positions->Save().ok());
  h_.sink.Take();  // the agent dies: nothing it read was acknowledged
  h_.sink.HoldAcks(false);
  ASSERT_EQ(::unlink(rotated.c_str()), 0);  // and the kubelet deletes the rotated file meanwhile
  h_.positions = std::make_unique<Positions>(h_.dir / "positions.json", false, &h_.metrics);
  h_.Start(h_.dir / "*.log", Options());
  auto want = Numbered("a", 0, 1000);
  want.push_back("b0");
  ASSERT_TRUE(h_.WaitLines(link, want)) << h_.sink.Count();
  ASSERT_TRUE(WaitFor([&] { return CountEntries(HeldDir()) == 0; }));
  // Released: no record names the held link, nor anything in the pods' directory.
  ASSERT_TRUE(WaitFor([&] {
    for (const auto& r : h_.positions->All()) {
      if (r.path != link) return false;
    }
    return true;
  })) << h_.positions->Size();
}

// The rotation behind a link is held while it drains (Loki down), then let go once acknowledged;
// its record does not stay in the link target's directory, which no pass walks.
TEST_F(Held, ARotationBehindALinkLeavesNoRecordOnceRead) {
  skidder::testing::TempDir pods;
  const std::string real = pods / "0.log", link = h_.dir / "c.log";
  WriteFile(real, "a0\n");
  ASSERT_EQ(::symlink(real.c_str(), link.c_str()), 0);
  h_.sink.HoldAcks(true);
  h_.Start(h_.dir / "*.log", Options());
  ASSERT_TRUE(h_.WaitLines(link, {"a0"}));
  for (int i = 1; i <= 3; ++i) {
    ASSERT_EQ(std::rename(real.c_str(), (real + "." + std::to_string(i)).c_str()), 0);
    WriteFile(real, "a" + std::to_string(i) + "\n");
    ASSERT_TRUE(WaitFor([&] { return h_.sink.Lines(link).size() == static_cast<size_t>(i + 1); }));
    // Nothing acknowledged: every rotation so far is held (the last one since its rotation was
    // seen, which the new file's line does not wait for).
    ASSERT_TRUE(WaitFor([&] { return CountEntries(HeldDir()) == static_cast<size_t>(i); }));
  }
  h_.sink.HoldAcks(false);
  h_.sink.ReleaseAcks();
  ASSERT_TRUE(WaitFor([&] {
    return h_.source->ActiveFiles() == 1 && CountEntries(HeldDir()) == 0 &&
           h_.positions->Size() == 1 && h_.positions->FindByPath(link).has_value();
  })) << h_.positions->Size();
  EXPECT_EQ(h_.sink.Lines(link), (std::vector<std::string>{"a0", "a1", "a2", "a3"}));
}

// logrotate's `rotate 1` while Loki is down: app.log.1 is deleted by the next rotation (renamed
// over) before it was read to the end, and held. Acknowledged, it finds no name of its own to go
// back to: its done record must not be put at app.log.1, over the record of the newer rotation
// there (acknowledged first) or under it (acknowledged after, it would find a stale record and
// drop its own). Either way a restart took that file for a rotation never seen and delivered it
// again.
class HeldRotateOne : public Held, public ::testing::WithParamInterface<bool> {};

TEST_P(HeldRotateOne, TheRecordAtTheOldNameIsTheFileTheres) {
  const bool newest_first = GetParam();
  const std::string log = h_.dir / "app.log", rotated = h_.dir / "app.log.1";
  WriteFile(log, Joined(Numbered("a", 0, 10)));
  h_.sink.HoldAcks(true);
  h_.Start(h_.dir / "*.log", Options());
  ASSERT_TRUE(h_.WaitLines(log, Numbered("a", 0, 10)));
  ASSERT_EQ(std::rename(log.c_str(), rotated.c_str()), 0);
  WriteFile(log, "b0\n");
  ASSERT_TRUE(WaitFor([&] { return CountEntries(HeldDir()) == 1; }));
  ASSERT_TRUE(WaitFor([&] { return h_.sink.Count() == 11; }));
  struct stat b;
  ASSERT_EQ(::stat(log.c_str(), &b), 0);
  ASSERT_EQ(std::rename(log.c_str(), rotated.c_str()), 0);  // the a file's last name goes
  WriteFile(log, "c0\n");
  ASSERT_TRUE(WaitFor([&] { return CountEntries(HeldDir()) == 2; }));
  ASSERT_TRUE(WaitFor([&] { return h_.sink.Count() == 12; }));
  if (newest_first) {
    h_.sink.ReleaseNewestAcks(2);  // c0 and b0: the b file is done, back at app.log.1
    ASSERT_TRUE(WaitFor([&] {
      auto r = h_.positions->FindByPath(rotated);
      return CountEntries(HeldDir()) == 1 && r && r->done && r->identity.ino == b.st_ino;
    }));
  }
  h_.sink.ReleaseAcks();  // the rest, in order
  ASSERT_TRUE(WaitFor([&] { return CountEntries(HeldDir()) == 0; }));
  ASSERT_TRUE(WaitFor([&] {
    auto r = h_.positions->FindByPath(rotated);
    return r && r->done;
  }));
  EXPECT_EQ(h_.positions->FindByPath(rotated)->identity.ino, b.st_ino)
      << "the a file's record is at the b file's name";
  h_.Stop();
  ASSERT_TRUE(h_.positions->Save().ok());
  h_.positions = std::make_unique<Positions>(h_.dir / "positions.json", false, &h_.metrics);
  h_.Start(h_.dir / "*.log", Options());
  WriteFile(h_.dir / "later.log", "d0\n");  // the start's pass over the directory ran
  ASSERT_TRUE(h_.WaitLines(h_.dir / "later.log", {"d0"}));
  EXPECT_EQ(h_.sink.Count(), 13u) << "nothing delivered twice";
}

INSTANTIATE_TEST_SUITE_P(AckOrder, HeldRotateOne, ::testing::Bool(), [](const auto& info) {
  return std::string(info.param ? "NewestFirst" : "InOrder");
});

TEST_F(Held, OverTheBudgetTheOldestIsLetGoAndCountedExactly) {
  const std::string log = h_.dir / "0.log";
  const std::string content = Joined(Numbered("a", 0, 500));
  WriteFile(log, content);
  h_.sink.SetSaturated(true);  // nothing is read while Loki is backed up
  h_.Start(h_.dir / "*.log", Options(100));
  ASSERT_TRUE(WaitFor([&] { return h_.source->ActiveFiles() == 1; }));
  ASSERT_EQ(std::rename(log.c_str(), (log + ".1").c_str()), 0);
  WriteFile(log, "b0\n");
  ASSERT_TRUE(WaitFor([&] { return CountEntries(HeldDir()) == 1; }));
  ASSERT_EQ(::unlink((log + ".1").c_str()), 0);  // now only the link keeps its bytes
  ASSERT_TRUE(WaitFor(
      [&] { return h_.metrics.lost_bytes.With({telemetry::kReasonHeldBudget})->Value() > 0; }));
  EXPECT_EQ(h_.metrics.lost_bytes.With({telemetry::kReasonHeldBudget})->Value(),
            static_cast<double>(content.size()));
  EXPECT_EQ(CountEntries(HeldDir()), 0u);
  h_.sink.SetSaturated(false);
  ASSERT_TRUE(WaitFor([&] { return h_.sink.Lines(log) == std::vector<std::string>{"b0"}; }));
}

TEST_F(Held, LinksNoPositionNamesAreRemovedAtStart) {
  std::filesystem::create_directories(HeldDir());
  WriteFile(HeldDir() + "/1-2", "stale\n");
  WriteFile(h_.dir / "0.log", "x\n");
  h_.Start(h_.dir / "*.log", Options());
  ASSERT_TRUE(h_.WaitLines(h_.dir / "0.log", {"x"}));
  EXPECT_TRUE(WaitFor([&] { return CountEntries(HeldDir()) == 0; }));
}

// Without its positions (corrupt, or unreadable: kept for the operator to fix) the agent cannot
// tell which links are orphans: the records that name them may come back, so none is removed.
TEST_F(Held, LinksStayWhenThePositionsFileCouldNotBeRead) {
  std::filesystem::create_directories(HeldDir());
  WriteFile(HeldDir() + "/1-2", "maybe still named\n");
  WriteFile(h_.dir / "positions.json", "{\"positions\": [tor");
  h_.positions = std::make_unique<Positions>(h_.dir / "positions.json", false, &h_.metrics);
  ASSERT_TRUE(h_.positions->own_file_lost());
  WriteFile(h_.dir / "0.log", "x\n");
  h_.Start(h_.dir / "*.log", Options());
  ASSERT_TRUE(h_.WaitLines(h_.dir / "0.log", {"x"}));  // past the first pass, which checks
  EXPECT_EQ(CountEntries(HeldDir()), 1u);
}

TEST_F(Held, OnAnotherFileSystemHoldingTurnsOffWithOneErrorAndReadingGoesOn) {
  if (!ShmIsAnotherFileSystem()) {
    GTEST_SKIP() << "needs /dev/shm on another file system than the temp dir";
  }
  skidder::testing::TempDir other("/dev/shm");
  std::string captured;
  log::CaptureForTest(&captured);
  auto o = Options();
  o.held_dir = other / "held";
  const std::string log = h_.dir / "0.log";
  WriteFile(log, "a\n");
  h_.Start(h_.dir / "*.log", o);
  ASSERT_TRUE(h_.WaitLines(log, {"a"}));
  for (int i = 0; i < 2; ++i) {
    std::string rotated = log;  // appended, not `log + "." + ...`: GCC 12 warns -Wrestrict there
    rotated.append(".").append(std::to_string(i));
    ASSERT_EQ(std::rename(log.c_str(), rotated.c_str()), 0);
    WriteFile(log, "n" + std::to_string(i) + "\n");
    ASSERT_TRUE(WaitFor([&] { return h_.sink.Lines(log).size() == static_cast<size_t>(i + 2); }));
  }
  h_.Stop();
  log::CaptureForTest(nullptr);
  size_t errors = 0;
  for (size_t p = captured.find("cannot hard-link"); p != std::string::npos;
       p = captured.find("cannot hard-link", p + 1)) {
    ++errors;
  }
  EXPECT_EQ(errors, 1u) << captured;
}

// Docker's links name files on another mount (/var/lib/docker/containers): a rotation there
// cannot be held, which must not turn holding off for the files of the logs' own mount.
TEST_F(Held, ARotationBehindALinkOnAnotherMountLeavesHoldingOnForTheRest) {
  if (!ShmIsAnotherFileSystem()) {
    GTEST_SKIP() << "needs /dev/shm on another file system than the temp dir";
  }
  skidder::testing::TempDir docker("/dev/shm");
  std::string captured;
  log::CaptureForTest(&captured);
  const std::string real = docker / "c-json.log", link = h_.dir / "c.log";
  const std::string log = h_.dir / "0.log";
  WriteFile(real, "c0\n");
  WriteFile(log, "a0\n");
  ASSERT_EQ(::symlink(real.c_str(), link.c_str()), 0);
  h_.Start(h_.dir / "*.log", Options());
  ASSERT_TRUE(h_.WaitLines(link, {"c0"}));
  ASSERT_TRUE(h_.WaitLines(log, {"a0"}));
  ASSERT_EQ(std::rename(real.c_str(), (real + ".1").c_str()), 0);
  WriteFile(real, "c1\n");
  ASSERT_TRUE(h_.WaitLines(link, {"c0", "c1"}));
  ASSERT_TRUE(WaitFor([&] { return h_.source->ActiveFiles() == 2; }));
  // The other mount's rotation left no record behind (none could be resolved there).
  for (const auto& r : h_.positions->All()) {
    EXPECT_FALSE(r.path.starts_with(docker.path())) << r.path;
  }
  h_.sink.HoldAcks(true);   // Loki down: the next rotation of the logs' mount is held
  AppendFile(log, "a1\n");  // unacknowledged, so its file stays held until Loki is back
  ASSERT_TRUE(h_.WaitLines(log, {"a0", "a1"}));
  ASSERT_EQ(std::rename(log.c_str(), (log + ".1").c_str()), 0);
  WriteFile(log, "a2\n");
  ASSERT_TRUE(WaitFor([&] { return CountEntries(HeldDir()) == 1; }));
  h_.sink.HoldAcks(false);
  h_.sink.ReleaseAcks();
  ASSERT_TRUE(h_.WaitLines(log, {"a0", "a1", "a2"}));
  h_.Stop();
  log::CaptureForTest(nullptr);
  EXPECT_NE(captured.find("cannot hard-link a file rotated behind a symlink"), std::string::npos)
      << captured;
  EXPECT_EQ(captured.find("holding is off"), std::string::npos) << captured;
}

}  // namespace
}  // namespace skidder::sources

namespace skidder::sources {
namespace {

// A stage that asks the source to wait while its gate is closed (as `limit` with drop: false
// does while over its rate).
class GateStage final : public pipeline::Stage {
 public:
  void Process(pipeline::PipelineEntry&& e, pipeline::Emitter& out) override {
    out.Emit(std::move(e));
  }
  int64_t ReadyInNs(int64_t) const override { return closed ? 50'000'000 : 0; }
  std::string_view Name() const override { return "gate"; }
  std::atomic<bool> closed{true};
};

TEST(Backpressure, AStageThatAsksToWaitPausesReadingAndDropsNothing) {
  Harness h;
  auto gate = std::make_unique<GateStage>();
  GateStage* g = gate.get();
  std::vector<std::unique_ptr<pipeline::Stage>> stages;
  stages.push_back(std::move(gate));
  pipeline::Pipeline gated(std::move(stages));
  app::PipelineHandler gated_handler(&gated, &h.sink);
  const std::string log = h.dir / "0.log";
  WriteFile(log, Joined(Numbered("a", 0, 100)));
  h.positions = std::make_unique<Positions>(h.dir / "positions.json", false, &h.metrics);
  h.source = std::make_unique<FileSource>(h.DefaultOptions(), h.positions.get(), &h.sink,
                                          &h.metrics, &SystemClock::Get());
  h.source->SetTargets({FileTarget{"t", Labels{{kPathLabel, h.dir / "*.log"}}, &gated_handler}});
  ASSERT_TRUE(h.source->Start().ok());
  ASSERT_TRUE(WaitFor([&] { return h.source->ActiveFiles() == 1; }));
  // Closed: nothing is read (the file holds the backlog), however long it stays closed.
  EXPECT_FALSE(WaitFor([&] { return h.sink.Count() > 0; }, std::chrono::milliseconds(500)));
  g->closed = false;
  ASSERT_TRUE(h.WaitLines(log, Numbered("a", 0, 100)));
  h.Stop();
}

}  // namespace
}  // namespace skidder::sources

namespace skidder::sources {
namespace {

// The alert on losses is an increase() over these series: one born at its first loss would show
// none, so they are there at zero before anything is read.
TEST(LostBytes, TheLossSeriesAreThereAtZeroBeforeAnyLoss) {
  Harness h;
  h.Start(h.dir / "*.log");
  const std::string page = h.registry.Render();
  for (const char* reason : {"rotated_away", "held_budget"}) {
    EXPECT_NE(page.find(fmt::format("skidder_lost_bytes_total{{reason=\"{}\"}} 0\n", reason)),
              std::string::npos)
        << reason << "\n"
        << page;
  }
}

// With holding off, a file deleted unread while the agent is stopped is lost: exactly what it
// had beyond the acknowledged offset when last seen is counted.
TEST(LostBytes, DeletedUnreadWhileStoppedIsCountedExactly) {
  Harness h;
  const std::string log = h.dir / "0.log";
  const std::string content = Joined(Numbered("a", 0, 300));
  WriteFile(log, content);
  h.sink.HoldAcks(true);  // Loki down: nothing acknowledged
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(WaitFor([&] { return h.sink.Count() == 300; }));
  ASSERT_EQ(std::rename(log.c_str(), (log + ".1").c_str()), 0);
  WriteFile(log, "b\n");
  ASSERT_TRUE(WaitFor([&] { return h.positions->FindByPath(log + ".1").has_value(); }));
  h.source->SyncPositions();
  ASSERT_TRUE(h.positions->Save().ok());
  h.Stop();
  h.sink.Take();
  h.sink.HoldAcks(false);
  ASSERT_EQ(::unlink((log + ".1").c_str()), 0);  // the kubelet deletes it while we are down
  h.positions = std::make_unique<Positions>(h.dir / "positions.json", false, &h.metrics);
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(h.WaitLines(log, {"b"}));
  EXPECT_EQ(h.metrics.lost_bytes.With({telemetry::kReasonRotatedAway})->Value(),
            static_cast<double>(content.size()));
}

}  // namespace
}  // namespace skidder::sources

namespace skidder::sources {
namespace {

// A local user who can write a standalone log directory plants a link to a root-only file.
TEST(SymlinkRoots, LinksOutOfTheRootsAreNotReadAndAreCounted) {
  Harness h;
  skidder::testing::TempDir secret_dir;
  WriteFile(secret_dir / "shadow", "root:secret\n");
  skidder::testing::MakeDirs(h.dir / "logs/sub");
  WriteFile(h.dir / "logs/sub/real.log", "inside\n");
  ASSERT_EQ(::symlink((secret_dir / "shadow").c_str(), (h.dir / "logs/evil.log").c_str()), 0);
  ASSERT_EQ(::symlink((h.dir / "logs/sub/real.log").c_str(), (h.dir / "logs/ok.log").c_str()), 0);
  auto o = h.DefaultOptions();
  o.symlink_roots = {h.dir / "logs"};
  h.Start(h.dir / "logs/*.log", o);
  // The link that stays inside the roots is followed; the other is refused, once, and counted.
  ASSERT_TRUE(h.WaitLines(h.dir / "logs/ok.log", {"inside"}));
  ASSERT_TRUE(WaitFor([&] { return h.metrics.symlinks_refused.With({})->Value() >= 1; }));
  EXPECT_TRUE(h.sink.Lines(h.dir / "logs/evil.log").empty());
  for (const auto& l : h.sink.Lines()) EXPECT_EQ(l.find("secret"), std::string::npos);
}

TEST(SymlinkRoots, WithoutRootsLinksAreFollowedAsPromtailDoes) {
  Harness h;
  skidder::testing::TempDir elsewhere;
  WriteFile(elsewhere / "app.log", "followed\n");
  ASSERT_EQ(::symlink((elsewhere / "app.log").c_str(), (h.dir / "app.log").c_str()), 0);
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(h.WaitLines(h.dir / "app.log", {"followed"}));
}

}  // namespace
}  // namespace skidder::sources
