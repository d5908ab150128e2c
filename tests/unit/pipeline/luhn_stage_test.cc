// The luhn stage: Alloy's stage.luhn, also usable as `luhn:` in YAML.
#include <gtest/gtest.h>

#include "pipeline/stages/luhn.h"
#include "stage_test_util.h"

namespace skidder::pipeline {
namespace {

using stages::LuhnOptions;
using stages::RedactLuhn;
using testing::ConfigError;
using testing::MakeEntry;
using testing::MustBuild;
using testing::RunStage;

TEST(LuhnStage, RedactsLuhnValidNumbersAsAlloyDoes) {
  struct Case {
    const char* in;
    const char* delimiters;
    const char* want;
  } cases[] = {
      {"My credit card number is 3530111333300000.", "", "My credit card number is **REDACTED**."},
      {"Cards 4532015112830366 and 6011111111111117 are valid.", "",
       "Cards **REDACTED** and **REDACTED** are valid."},
      {"No valid numbers here.", "", "No valid numbers here."},
      {"Valid: 4556737586899855, invalid: 1234.", "", "Valid: **REDACTED**, invalid: 1234."},
      {"Edge cases: 0, 00, 000, 1.", "", "Edge cases: 0, 00, 000, 1."},
      {"not luhn 4992739871121717", "", "not luhn 4992739871121717"},
      // Past an int64, Alloy's Atoi fails: never a match (leading zeros are fine).
      {"n=12345678901234567894", "", "n=12345678901234567894"},
      {"n=00000000000000000000000", "", "n=**REDACTED**"},
      // Delimiters join the digits of one number; a trailing one is kept after the replacement.
      {"Cards 4532-0151-1283-0366 and 6011 1111 1111 1117 are valid and 3530:1113:3330:0000 has "
       "unexpected delimiters.",
       " -",
       "Cards **REDACTED** and **REDACTED** are valid and 3530:1113:3330:0000 has unexpected "
       "delimiters."},
      {"Card 4532-0151-1283-0367 is not valid.", " -", "Card 4532-0151-1283-0367 is not valid."},
      {"Card 4532-0151-128 is too short.", "-", "Card 4532-0151-128 is too short."},
      {"Card 4532-0151-128 is too short.", " -", "Card 4532-0151-128 is too short."},
      {"x 4532-0151-1283-0366-!", "-", "x **REDACTED**-!"},
  };
  for (const Case& c : cases) {
    LuhnOptions o;
    o.delimiters = c.delimiters;
    EXPECT_EQ(RedactLuhn(c.in, o), c.want) << c.in;
  }
}

TEST(LuhnStage, ConfiguredFromYamlWithAlloysDefaults) {
  auto stage = MustBuild("luhn:\n  replacement: '<card>'\n  min_length: 16");
  auto out = RunStage(*stage, MakeEntry("paid with 4242424242424242 and 378282246310005"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].entry.line, "paid with <card> and 378282246310005");  // 15 digits < 16
  auto defaults = MustBuild("luhn: {}");
  out = RunStage(*defaults, MakeEntry("amex 378282246310005"));
  EXPECT_EQ(out.at(0).entry.line, "amex **REDACTED**");
}

TEST(LuhnStage, WithASourceTheRedactedValueBecomesTheLineAsInAlloy) {
  auto stage = MustBuild("luhn:\n  source: card");
  auto out = RunStage(*stage, MakeEntry("line", Labels{{"card", "4242424242424242"}}));
  EXPECT_EQ(out.at(0).entry.line, "**REDACTED**");
  out = RunStage(*stage, MakeEntry("untouched"));
  EXPECT_EQ(out.at(0).entry.line, "untouched");  // no such value
}

TEST(LuhnStage, RefusesBadConfig) {
  EXPECT_NE(ConfigError("luhn:\n  source: ''").find("must not be empty"), std::string::npos);
  EXPECT_NE(ConfigError("luhn:\n  skip_regex: x").find("unknown key"), std::string::npos);
}

}  // namespace
}  // namespace skidder::pipeline
