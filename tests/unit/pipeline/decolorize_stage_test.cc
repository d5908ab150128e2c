#include <gtest/gtest.h>

#include "pipeline/stages/decolorize.h"
#include "stage_test_util.h"

namespace skidder::pipeline {
namespace {

using testing::ConfigError;
using testing::MakeEntry;
using testing::MustBuild;
using testing::RunStage;

TEST(DecolorizeStage, StripsColourAndControlSequences) {
  struct Case {
    const char* in;
    const char* want;
  } cases[] = {
      // Promtail's documented example.
      {"\x1b[0;32mINFO\x1b[0m some message", "INFO some message"},
      {"\x1b[1;31;40mERROR\x1b[0m \x1b[33mwarn\x1b[39m", "ERROR warn"},
      {"\x1b[38;5;208morange\x1b[m", "orange"},
      {"\x1b[2K\x1b[1Gprogress 50%", "progress 50%"},
      {"\x1b]0;title\x07text", "text"},  // OSC ended by BEL
      // Loki's pattern allows no space in an OSC body: it then strips only "ESC]0", as here.
      {"\x1b]0;window title\x07text", ";window title\x07text"},
      {"\xc2\x9b"
       "31mred",
       "red"},          // 8-bit CSI (U+009B)
      {"\x1b[31", ""},  // cut short: "1" is taken as the final byte
      {"plain line, no escapes", "plain line, no escapes"},
      {"lone \x1b escape", "lone \x1b escape"},  // ESC then space: not a sequence
      {"", ""},
  };
  for (const auto& c : cases) {
    std::string s = c.in;
    stages::StripAnsi(s);
    EXPECT_EQ(s, c.want) << c.in;
  }
}

TEST(DecolorizeStage, RewritesTheLineAndKeepsEverythingElse) {
  auto stage = MustBuild("decolorize: {}");
  auto out = RunStage(*stage, MakeEntry("\x1b[32mok\x1b[0m", {{"job", "x"}}, 5));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].entry.line, "ok");
  EXPECT_EQ(out[0].entry.timestamp_ns, 5);
  EXPECT_TRUE(MustBuild("decolorize:") != nullptr);
}

TEST(DecolorizeStage, RefusesOptions) {
  EXPECT_EQ(ConfigError("decolorize:\n  strip: all"),
            "promtail.yaml:2:3: pipeline_stages[0]: unknown key \"strip\"");
}

}  // namespace
}  // namespace skidder::pipeline
