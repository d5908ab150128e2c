// What a discovery pass learns from the directory listing instead of a stat per file: a link is
// still known as one (its writes raise no event where the source watches), and a name whose
// listing inode is not the file's (a file bind-mounted over it) is read, once, without a pass
// after pass taking it for a rotation.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "fake_sink.h"
#include "fake_watcher.h"

namespace skidder::sources {
namespace {

using skidder::testing::AppendFile;
using skidder::testing::WaitFor;
using skidder::testing::WriteFile;
using testing::FakeWatcher;
using testing::Harness;

WatchEvents Only(bool rescan, const std::string& created, const std::string& written) {
  WatchEvents ev;
  ev.rescan = rescan;
  if (!created.empty()) ev.created.push_back(created);
  if (!written.empty()) ev.written.push_back(written);
  return ev;
}

// The fake watcher raises no event of its own and polls nothing: a write to a file is seen
// without an event only if the source knows to look at the file on its ticks.
TEST(DiscoveryListing, AFileFoundThroughALinkIsStillReadWithoutWriteEvents) {
  Harness h;
  FakeWatcher::State ws;
  skidder::testing::TempDir elsewhere;
  WriteFile(elsewhere / "a.log", "a1\n");
  WriteFile(elsewhere / "b.log", "b1\n");
  const std::string a = h.dir / "a.log", b = h.dir / "b.log";
  ASSERT_EQ(::symlink((elsewhere / "a.log").c_str(), a.c_str()), 0);
  h.Start(h.dir / "*.log", h.DefaultOptions(), std::make_unique<FakeWatcher>(&ws));
  ASSERT_TRUE(h.WaitLines(a, {"a1"}));  // found by the pass's listing (d_type DT_LNK)
  AppendFile(elsewhere / "a.log", "a2\n");
  ASSERT_TRUE(h.WaitLines(a, {"a1", "a2"}));

  ASSERT_EQ(::symlink((elsewhere / "b.log").c_str(), b.c_str()), 0);
  Deliver(ws, Only(false, b, ""));  // opened from the event, without a pass
  ASSERT_TRUE(h.WaitLines(b, {"b1"}));
  AppendFile(elsewhere / "b.log", "b2\n");
  ASSERT_TRUE(h.WaitLines(b, {"b1", "b2"}));
  EXPECT_EQ(ws.passes.load(), 1);
}

// A file behind a link (h.dir/c.log -> elsewhere/0.log) whose first line "a1" the source has
// read, with a fake watcher and the timed pass as good as never (an hour; in 5 minutes when
// inotify runs): only the link checks can find what happens behind the link.
class BehindALink : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(real, "a1\n");
    ASSERT_EQ(::symlink(real.c_str(), link.c_str()), 0);
    auto o = h.DefaultOptions();
    o.rescan_period = std::chrono::hours(1);
    h.Start(h.dir / "*.log", o, std::make_unique<FakeWatcher>(&ws));
    ASSERT_TRUE(h.WaitLines(link, {"a1"}));
  }
  Harness h;
  FakeWatcher::State ws;
  skidder::testing::TempDir elsewhere;
  const std::string real = elsewhere / "0.log", link = h.dir / "c.log";
};

// The file behind a link is rotated where no watch of ours sees it (the kubelet or Docker renames
// it in the link target's directory): the tick that checks the link's files notices within about
// a second that the link names another file, and a pass opens it. Waiting for the timed pass (5
// minutes) skipped a whole file whenever it was rotated again before that.
TEST_F(BehindALink, ARotationIsFollowedWithoutWaitingForTheTimedPass) {
  // Rotated twice; each new file read from its first line, the stream in order.
  std::vector<std::string> want = {"a1"};
  for (const char* next : {"b", "c"}) {
    std::string rotated = real;  // appended, not `real + "." + ...`: GCC 12 warns -Wrestrict there
    rotated.append(".").append(next);
    ASSERT_EQ(std::rename(real.c_str(), rotated.c_str()), 0);
    WriteFile(real, std::string(next) + "1\n");
    want.push_back(std::string(next) + "1");
    ASSERT_TRUE(h.WaitLines(link, want)) << ::testing::PrintToString(h.sink.Lines(link));
    AppendFile(real, std::string(next) + "2\n");
    want.push_back(std::string(next) + "2");
    ASSERT_TRUE(h.WaitLines(link, want)) << ::testing::PrintToString(h.sink.Lines(link));
  }
}

