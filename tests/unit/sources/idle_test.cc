// Idle is idle: with inotify and every file read and acknowledged, the reading thread sleeps
// until an event or a deadline instead of waking on every tick; a stage that buffers (multiline,
// CRI partials) still has its block sent on time, because the handler says when it is due.
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sources/file/file_source.h"
#include "unit/pipeline/stage_test_util.h"
#include "unit/sources/fake_sink.h"

namespace skidder::sources {
namespace {

using skidder::testing::AppendFile;
using skidder::testing::WaitFor;
using skidder::testing::WriteFile;
using testing::Harness;

#ifdef SYS_poll  // x86_64: glibc's poll() is the poll system call
// The longest poll(2) timeout any thread of this process is blocked in now (ms), -1 if none:
// /proc/self/task/*/syscall names a blocked thread's system call and its arguments.
int64_t LongestPollTimeoutMs() {
  int64_t longest = -1;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "syscall");
    std::string line;
    if (!std::getline(in, line)) continue;
    std::istringstream fields(line);
    long nr = -1;
    std::string fds, nfds, timeout;
    if (!(fields >> nr >> fds >> nfds >> timeout) || nr != SYS_poll) continue;
    longest = std::max<int64_t>(longest, static_cast<int32_t>(std::stoul(timeout, nullptr, 16)));
  }
  return longest;
}

TEST(IdleFileSource, SleepsWithoutATickOnceEverythingIsReadAndAcknowledged) {
  Harness h;  // ticks every 20 ms: a tick that still ran would show as a short timeout
  const std::string log = h.dir / "0.log";
  WriteFile(log, "a\nb\n");
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(h.WaitLines(log, {"a", "b"}));
  // Nothing is due but the 5-minute safety pass; the thread waits for inotify, up to a minute.
  EXPECT_TRUE(WaitFor([] { return LongestPollTimeoutMs() >= 30'000; }))
      << "longest poll timeout: " << LongestPollTimeoutMs() << " ms";
  // An event still wakes it at once.
  AppendFile(log, "c\n");
  ASSERT_TRUE(h.WaitLines(log, {"a", "b", "c"}));
}
#endif

// A source whose one target's handler is a multiline stage (firstline ^START) wrapping the sink.
class IdleMultiline : public ::testing::Test {
 protected:
  void Start(const std::string& max_wait_time, const FileSourceOptions& o) {
    multiline_ = std::make_unique<pipeline::Pipeline>([&] {
      std::vector<std::unique_ptr<pipeline::Stage>> stages;
      stages.push_back(
          pipeline::testing::MustBuild("multiline:\n  firstline: '^START'\n"
                                       "  max_wait_time: " +
                                       max_wait_time));
      return stages;
    }());
    handler_ = std::make_unique<app::PipelineHandler>(multiline_.get(), &h.sink);
    h.positions = std::make_unique<Positions>(h.dir / "positions.json", false, &h.metrics);
    h.source = std::make_unique<FileSource>(o, h.positions.get(), &h.sink, &h.metrics,
                                            &SystemClock::Get());
    h.source->SetTargets({FileTarget{"t", Labels{{kPathLabel, h.dir / "*.log"}}, handler_.get()}});
    ASSERT_TRUE(h.source->Start().ok());
  }
  void TearDown() override { h.Stop(); }  // the source stops before the handler it calls goes

  Harness h;
  std::unique_ptr<pipeline::Pipeline> multiline_;
  std::unique_ptr<app::PipelineHandler> handler_;
};

TEST_F(IdleMultiline, SendsAnOpenBlockOnTimeWhileIdle) {
  // A tick every 30 s: the block (holding its first line's ack, so the file is not settled and
  // ticks go on) must not wait for one.
  auto o = h.DefaultOptions();
  o.watch.min_poll_frequency = o.watch.max_poll_frequency = std::chrono::seconds(30);
  const std::string log = h.dir / "0.log";
  WriteFile(log, "START one\n  more\n");
  Start("200ms", o);
  // No other line comes: only the block's deadline can send it, 200 ms after its last line.
  EXPECT_TRUE(WaitFor([&] { return h.sink.Count() == 1; }, std::chrono::seconds(10)));
  EXPECT_EQ(h.sink.Lines(log), std::vector<std::string>{"START one\n  more"});
}

// The node's last pod of a job goes: its target is removed and its file deleted, while the
// job's pipeline holds an open multiline block (the dying pod's last lines). The block is sent
// although no target or file of the job is left: by its deadline, or, as here, at the stop.
TEST_F(IdleMultiline, ABlockOfAJobWhoseLastFileWentIsSentAtTheStop) {
  const std::string log = h.dir / "0.log";
  WriteFile(log, "START panic\n  at main\n");
  Start("10m", h.DefaultOptions());
  ASSERT_TRUE(WaitFor([&] { return h.ReadLines(log) == 2; }));
  h.source->SetTargets({});
  ASSERT_EQ(::unlink(log.c_str()), 0);
  ASSERT_TRUE(WaitFor([&] { return h.source->ActiveFiles() == 0; }));
  EXPECT_EQ(h.sink.Count(), 0u);  // still held: its deadline is minutes away
  h.Stop();
  EXPECT_EQ(h.sink.Lines(log), std::vector<std::string>{"START panic\n  at main"});
}

}  // namespace
}  // namespace skidder::sources
