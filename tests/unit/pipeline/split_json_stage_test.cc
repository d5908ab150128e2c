// The split_json stage: Alloy's stage.split_json, also usable as `split_json:` in YAML.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "model/ack.h"
#include "pipeline/stages/split_json.h"
#include "stage_test_util.h"

namespace skidder::pipeline {
namespace {

using testing::ConfigError;
using testing::MakeEntry;
using testing::MustBuild;
using testing::RunStage;

std::vector<std::string> Lines(const std::vector<PipelineEntry>& out) {
  std::vector<std::string> lines;
  for (const PipelineEntry& e : out) lines.push_back(e.entry.line);
  return lines;
}

TEST(SplitJsonStage, EachElementOfATopLevelArrayBecomesAnEntryWithItsTextAsWritten) {
  auto stage = MustBuild("split_json: {}");
  // Elements keep their bytes (spacing inside, number spelling, escapes, null); the spaces
  // around them go, as Go's json.RawMessage takes them.
  auto out = RunStage(*stage, MakeEntry(" \n[ {\"a\": 1, \"b\" :[1,2]} , \"x,]\\\"y\" ,1.50e1,null,"
                                        "[] ,{\"s\":\"}\"}]\t",
                                        Labels{{"app", "api"}}, 42));
  EXPECT_EQ(Lines(out), (std::vector<std::string>{"{\"a\": 1, \"b\" :[1,2]}", "\"x,]\\\"y\"",
                                                  "1.50e1", "null", "[]", "{\"s\":\"}\"}"}));
  for (const PipelineEntry& e : out) {
    EXPECT_EQ(e.entry.timestamp_ns, 42);
    EXPECT_EQ(e.entry.labels, (Labels{{"app", "api"}}));
  }
}

TEST(SplitJsonStage, AnythingButAValidArrayPassesUnchanged) {
  auto stage = MustBuild("split_json: {}");
  for (const char* line :
       {"{\"a\":[1,2]}", "[1,2", "[1,2] trailing", "plain text", "", "x[1,2]", "\"[1]\""}) {
    EXPECT_EQ(Lines(RunStage(*stage, MakeEntry(line))), std::vector<std::string>{line}) << line;
  }
  // A hostile line nested past the bound is not parsed into a deep tree: it passes.
  const std::string deep = std::string(5000, '[') + std::string(5000, ']');
  EXPECT_EQ(Lines(RunStage(*stage, MakeEntry(deep))), std::vector<std::string>{deep});
}

TEST(SplitJsonStage, AnEmptyArraySendsNothingAndReleasesItsBytes) {
  auto stage = MustBuild("split_json: {}");
  auto tracker = AckTracker::Create(0);
  Entry e = MakeEntry("[ ]");
  e.ack = tracker->Open(4);
  EXPECT_TRUE(RunStage(*stage, std::move(e)).empty());
  EXPECT_EQ(tracker->Committed(), 4u);
}

TEST(SplitJsonStage, ElementsShareTheEntrysAcknowledgement) {
  auto stage = MustBuild("split_json: {}");
  auto tracker = AckTracker::Create(0);
  Entry e = MakeEntry("[1,2,3]");
  e.ack = tracker->Open(8);
  auto out = RunStage(*stage, std::move(e));
  ASSERT_EQ(out.size(), 3u);
  out.pop_back();
  out.erase(out.begin());
  EXPECT_EQ(tracker->Committed(), 0u) << "done before every element was";
  out.clear();
  EXPECT_EQ(tracker->Committed(), 8u);
}

TEST(SplitJsonStage, WithASourceTheExtractedArrayIsSplitIntoLines) {
  auto stage = MustBuild("split_json:\n  source: items");
  PipelineEntry in{MakeEntry("the line"), {}};
  in.extracted.Set("items", "[\"a\", {\"b\":2}]");
  in.extracted.Set("kept", "yes");
  testing::Collect out;
  stage->Process(std::move(in), out);
  ASSERT_EQ(Lines(out.entries), (std::vector<std::string>{"\"a\"", "{\"b\":2}"}));
  for (const PipelineEntry& e : out.entries) {
    EXPECT_EQ(testing::ExtractedOr(e, "kept", ""), "yes");
  }
  // No such value, or not an array: the entry passes as it is.
  EXPECT_EQ(Lines(RunStage(*stage, MakeEntry("[1,2]"))), std::vector<std::string>{"[1,2]"});
}

TEST(SplitJsonStage, RefusesBadConfig) {
  EXPECT_NE(ConfigError("split_json:\n  source: ''").find("must not be empty"), std::string::npos);
  EXPECT_NE(ConfigError("split_json:\n  sources: x").find("unknown key"), std::string::npos);
}

}  // namespace
}  // namespace skidder::pipeline