// The runtime renames the file behind a link and creates the new one a moment later: a pass in
// between finds the link dangling, and nothing else would look at it before the timed pass. The
// link stays watched (once a second) until it names a file again, which is then read at once.
TEST_F(BehindALink, ALinkLeftDanglingByARotationIsReadOnceItNamesTheNewFile) {
  const int passes = ws.passes.load();
  ASSERT_EQ(std::rename(real.c_str(), (real + ".1").c_str()), 0);
  // The link check finds the file gone from the link and asks for a pass, which finds the link
  // dangling; the rotated file is read to its end and closed.
  ASSERT_TRUE(WaitFor([&] { return ws.passes.load() > passes && h.source->ActiveFiles() == 0; }));
  WriteFile(real, "b1\n");
  ASSERT_TRUE(h.WaitLines(link, {"a1", "b1"})) << ::testing::PrintToString(h.sink.Lines(link));
}

// The same, when a pass (an event of another file in the directory) finds the link dangling
// before the once-a-second link check has looked: the pass itself keeps the link watched.
TEST_F(BehindALink, ALinkAPassFoundDanglingIsReadOnceItNamesTheNewFile) {
  ASSERT_EQ(std::rename(real.c_str(), (real + ".1").c_str()), 0);
  Deliver(ws, Only(true, "", ""));
  ASSERT_TRUE(WaitFor([&] { return h.source->ActiveFiles() == 0; }));
  WriteFile(real, "b1\n");
  ASSERT_TRUE(h.WaitLines(link, {"a1", "b1"})) << ::testing::PrintToString(h.sink.Lines(link));
}

// A pass lists a new directory and reads a new file without writing their inodes (O_NOATIME;
// the test owns both, so it may ask). Their atime is set before their mtime, where relatime
// would update it.
TEST(DiscoveryListing, ListingADirectoryAndReadingAFileLeaveTheirAccessTimes) {
  Harness h;
  ::mkdir((h.dir / "pod").c_str(), 0755);
  const std::string file = h.dir / "pod/0.log";
  WriteFile(file, "x\n");
  const timespec times[2] = {{1000, 0}, {0, UTIME_OMIT}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (h.dir / "pod").c_str(), times, 0), 0);
  ASSERT_EQ(::utimensat(AT_FDCWD, file.c_str(), times, 0), 0);
  h.Start(h.dir / "*/*.log");
  ASSERT_TRUE(h.WaitLines(file, {"x"}));
  struct stat d, f;
  ASSERT_EQ(::stat((h.dir / "pod").c_str(), &d), 0);
  ASSERT_EQ(::stat(file.c_str(), &f), 0);
  EXPECT_EQ(d.st_atim.tv_sec, 1000);
  EXPECT_EQ(f.st_atim.tv_sec, 1000);
}

WatchEvents MovedAway(const std::string& dir, std::vector<std::string> created) {
  WatchEvents ev;
  ev.rescan_dirs.push_back(dir);
  ev.created = std::move(created);
  return ev;
}

// Rotation in one pod's directory among several: the new file is opened and the rotated one read
// to its end by listing that directory, without a pass over all of them (the fake watcher counts
// full passes; the timed one is a minute away).
TEST(DiscoveryEvents, ARotationIsSortedOutByListingItsDirectoryAlone) {
  Harness h;
  FakeWatcher::State ws;
  for (const char* d : {"a", "b", "c"}) {
    ::mkdir((h.dir / d).c_str(), 0755);
    WriteFile(h.dir / (std::string(d) + "/0.log"), std::string(d) + "1\n");
  }
  h.Start(h.dir / "*/*.log", h.DefaultOptions(), std::make_unique<FakeWatcher>(&ws));
  const std::string a = h.dir / "a/0.log", rotated = h.dir / "a/0.log.20261202-050000";
  ASSERT_TRUE(h.WaitLines(a, {"a1"}));
  AppendFile(a, "a2\n");
  ASSERT_EQ(std::rename(a.c_str(), rotated.c_str()), 0);
  WriteFile(a, "a3\n");
  Deliver(ws, MovedAway(h.dir / "a", {rotated, a}));
  ASSERT_TRUE(h.WaitLines(a, {"a1", "a2", "a3"}));
  ASSERT_TRUE(h.WaitLines(h.dir / "b/0.log", {"b1"}));
  EXPECT_EQ(ws.passes.load(), 1);
  EXPECT_EQ(h.sink.Lines().size(), 5u);  // a1 a2 a3 b1 c1, each once
}

