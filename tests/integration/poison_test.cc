// A line that crashes the agent must not crash it forever (issue: "one log line crash-loops the
// agent"). The test trigger SKIDDER_TEST_CRASH_ON_LINE makes the real binary abort on a line,
// standing in for any parser crash; the guard must record it, and skip it after two deaths.
#include <signal.h>
#include <sys/wait.h>

#include "harness.h"

namespace skidder::testing {
namespace {

class Poison : public IntegrationTest {
 protected:
  void RunsPastThePoison(int signal);
};

TEST_F(Poison, ALineTheAgentDiesOnTwiceIsSkippedAndCounted) {
  agent_.SetEnv("SKIDDER_TEST_CRASH_ON_LINE", "POISON");
  RunsPastThePoison(SIGABRT);
}

// A stack overflow (a recursive parser fed deep nesting) is recorded too: the handler runs on
// its own stack.
TEST_F(Poison, AStackOverflowIsRecordedAndTheLineSkipped) {
  agent_.SetEnv("SKIDDER_TEST_CRASH_ON_LINE", "overflow:POISON");
  RunsPastThePoison(SIGSEGV);
}

void Poison::RunsPastThePoison(int signal) {
  const std::string config = WriteConfig();
  WriteFile(logs() + "/a.log",
            Lines("before", 0, 5) + "this line is POISON\n" + Lines("after", 0, 5));
  // Two deaths on the same line: the agent aborts each time, and before that line nothing
  // is lost either.
  for (int death = 0; death < 2; ++death) {
    ASSERT_TRUE(agent_.Start({"-config.file=" + config}));
    ASSERT_EQ(agent_.Wait(60000), 128 + signal) << agent_.Stderr();
  }
  // The third start skips it, says where, and delivers the rest.
  StartAgent(config);
  ASSERT_TRUE(loki_.WaitForLines(10)) << agent_.Stderr();
  ExpectEachOnce("after", 0, 5);
  for (const auto& l : loki_.Lines()) EXPECT_EQ(l.find("POISON"), std::string::npos) << l;
  EXPECT_EQ(agent_.Metric("promtail_dropped_entries_total", {"reason=\"poison\""}) +
                agent_.Metric("logentry_dropped_lines_total", {"reason=\"poison\""}),
            1)
      << agent_.HttpGet("/metrics");
  const std::string err = agent_.Stderr();
  EXPECT_NE(err.find("skipping a line the agent crashed on repeatedly"), std::string::npos) << err;
  EXPECT_NE(err.find("offset=" + std::to_string(Lines("before", 0, 5).size())), std::string::npos)
      << err;
  // A kill (no crash) leaves no mark: a line is never skipped because of SIGKILLs.
  agent_.Kill();
  AppendFile(logs() + "/a.log", Lines("later", 0, 5));
  StartAgent(config);
  ASSERT_TRUE(WaitFor([&] { return ReceivedCounts().count("later-4") == 1; }));
}

}  // namespace
}  // namespace skidder::testing
