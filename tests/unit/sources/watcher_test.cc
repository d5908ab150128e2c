// The file source's reactions to watch events, driven by a fake watcher: what an event costs
// (a pass over every directory, or only the file it names) and that lost events are recovered.
#include <gtest/gtest.h>
#include <sys/stat.h>

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

WatchEvents Created(const std::string& path) {
  WatchEvents ev;
  ev.created.push_back(path);
  return ev;
}
WatchEvents Written(const std::string& path) {
  WatchEvents ev;
  ev.written.push_back(path);
  return ev;
}
WatchEvents Overflow() {
  WatchEvents ev;
  ev.overflow = true;  // what a full inotify queue says; rescan left to the source
  return ev;
}

// With a watcher that has a descriptor and polls nothing, the timed pass is a minute away: any
// pass a test sees was asked for by an event.
struct Watched {
  Harness h;
  FakeWatcher::State ws;
  void Start() { h.Start(h.dir / "*.log", h.DefaultOptions(), std::make_unique<FakeWatcher>(&ws)); }
};

TEST(WatchEvents, ACreatedFileIsTailedWithoutAPassOverTheDirectories) {
  Watched w;
  const std::string a = w.h.dir / "a.log", b = w.h.dir / "b.log";
  WriteFile(a, "a1\n");
  w.Start();
  ASSERT_TRUE(w.h.WaitLines(a, {"a1"}));
  ASSERT_EQ(w.ws.passes.load(), 1);
  WriteFile(b, "b1\n");
  Deliver(w.ws, Created(b));
  ASSERT_TRUE(w.h.WaitLines(b, {"b1"}));
  AppendFile(b, "b2\n");
  Deliver(w.ws, Written(b));
  ASSERT_TRUE(w.h.WaitLines(b, {"b1", "b2"}));
  EXPECT_EQ(w.ws.passes.load(), 1);
}

TEST(WatchEvents, AFileCreatedNoTargetWantsIsNotOpened) {
  Watched w;
  const std::string a = w.h.dir / "a.log", txt = w.h.dir / "notes.txt";
  WriteFile(a, "a1\n");
  w.Start();
  ASSERT_TRUE(w.h.WaitLines(a, {"a1"}));
  WriteFile(txt, "t1\n");
  Deliver(w.ws, Created(txt));
  AppendFile(a, "a2\n");
  Deliver(w.ws, Written(a));  // events are handled in order: the .txt one came first
  ASSERT_TRUE(w.h.WaitLines(a, {"a1", "a2"}));
  EXPECT_TRUE(w.h.sink.Lines(txt).empty());
  EXPECT_EQ(w.h.source->ActiveFiles(), 1u);
}

TEST(WatchEvents, LostEventsMakeAPassThatFindsWhatTheyWouldHaveAnnounced) {
  Watched w;
  const std::string a = w.h.dir / "a.log", b = w.h.dir / "b.log";
  WriteFile(a, "a1\n");
  w.Start();
  ASSERT_TRUE(w.h.WaitLines(a, {"a1"}));
  WriteFile(b, "b1\n");  // its creation and this write were lost with the queue
  AppendFile(a, "a2\n");
  Deliver(w.ws, Overflow());
  ASSERT_TRUE(w.h.WaitLines(b, {"b1"}));
  ASSERT_TRUE(w.h.WaitLines(a, {"a1", "a2"}));  // every open file is checked again too
  EXPECT_GE(w.ws.passes.load(), 2);
}

TEST(WatchEvents, AFileCreatedOverAnOpenFilesNameIsSortedOutByAPass) {
  Watched w;
  const std::string a = w.h.dir / "a.log", tmp = w.h.dir / "a.new";
  WriteFile(a, "old1\n");
  w.Start();
  ASSERT_TRUE(w.h.WaitLines(a, {"old1"}));
  WriteFile(tmp, "new1\n");
  ASSERT_EQ(std::rename(tmp.c_str(), a.c_str()), 0);  // the old file loses its last name
  Deliver(w.ws, Created(a));
  ASSERT_TRUE(w.h.WaitLines(a, {"old1", "new1"}));
  EXPECT_GE(w.ws.passes.load(), 2);
}

TEST(WatchEvents, ADiscoveryPassWatchesEveryDirectoryTheGlobReaches) {
  Watched w;
  ::mkdir((w.h.dir / "pod").c_str(), 0755);
  WriteFile(w.h.dir / "pod/0.log", "x\n");
  w.h.Start(w.h.dir / "*/*.log", w.h.DefaultOptions(), std::make_unique<FakeWatcher>(&w.ws));
  ASSERT_TRUE(w.h.WaitLines(w.h.dir / "pod/0.log", {"x"}));
  std::lock_guard lock(w.ws.mu);
  EXPECT_TRUE(w.ws.dirs.contains(w.h.dir / "pod"));
}

}  // namespace
}  // namespace skidder::sources