// A file renamed into another directory the glob lists is the same open file under its new
// name: read on from where it was, not drained and found again.
TEST(DiscoveryEvents, AFileMovedToAnotherListedDirectoryIsReadOnWithoutAFullPass) {
  Harness h;
  FakeWatcher::State ws;
  ::mkdir((h.dir / "a").c_str(), 0755);
  ::mkdir((h.dir / "b").c_str(), 0755);
  const std::string from = h.dir / "a/x.log", to = h.dir / "b/x.log";
  WriteFile(from, "l1\n");
  h.Start(h.dir / "*/*.log", h.DefaultOptions(), std::make_unique<FakeWatcher>(&ws));
  ASSERT_TRUE(h.WaitLines(from, {"l1"}));
  ASSERT_EQ(std::rename(from.c_str(), to.c_str()), 0);
  AppendFile(to, "l2\n");
  WatchEvents ev = MovedAway(h.dir / "a", {to});
  ev.written.push_back(to);
  Deliver(ws, ev);
  ASSERT_TRUE(WaitFor([&] { return h.sink.Lines().size() >= 2; }));
  AppendFile(to, "l3\n");
  Deliver(ws, Only(false, "", to));
  ASSERT_TRUE(WaitFor([&] { return h.sink.Lines().size() >= 3; }));
  EXPECT_EQ(h.sink.Lines(), (std::vector<std::string>{"l1", "l2", "l3"}));
  // Its position is kept under the new name (a drained file's record would be gone).
  EXPECT_TRUE(WaitFor([&] {
    h.source->SyncPositions();
    auto r = h.positions->FindByPath(to);
    return r && r->offset == 9;
  }));
  EXPECT_EQ(ws.passes.load(), 1);
  EXPECT_EQ(h.source->ActiveFiles(), 1u);
}

// A pod that comes and goes among others: its new directory is walked alone (watched, its file
// read), and once it is removed its file is read to the end and closed, without a pass over
// every other pod's directories (the fake watcher counts full passes; the timed one is a
// minute away). What inotify reports for both is the test above's.
TEST(DiscoveryEvents, APodThatComesAndGoesCostsNoPassOverTheOtherPods) {
  Harness h;
  FakeWatcher::State ws;
  for (const char* pod : {"a", "b"}) {
    skidder::testing::MakeDirs(h.dir / (std::string(pod) + "/app"));
    WriteFile(h.dir / (std::string(pod) + "/app/0.log"), std::string(pod) + "1\n");
  }
  h.Start(h.dir / "*/*/*.log", h.DefaultOptions(), std::make_unique<FakeWatcher>(&ws));
  ASSERT_TRUE(h.WaitLines(h.dir / "b/app/0.log", {"b1"}));
  const std::string pod = h.dir / "new", log = h.dir / "new/app/0.log";
  skidder::testing::MakeDirs(pod + "/app");
  WriteFile(log, "n1\n");
  WatchEvents made;
  made.new_dirs.push_back(pod);
  Deliver(ws, made);
  ASSERT_TRUE(h.WaitLines(log, {"n1"}));
  {
    std::lock_guard lock(ws.mu);
    EXPECT_TRUE(ws.dirs.contains(pod));
    EXPECT_TRUE(ws.dirs.contains(pod + "/app"));
  }
  AppendFile(log, "n2\n");
  Deliver(ws, Only(false, "", log));
  ASSERT_TRUE(h.WaitLines(log, {"n1", "n2"}));
  AppendFile(log, "n3\n");  // its last line, written as the pod ends
  ASSERT_EQ(::unlink(log.c_str()), 0);
  ASSERT_EQ(::rmdir((pod + "/app").c_str()), 0);
  ASSERT_EQ(::rmdir(pod.c_str()), 0);
  // inotify names the directory whose file went as well; that a directory is gone is enough
  // by itself (as after an unmount, where no file's deletion is told).
  WatchEvents gone;
  gone.gone_dirs = {pod + "/app", pod};
  Deliver(ws, gone);
  ASSERT_TRUE(h.WaitLines(log, {"n1", "n2", "n3"}));
  EXPECT_TRUE(WaitFor([&] { return h.source->ActiveFiles() == 2; }));
  EXPECT_EQ(ws.passes.load(), 1);
  EXPECT_EQ(h.sink.Lines().size(), 5u);  // a1 b1 n1 n2 n3, each once
}

