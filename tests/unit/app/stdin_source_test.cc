// StdinSource against a real pipe: backpressure from a limit stage keeps input in the pipe.
#include "app/stdin_source.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "support/fake_clock.h"
#include "support/test_util.h"
#include "unit/sources/fake_sink.h"

namespace skidder::app {
namespace {

using skidder::testing::WaitFor;

// `limit` without `drop` passes every entry it is given and makes the source wait: a reader
// that did not wait would hand the pipeline everything in the pipe at once.
TEST(StdinSource, ALimitStageWithoutDropPausesReading) {
  FakeClock clock;  // frozen: no token comes back until the test moves it
  auto limit = pipeline::Pipeline::Build(
      {config::StageConfig{"limit", YAML::Load("{rate: 1, burst: 1}"), "t.yaml"}}, {});
  ASSERT_TRUE(limit.has_value()) << limit.error().message();
  sources::testing::FakeSink sink;
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  StdinSource source(limit->get(), Labels{}, &sink, &clock, fds[0]);
  source.Start();
  ASSERT_EQ(::write(fds[1], "e0\n", 3), 3);
  ASSERT_TRUE(WaitFor([&] { return sink.Count() == 1; }));  // the burst's one token
  std::string rest;
  for (int i = 1; i < 20; ++i) {  // appended piece by piece: GCC 12 warns on "e" + string
    rest += 'e';
    rest += std::to_string(i);
    rest += '\n';
  }
  ASSERT_EQ(::write(fds[1], rest.data(), rest.size()), static_cast<ssize_t>(rest.size()));
  // The reader looks again and again (each look asks Saturated() first) but reads nothing.
  const int looks = sink.SaturatedChecks();
  ASSERT_TRUE(WaitFor([&] { return sink.SaturatedChecks() >= looks + 5; }));
  EXPECT_EQ(sink.Count(), 1u);
  // Time moving on lets the rest through.
  ASSERT_TRUE(WaitFor([&] {
    clock.Advance(std::chrono::seconds(1));
    return sink.Count() >= 20;
  }));
  EXPECT_EQ(sink.Lines().back(), "e19");
  source.Stop();  // input still open: no end-of-input shutdown signal
  ::close(fds[0]);
  ::close(fds[1]);
}

}  // namespace
}  // namespace skidder::app
