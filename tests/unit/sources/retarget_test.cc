// A file whose target is replaced by another target matching it (Kubernetes: a pod first known
// by its path only is discovered, or its labels change) moves over at its read offset.
#include <gtest/gtest.h>

#include "sources/file/file_source.h"
#include "unit/sources/fake_sink.h"

namespace skidder::sources {
namespace {

using skidder::testing::AppendFile;
using skidder::testing::WaitFor;
using skidder::testing::WriteFile;
using testing::FakeSink;
using testing::Harness;

std::vector<std::string> LinesOfJob(FakeSink& sink, const std::string& job) {
  std::vector<std::string> out;
  for (const Entry& e : sink.Take()) {
    if (const std::string* j = e.labels.Get("job"); j != nullptr && *j == job) {
      out.push_back(e.line);
    }
  }
  return out;
}

TEST(FileSourceRetarget, FileMovesToANewMatchingTargetWithoutBeingReadAgain) {
  Harness h;
  const std::string path = h.dir / "0.log";
  WriteFile(path, "a\nb\n");
  h.sink.HoldAcks(true);  // nothing acknowledged: a reopen would start at 0 and duplicate
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(h.WaitLines(path, {"a", "b"}));
  // With a second target (matching nothing) beside it, so that the count shows the new set is
  // in place: the new target's labels apply from then on; append after that to be sure which
  // target a line belongs to.
  h.source->SetTargets(
      {FileTarget{"discovered", Labels{{kPathLabel, h.dir / "*.log"}, {"job", "discovered"}},
                  &h.handler},
       FileTarget{"other", Labels{{kPathLabel, h.dir / "*.txt"}, {"job", "other"}}, &h.handler}});
  ASSERT_TRUE(WaitFor([&] { return h.source->ActiveTargets() == 2; }));
  AppendFile(path, "c\n");
  ASSERT_TRUE(WaitFor([&] { return h.sink.Count() >= 3; }));
  AppendFile(path, "d\n");
  ASSERT_TRUE(WaitFor([&] { return h.sink.Count() >= 4; }));
  EXPECT_EQ(h.source->ActiveFiles(), 1u);  // the same open file, never drained and reopened
  h.Stop();
  auto lines = h.sink.Lines(path);
  EXPECT_EQ(lines, (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(LinesOfJob(h.sink, "discovered"), (std::vector<std::string>{"c", "d"}));
}

TEST(FileSourceRetarget, ATargetThatDoesNotMatchTheFileDoesNotClaimIt) {
  Harness h;
  const std::string path = h.dir / "0.log";
  WriteFile(path, "a\n");
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(h.WaitLines(path, {"a"}));
  h.source->SetTargets(
      {FileTarget{"other", Labels{{kPathLabel, h.dir / "*.txt"}, {"job", "other"}}, &h.handler}});
  ASSERT_TRUE(WaitFor([&] { return h.source->ActiveFiles() == 0; }));  // drained, released
}

}  // namespace
}  // namespace skidder::sources