// A file renamed from a listed directory into a directory made since the last pass (not yet
// watched, so its writes raised no event): the walk from the new directory finds it open under
// its new name, and it is read on from where it was, bytes written meanwhile too.
TEST(DiscoveryEvents, AFileMovedIntoANewDirectoryIsReadOnUnderItsNewName) {
  Harness h;
  FakeWatcher::State ws;
  ::mkdir((h.dir / "a").c_str(), 0755);
  const std::string from = h.dir / "a/x.log", to = h.dir / "c/x.log";
  WriteFile(from, "l1\n");
  h.Start(h.dir / "*/*.log", h.DefaultOptions(), std::make_unique<FakeWatcher>(&ws));
  ASSERT_TRUE(h.WaitLines(from, {"l1"}));
  ::mkdir((h.dir / "c").c_str(), 0755);
  ASSERT_EQ(std::rename(from.c_str(), to.c_str()), 0);
  AppendFile(to, "l2\n");
  WatchEvents ev = MovedAway(h.dir / "a", {});
  ev.new_dirs.push_back(h.dir / "c");
  Deliver(ws, ev);
  ASSERT_TRUE(WaitFor([&] { return h.sink.Lines().size() >= 2; }));
  EXPECT_EQ(h.sink.Lines(), (std::vector<std::string>{"l1", "l2"}));
  EXPECT_TRUE(WaitFor([&] {
    h.source->SyncPositions();
    auto r = h.positions->FindByPath(to);
    return r && r->offset == 6;
  }));
  EXPECT_EQ(ws.passes.load(), 1);
  EXPECT_EQ(h.source->ActiveFiles(), 1u);
}

// The same rename, with the new directory's event read before the old directory's (the file
// moved between the two reads): the walk from the new directory finds the open file under its
// new name and follows it there; the old directory's event later finds nothing to do. Before,
// the file was taken for deleted when that event came, closed, and read again from its start
// at the next full pass.
TEST(DiscoveryEvents, AFileMovedIntoANewDirectoryIsFollowedBeforeItsOldDirectorysEventComes) {
  Harness h;
  FakeWatcher::State ws;
  ::mkdir((h.dir / "a").c_str(), 0755);
  const std::string from = h.dir / "a/x.log", to = h.dir / "c/x.log";
  WriteFile(from, "l1\n");
  h.Start(h.dir / "*/*.log", h.DefaultOptions(), std::make_unique<FakeWatcher>(&ws));
  ASSERT_TRUE(h.WaitLines(from, {"l1"}));
  ::mkdir((h.dir / "c").c_str(), 0755);
  ASSERT_EQ(std::rename(from.c_str(), to.c_str()), 0);
  AppendFile(to, "l2\n");
  WatchEvents made;
  made.new_dirs.push_back(h.dir / "c");
  Deliver(ws, made);
  ASSERT_TRUE(WaitFor([&] { return h.sink.Lines().size() >= 2; }));
  // The record moved with the file; the old name's is gone.
  EXPECT_TRUE(h.positions->FindByPath(to).has_value());
  EXPECT_FALSE(h.positions->FindByPath(from).has_value());
  EXPECT_TRUE(WaitFor([&] {
    h.source->SyncPositions();
    auto r = h.positions->FindByPath(to);
    return r && r->offset == 6;
  }));
  Deliver(ws, MovedAway(h.dir / "a", {}));
  AppendFile(to, "l3\n");
  Deliver(ws, Only(false, "", to));
  ASSERT_TRUE(WaitFor([&] { return h.sink.Lines().size() >= 3; }));
  EXPECT_TRUE(WaitFor([&] {
    h.source->SyncPositions();
    auto r = h.positions->FindByPath(to);
    return r && r->offset == 9;
  }));
  EXPECT_EQ(h.sink.Lines(), (std::vector<std::string>{"l1", "l2", "l3"}));
  EXPECT_FALSE(h.positions->FindByPath(from).has_value());
  EXPECT_EQ(ws.passes.load(), 1);
  EXPECT_EQ(h.source->ActiveFiles(), 1u);
}

