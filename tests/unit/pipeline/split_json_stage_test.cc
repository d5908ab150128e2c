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

// A hostile line of millions of tiny elements is not made into millions of entries at once.
TEST(SplitJsonStage, AnArrayPastTheBoundPassesAsOneLine) {
  auto stage = MustBuild("split_json: {}");
  std::string line = "[0";
  for (size_t i = 1; i <= stages::kMaxSplitElements; ++i) line += ",0";
  line += "]";
  EXPECT_EQ(Lines(RunStage(*stage, MakeEntry(line))), std::vector<std::string>{line});
  line.erase(line.size() - 3, 2);  // exactly the bound: split
  EXPECT_EQ(RunStage(*stage, MakeEntry(line)).size(), stages::kMaxSplitElements);
  std::vector<std::string_view> parts;
  EXPECT_FALSE(stages::SplitJsonArray("[1,2,3]", 2, &parts));
  parts.clear();
  EXPECT_TRUE(stages::SplitJsonArray("[1,2,3]", 3, &parts));
  EXPECT_EQ(parts.size(), 3u);
}

// Each element's entry is made from a copy of the extracted values: a large one (a cri stage's
// `content`) times many elements is past the byte bound, and the line passes as it is.
TEST(SplitJsonStage, WhatTheElementsWouldCopyIsBoundedInBytes) {
  auto stage = MustBuild("split_json: {}");
  std::string line = "[0";
  for (int i = 1; i < 40'000; ++i) line += ",0";
  line += "]";
  PipelineEntry in{MakeEntry(line), {}};
  in.extracted.Set("content", std::string(32 << 10, 'c'));  // 40,000 copies: 1.3 GB
  testing::Collect out;
  stage->Process(std::move(in), out);
  EXPECT_EQ(Lines(out.entries), std::vector<std::string>{line});
  // Without it, each element is an entry of its own, and its line is no larger than it (the
  // long line split before is not copied into each).
  auto split = RunStage(*stage, MakeEntry(line));
  ASSERT_EQ(split.size(), 40'000u);
  split = RunStage(*stage, MakeEntry(line));
  ASSERT_EQ(split.size(), 40'000u);
  EXPECT_LT(split[0].entry.line.capacity(), 64u);
  EXPECT_LT(split.back().entry.line.capacity(), 64u);
  auto with_source = MustBuild("split_json:\n  source: items");
  PipelineEntry sourced{MakeEntry(line), {}};
  sourced.extracted.Set("items", "[1,2]");
  testing::Collect two;
  with_source->Process(std::move(sourced), two);
  ASSERT_EQ(Lines(two.entries), (std::vector<std::string>{"1", "2"}));
  EXPECT_LT(two.entries[0].entry.line.capacity(), 64u) << "a copy of the long line";
}

// Go's decoder refuses a NUL; rapidjson's stream would stop there and take "[1]" alone.
TEST(SplitJsonStage, ANulMakesTheLineNotJson) {
  auto stage = MustBuild("split_json: {}");
  const std::string line("[1]\0junk", 8);
  EXPECT_EQ(Lines(RunStage(*stage, MakeEntry(line))), std::vector<std::string>{line});
  // An escaped backslash before a closing quote ends the string.
  EXPECT_EQ(Lines(RunStage(*stage, MakeEntry(R"(["a\\", "b"])"))),
            (std::vector<std::string>{R"("a\\")", R"("b")"}));
}

TEST(SplitJsonStage, RefusesBadConfig) {
  EXPECT_NE(ConfigError("split_json:\n  source: ''").find("must not be empty"), std::string::npos);
  EXPECT_NE(ConfigError("split_json:\n  sources: x").find("unknown key"), std::string::npos);
}

}  // namespace
}  // namespace skidder::pipeline
