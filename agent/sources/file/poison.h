// Poison lines: a log line that crashes the agent must not crash it forever.
//
// The position of a file stays before a line until Loki has it, so a line that kills the
// process (a parser bug, a stack overflow) is read again at every start and kills it again: one
// pod could silence a node's logging for good. So the reading thread marks the line it is
// processing (device, inode, offset; two stores per line), and a handler for fatal signals
// (SIGSEGV on its own stack, SIGBUS, SIGFPE, SIGILL, SIGABRT) appends that mark to a crash file
// beside the positions file before the process dies. At the next start the marks are loaded: a
// line the agent has died on twice is skipped, counted in skidder_dropped_lines_total
// {reason="poison"} and logged with its file and offset. SIGKILL and OOM kills leave no mark:
// they say nothing about the line.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>

namespace skidder::sources::poison {

using LineKey = std::tuple<uint64_t, uint64_t, uint64_t>;  // dev, inode, offset

// The lines crashed on, with how often.
class CrashLog {
 public:
  // Deaths on the same line before it is skipped.
  static constexpr int kSkipAfter = 2;

  // Reads the crash file (missing: no crashes) and rewrites it compacted.
  static CrashLog Load(const std::string& path);
  bool empty() const { return crashes_.empty(); }
  bool ShouldSkip(uint64_t dev, uint64_t ino, uint64_t offset) const {
    auto it = crashes_.find({dev, ino, offset});
    return it != crashes_.end() && it->second >= kSkipAfter;
  }
  int Count(uint64_t dev, uint64_t ino, uint64_t offset) const {
    auto it = crashes_.find({dev, ino, offset});
    return it == crashes_.end() ? 0 : it->second;
  }

 private:
  std::map<LineKey, int> crashes_;
};

// Opens the crash file for the handler and installs it for fatal signals. Once per process;
// later calls only switch the file. Returns false (and logs) when the file cannot be opened.
bool InstallHandler(const std::string& crash_file);
// Gives the calling thread an alternate signal stack, so that a stack overflow can be recorded.
void PrepareThread();

// The line the calling thread is about to process / is done with.
struct Mark {
  uint64_t dev = 0, ino = 0, offset = 0;
  bool active = false;
};
// Read by the signal handler of the thread that dies; a plain thread_local, so marking a line
// costs a few stores and no call.
inline thread_local Mark current_mark;
inline Mark& CurrentMark() { return current_mark; }

// Tests of the guard itself: a line containing the text of SKIDDER_TEST_CRASH_ON_LINE aborts
// the process (or, with the prefix "overflow:", overflows the stack as a recursive parser
// would), so the guard can be tested end to end with the real binary. Unset (always, outside
// those tests): off, and the check costs one branch.
const std::string& TestCrashTrigger();
void CrashForTest(std::string_view line);
inline void MaybeCrashForTest(std::string_view line) {
  if (!TestCrashTrigger().empty()) CrashForTest(line);
}

}  // namespace skidder::sources::poison