// A file followed to a new name that is a link to it (moved out of the globs' reach, a link
// left where they look): it is looked at on ticks from then on, as a file first found through
// a link is, since its writes raise no event in a watched directory.
TEST(DiscoveryListing, AFileFollowedToALinkIsStillReadWithoutWriteEvents) {
  Harness h;
  FakeWatcher::State ws;
  skidder::testing::TempDir elsewhere;
  ::mkdir((h.dir / "a").c_str(), 0755);
  ::mkdir((h.dir / "c").c_str(), 0755);
  const std::string from = h.dir / "a/x.log", link = h.dir / "c/x.log";
  const std::string moved = elsewhere / "x.log";
  WriteFile(from, "l1\n");
  h.Start(h.dir / "*/*.log", h.DefaultOptions(), std::make_unique<FakeWatcher>(&ws));
  ASSERT_TRUE(h.WaitLines(from, {"l1"}));
  ASSERT_EQ(std::rename(from.c_str(), moved.c_str()), 0);
  ASSERT_EQ(::symlink(moved.c_str(), link.c_str()), 0);
  WatchEvents ev = MovedAway(h.dir / "a", {});
  ev.rescan_dirs.push_back(h.dir / "c");
  Deliver(ws, ev);
  EXPECT_TRUE(WaitFor([&] {
    h.source->SyncPositions();
    return h.positions->FindByPath(link).has_value();
  }));
  AppendFile(moved, "l2\n");  // no event: the fake raises none, inotify would not either
  ASSERT_TRUE(WaitFor([&] { return h.sink.Lines().size() >= 2; }));
  EXPECT_EQ(h.sink.Lines(), (std::vector<std::string>{"l1", "l2"}));
  EXPECT_EQ(h.source->ActiveFiles(), 1u);
}

// An inotify watcher of its own, with the metrics it counts into.
struct RealWatcher {
  telemetry::Registry registry;
  telemetry::AgentMetrics metrics{registry};
  std::unique_ptr<InotifyWatcher> watcher = InotifyWatcher::Create(&metrics);
};

// Writes a new file at path and returns the files w reports created since its last read.
std::vector<std::string> CreatedByWriting(InotifyWatcher& w, const std::string& path) {
  WriteFile(path, "x\n");
  WatchEvents ev;
  w.ReadEvents(&ev);
  return ev.created;
}

// What inotify tells: of a rotation, the directory whose file moved or went; of a directory
// made, its name (walked alone); of one removed, that it is gone (listed alone, after the
// events of its files). Only a directory moved asks for a full pass (its files have new names).
TEST(DiscoveryEvents, InotifyNamesTheDirectoriesARotationADirectoryMadeOrRemovedTouch) {
  skidder::testing::TempDir dir;
  RealWatcher real;
  const std::unique_ptr<InotifyWatcher>& w = real.watcher;
  ASSERT_NE(w, nullptr);
  ::mkdir((dir / "a").c_str(), 0755);
  WriteFile(dir / "a/0.log", "x\n");
  WriteFile(dir / "a/1.log", "x\n");
  w->BeginPass();
  w->Add(dir / "a");
  w->EndPass();
  ASSERT_EQ(std::rename((dir / "a/0.log").c_str(), (dir / "a/0.log.1").c_str()), 0);
  ASSERT_EQ(::unlink((dir / "a/1.log").c_str()), 0);
  WatchEvents ev;
  w->ReadEvents(&ev);
  EXPECT_FALSE(ev.rescan);
  EXPECT_EQ(ev.rescan_dirs, std::vector<std::string>{dir / "a"});
  EXPECT_EQ(ev.created, std::vector<std::string>{dir / "a/0.log.1"});

  ::mkdir((dir / "a/sub").c_str(), 0755);
  WatchEvents made;
  w->ReadEvents(&made);
  EXPECT_FALSE(made.rescan);
  EXPECT_EQ(made.new_dirs, std::vector<std::string>{dir / "a/sub"});
  EXPECT_TRUE(made.rescan_dirs.empty());

  w->Add(dir / "a/sub");  // as the walk from it does
  WriteFile(dir / "a/sub/0.log", "x\n");
  ASSERT_EQ(::unlink((dir / "a/sub/0.log").c_str()), 0);
  ASSERT_EQ(::rmdir((dir / "a/sub").c_str()), 0);
  WatchEvents removed;
  w->ReadEvents(&removed);
  EXPECT_FALSE(removed.rescan);
  EXPECT_EQ(removed.rescan_dirs, std::vector<std::string>{dir / "a/sub"});  // its file went
  EXPECT_EQ(removed.gone_dirs, std::vector<std::string>{dir / "a/sub"});
  EXPECT_EQ(w->watched(), 1u);

  ::mkdir((dir / "a/from").c_str(), 0755);
  ASSERT_EQ(std::rename((dir / "a/from").c_str(), (dir / "a/to").c_str()), 0);
  WatchEvents moved;
  w->ReadEvents(&moved);
  EXPECT_TRUE(moved.rescan);
}

