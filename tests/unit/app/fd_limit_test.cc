// The descriptor limit: raised to the hard limit at start as Go (Promtail) does, and the share
// of it that log files may keep open.
#include "app/fd_limit.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

namespace skidder::app {
namespace {

TEST(OpenFilesBudget, KeepsAReserveForConnectionsAndHalfOfASmallLimit) {
  EXPECT_EQ(OpenFilesBudget(256), 128u);
  EXPECT_EQ(OpenFilesBudget(1024), 512u);
  EXPECT_EQ(OpenFilesBudget(4096), 2048u);
  EXPECT_EQ(OpenFilesBudget(20000), 17952u);
  EXPECT_EQ(OpenFilesBudget(1u << 20), (1u << 20) - 2048);
  EXPECT_EQ(OpenFilesBudget(1), 1u);
}

// Puts the soft limit back when the test ends, whatever it did.
class SoftLimitRestorer {
 public:
  SoftLimitRestorer() { getrlimit(RLIMIT_NOFILE, &saved_); }
  ~SoftLimitRestorer() { setrlimit(RLIMIT_NOFILE, &saved_); }

 private:
  rlimit saved_{};
};

TEST(RaiseOpenFileLimit, RaisesTheSoftLimitToTheHardOne) {
  SoftLimitRestorer restore;
  rlimit rl{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
  if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max < 128) GTEST_SKIP() << "hard limit unusable";
  rlimit lowered{64, rl.rlim_max};
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);

  const FdLimit raised = RaiseOpenFileLimit();
  EXPECT_TRUE(raised.raised);
  EXPECT_EQ(raised.soft, rl.rlim_max);
  EXPECT_EQ(raised.hard, rl.rlim_max);
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
  EXPECT_EQ(rl.rlim_cur, rl.rlim_max);

  const FdLimit again = RaiseOpenFileLimit();  // nothing left to raise
  EXPECT_FALSE(again.raised);
  EXPECT_EQ(again.soft, rl.rlim_max);
}

}  // namespace
}  // namespace skidder::app
