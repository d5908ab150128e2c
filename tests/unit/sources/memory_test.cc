// What the file source's per-file bookkeeping costs in memory where thousands of files make it
// the agent's peak: saving positions and a watcher's pass over every directory. This binary's
// operator new counts bytes and calls while a test asks it to.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "sources/file/positions.h"
#include "sources/file/tailed_file.h"
#include "sources/file/watcher.h"
#include "support/counting_new.h"
#include "support/test_util.h"
#include "util/unique_fd.h"

namespace {
bool& g_counting = skidder::testing::alloc_count::counting;
size_t& g_allocations = skidder::testing::alloc_count::allocations;
size_t& g_bytes = skidder::testing::alloc_count::bytes;
}  // namespace

namespace skidder::sources {
namespace {

using skidder::testing::MakeDirs;
using skidder::testing::TempDir;

void StartCounting() {
  g_allocations = 0;
  g_bytes = 0;
  g_counting = true;
}

// With 10,000 files the positions document is ~2 MB; building it in memory (and copying it into
// a string) cost twice that on every save, at the moment a backlog's buffers are full.
TEST(FileSourceMemory, SavingPositionsDoesNotHoldTheWholeDocumentInMemory) {
  TempDir dir;
  telemetry::Registry registry;
  telemetry::AgentMetrics metrics(registry);
  Positions positions(dir / "positions.json", false, &metrics);
  const int kFiles = 5000;
  for (int i = 0; i < kFiles; ++i) {
    PositionRecord r;
    r.path = "/var/log/pods/namespace_pod-name-" + std::to_string(i) +
             "_0123456789abcdef0123456789abcdef/container/0.log";
    r.identity = {1, static_cast<uint64_t>(i + 1), 1024, 0x0123456789abcdefULL};
    r.offset = 123456789;
    r.size = 987654321;
    positions.Put(r);
  }
  StartCounting();
  ASSERT_TRUE(positions.Save().ok());
  g_counting = false;
  // The document is ~1 MB here; what a save may allocate is a buffer and a few names.
  EXPECT_LT(g_bytes, size_t{128} << 10);
  Positions reloaded(dir / "positions.json", false, &metrics);
  EXPECT_EQ(reloaded.Size(), size_t{kFiles});
}

// Every open file keeps its labels: the glob's __path__ is not one of them, and must not
// leave its buffer behind in a label that took its place.
TEST(FileSourceMemory, AFilesLabelsHoldNothingOfTheDiscoveryLabels) {
  const std::string glob = "/var/log/pods/*_*_*/*/*.log" + std::string(100, 'x');
  const Labels target{{"__path__", glob}, {"__path_exclude__", glob}, {"a", "1"}, {"job", "x"}};
  const std::string path = "/var/log/pods/ns_pod_uid/app/0.log";
  const Labels l = FileLabels(target, path);
  EXPECT_EQ(l, (Labels{{"a", "1"}, {"filename", path}, {"job", "x"}}));
  for (const Label& label : l) {
    EXPECT_LT(label.value.capacity(), glob.size()) << label.name;
  }
}

// A temporary directory and an inotify watcher of its own, with the metrics it counts into.
struct Watched {
  TempDir dir;
  telemetry::Registry registry;
  telemetry::AgentMetrics metrics{registry};
  std::unique_ptr<InotifyWatcher> watcher = InotifyWatcher::Create(&metrics);
};

// A discovery pass visits every directory the globs reach (20,000 with 10,000 pod logs): a pass
// over directories already watched must not copy their names.
TEST(FileSourceMemory, APassOverWatchedDirectoriesAllocatesNothing) {
  Watched t;
  const TempDir& dir = t.dir;
  const std::unique_ptr<InotifyWatcher>& w = t.watcher;
  ASSERT_NE(w, nullptr);
  std::vector<std::string> dirs;
  for (int i = 0; i < 100; ++i) {
    dirs.push_back(dir / ("pod-with-a-long-enough-name-" + std::to_string(i)));
    MakeDirs(dirs.back());
  }
  w->BeginPass();
  for (const auto& d : dirs) w->Add(d);
  w->EndPass();
  ASSERT_EQ(w->watched(), dirs.size());
  StartCounting();
  w->BeginPass();
  for (const auto& d : dirs) w->Add(d);
  w->EndPass();
  g_counting = false;
  EXPECT_EQ(g_allocations, 0u);
  EXPECT_EQ(w->watched(), dirs.size());
  // A directory no longer visited is dropped at the end of the pass.
  w->BeginPass();
  for (size_t i = 1; i < dirs.size(); ++i) w->Add(dirs[i]);
  w->EndPass();
  EXPECT_EQ(w->watched(), dirs.size() - 1);
}

// On a node whose files each grow a line at a time, the reader wakes for a write or two: once
// the event lists have their memory, reading a file's write event allocates nothing, and a list
// reused after Clear() names only what was written since.
TEST(FileSourceMemory, ReadingWriteEventsIntoReusedListsAllocatesNothing) {
  Watched t;
  const TempDir& dir = t.dir;
  const std::unique_ptr<InotifyWatcher>& w = t.watcher;
  ASSERT_NE(w, nullptr);
  const std::string pod = dir / "ns_a-pod-with-a-long-enough-name_uid";
  MakeDirs(pod);
  std::vector<std::string> files;
  for (int i = 0; i < 100; ++i) {  // more than the spare strings a Clear() keeps
    files.push_back(pod + "/" + std::to_string(i) + ".log");
    skidder::testing::WriteFile(files.back(), "");
  }
  w->BeginPass();
  w->Add(pod);
  w->EndPass();
  // Held open as a container runtime holds its logs: one IN_MODIFY per write, no close events.
  std::vector<skidder::UniqueFd> fds;
  for (const auto& f : files) fds.emplace_back(::open(f.c_str(), O_WRONLY | O_APPEND));
  auto write = [&](size_t i) { ASSERT_EQ(::write(fds[i].get(), "line\n", 5), 5); };
  WatchEvents ev;
  for (size_t i = 0; i < files.size(); ++i) write(i);
  ev.Clear();
  w->ReadEvents(&ev);  // every file at once: the lists grow, some strings are kept
  EXPECT_EQ(ev.written, files);
  for (size_t round = 0; round < 3; ++round) {
    const std::vector<std::string> two{files[round], files[99 - round]};
    write(round);
    write(99 - round);
    ev.Clear();
    StartCounting();
    w->ReadEvents(&ev);
    g_counting = false;
    EXPECT_EQ(g_allocations, 0u) << "round " << round;
    EXPECT_EQ(ev.written, two) << "round " << round;
    EXPECT_TRUE(ev.created.empty());
  }
}

// UpdatePositions fills one record per file read or acknowledged: reused, it holds exactly what
// Record() returns (no field left from the file before), and a path that fits allocates nothing.
TEST(FileSourceMemory, FillingAReusedRecordAllocatesNothingAndLeavesNothingBehind) {
  TempDir dir;
  telemetry::Registry registry;
  telemetry::AgentMetrics metrics(registry);
  TailSettings settings;
  settings.metrics = &metrics;
  const std::string a = dir / "a-file-with-a-long-enough-name.log";
  const std::string b = dir / "b-file-with-a-long-enough-name.log";
  skidder::testing::WriteFile(a, "one\ntwo\n");
  skidder::testing::WriteFile(b, "three\n");
  TailedFile fa(::open(a.c_str(), O_RDONLY), a, {1, 2, 4, 5}, 8, Labels{}, nullptr, settings);
  TailedFile fb(::open(b.c_str(), O_RDONLY), b, {1, 3, 6, 7}, 0, Labels{}, nullptr, settings);
  fa.set_record_path(a + ".1");  // rotated: the record is kept under another name
  auto same = [](const PositionRecord& x, const PositionRecord& y) {
    return x.path == y.path && x.identity == y.identity && x.offset == y.offset &&
           x.imported == y.imported && x.compressed == y.compressed && x.done == y.done &&
           x.size == y.size && x.origin == y.origin;
  };
  PositionRecord r;
  r.imported = r.done = true;  // what a reused record may hold from elsewhere
  fa.FillRecord(&r);
  EXPECT_TRUE(same(r, fa.Record()));
  EXPECT_EQ(r.origin, a);
  fb.FillRecord(&r);
  EXPECT_TRUE(same(r, fb.Record()));
  EXPECT_TRUE(r.origin.empty());
  StartCounting();
  fa.FillRecord(&r);
  fb.FillRecord(&r);
  g_counting = false;
  EXPECT_EQ(g_allocations, 0u);
  EXPECT_TRUE(same(r, fb.Record()));
}

}  // namespace
}  // namespace skidder::sources