// A pod's directories removed while the reader still holds one of its files open (deleted,
// being read to its end) and made again under the same names (a static pod keeps its UID): the
// kernel ends the old watches only when that file closes, so the walk of the new directory
// must not take them for its own. Without the fix the new container directory was unwatched
// and a file created in it went unnoticed until a full pass.
TEST(DiscoveryEvents, ADirectoryMadeAgainUnderItsNameIsWatchedWhileAFileOfTheOldOneIsOpen) {
  skidder::testing::TempDir dir;
  RealWatcher real;
  const std::unique_ptr<InotifyWatcher>& w = real.watcher;
  ASSERT_NE(w, nullptr);
  const std::string pod = dir / "pod", app = dir / "pod/app";
  skidder::testing::MakeDirs(app);
  WriteFile(app + "/0.log", "x\n");
  w->BeginPass();
  for (const std::string& d : {std::string(dir.path()), pod, app}) w->Add(d);
  w->EndPass();
  const int open_file = ::open((app + "/0.log").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(open_file, 0);
  ASSERT_EQ(::unlink((app + "/0.log").c_str()), 0);
  ASSERT_EQ(::rmdir(app.c_str()), 0);
  ASSERT_EQ(::rmdir(pod.c_str()), 0);
  WatchEvents removed;
  w->ReadEvents(&removed);
  EXPECT_TRUE(removed.gone_dirs.empty());  // not yet: the open file keeps them alive

  skidder::testing::MakeDirs(app);
  WatchEvents made;
  w->ReadEvents(&made);
  EXPECT_EQ(made.new_dirs, std::vector<std::string>{pod});
  w->Add(pod);  // as the walk from the new directory does
  w->Add(app);
  EXPECT_EQ(CreatedByWriting(*w, app + "/1.log"), std::vector<std::string>{app + "/1.log"});

  ::close(open_file);  // the old directories end now; their last events name nothing
  WatchEvents ended;
  w->ReadEvents(&ended);
  EXPECT_TRUE(ended.gone_dirs.empty());
  EXPECT_FALSE(ended.rescan);
  EXPECT_EQ(w->watched(), 3u);
  EXPECT_EQ(CreatedByWriting(*w, app + "/2.log"), std::vector<std::string>{app + "/2.log"});
}

// A watched directory moved to another name the globs reach: the pass after it watches the new
// name (the kernel hands back the same descriptor, a watch being per directory) and drops the
// old name, which must not remove the watch both names had.
TEST(WatchEvents, ADirectoryMovedIsStillWatchedAtItsNewNameAfterThePassDropsTheOld) {
  skidder::testing::TempDir dir;
  RealWatcher real;
  const std::unique_ptr<InotifyWatcher>& w = real.watcher;
  ASSERT_NE(w, nullptr);
  const std::string from = dir / "p", to = dir / "p2";
  ::mkdir(from.c_str(), 0755);
  w->BeginPass();
  w->Add(dir.path());
  w->Add(from);
  w->EndPass();
  ASSERT_EQ(std::rename(from.c_str(), to.c_str()), 0);
  WatchEvents moved;
  w->ReadEvents(&moved);
  EXPECT_TRUE(moved.rescan);
  w->BeginPass();  // the full pass it asks for
  w->Add(dir.path());
  w->Add(to);
  w->EndPass();
  EXPECT_EQ(w->watched(), 2u);
  EXPECT_EQ(CreatedByWriting(*w, to + "/0.log"), std::vector<std::string>{to + "/0.log"});
}

// The watcher finds a directory by its watch descriptor in a sorted vector with holes: after
// most directories stopped being watched (left out of a pass, or deleted), in any order, the
// remaining ones and one watched anew still name their events.
TEST(WatchEvents, DirectoriesLeftAfterManyAreUnwatchedStillReportTheirEvents) {
  skidder::testing::TempDir dir;
  RealWatcher real;
  const std::unique_ptr<InotifyWatcher>& w = real.watcher;
  ASSERT_NE(w, nullptr);
  constexpr int kDirs = 60;
  const auto name = [&](int i) {
    std::string d = dir / "d";
    return d += std::to_string(i);
  };
  w->BeginPass();
  for (int i = 0; i < kDirs; ++i) {
    ::mkdir(name(i).c_str(), 0755);
    w->Add(name(i));
  }
  w->EndPass();
  // Every third directory stays; of the others, half are deleted, half left out of a pass.
  for (int i = 0; i < kDirs; ++i) {
    if (i % 3 != 0 && i % 2 == 0) {
      ASSERT_EQ(::rmdir(name(i).c_str()), 0);
    }
  }
  WatchEvents gone;
  w->ReadEvents(&gone);
  EXPECT_FALSE(gone.rescan);
  std::vector<std::string> removed;
  for (int i = 0; i < kDirs; ++i) {
    if (i % 3 != 0 && i % 2 == 0) removed.push_back(name(i));
  }
  std::sort(gone.gone_dirs.begin(), gone.gone_dirs.end());
  std::sort(removed.begin(), removed.end());
  EXPECT_EQ(gone.gone_dirs, removed);
  w->BeginPass();
  for (int i = 0; i < kDirs; i += 3) w->Add(name(i));
  ::mkdir(name(kDirs).c_str(), 0755);
  w->Add(name(kDirs));
  w->EndPass();
  EXPECT_EQ(w->watched(), static_cast<size_t>(kDirs / 3 + 1));
  std::vector<std::string> want;
  for (int i = kDirs; i >= 0; i -= 3) {
    WriteFile(name(i) + "/0.log", "x\n");
    want.push_back(name(i) + "/0.log");
  }
  WatchEvents ev;
  w->ReadEvents(&ev);
  std::sort(want.begin(), want.end());
  std::sort(ev.created.begin(), ev.created.end());
  EXPECT_EQ(ev.created, want);
}

// In a child with its own mount namespace (root only; skipped elsewhere): a file bind-mounted
// over a name the glob matches. The listing's d_ino is then the covered file's, not what an
// fstat of the opened name says. Exit codes: 0 ok, 77 cannot mount, else the failed step.
int BindMountedFileChild() {
  if (::unshare(CLONE_NEWNS) != 0) return 77;
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return 77;
  int code = 0;
  {
    Harness h;
    FakeWatcher::State ws;
    ::mkdir((h.dir / "outside").c_str(), 0755);
    const std::string real = h.dir / "outside/real.log", name = h.dir / "app.log";
    WriteFile(real, "m1\n");
    WriteFile(name, "covered\n");
    if (::mount(real.c_str(), name.c_str(), nullptr, MS_BIND, nullptr) != 0) return 77;
    h.Start(h.dir / "*.log", h.DefaultOptions(), std::make_unique<FakeWatcher>(&ws));
    if (!h.WaitLines(name, {"m1"})) code = 1;
    AppendFile(real, "m2\n");
    if (code == 0) Deliver(ws, Only(false, "", name));
    if (code == 0 && !h.WaitLines(name, {"m1", "m2"})) code = 2;
    if (code == 0 && ws.passes.load() != 1) code = 3;  // no pass after pass
    // A later pass knows the open file by its real inode: it neither drains nor reopens it.
    if (code == 0) Deliver(ws, Only(true, "", ""));
    if (code == 0 && !WaitFor([&] { return ws.passes.load() >= 2; })) code = 4;
    AppendFile(real, "m3\n");
    if (code == 0) Deliver(ws, Only(false, "", name));
    if (code == 0 && !h.WaitLines(name, {"m1", "m2", "m3"})) code = 5;
    if (code == 0 && (ws.passes.load() != 2 || h.source->ActiveFiles() != 1)) code = 6;
    h.Stop();
    ::umount2(name.c_str(), MNT_DETACH);
  }
  return code;
}

TEST(DiscoveryListing, AFileBindMountedOverANameIsReadOnceNotTakenForARotation) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) ::_exit(BindMountedFileChild());
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "no mount namespace here (needs root)";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "failed step (see BindMountedFileChild)";
}

}  // namespace
}  // namespace skidder::sources
