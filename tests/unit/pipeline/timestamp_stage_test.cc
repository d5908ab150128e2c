#include <gtest/gtest.h>

#include "lang/go/tzif.h"
#include "stage_test_util.h"
#include "support/fake_clock.h"
#include "util/clock.h"

namespace skidder::pipeline {
namespace {

using testing::Collect;
using testing::ConfigError;
using testing::MakeEntry;

using testing::kSec;
constexpr int64_t kUnset = 42;                 // the entry's timestamp before the stage
const FakeClock kJune2026(1781481600 * kSec);  // 2026-06-15T00:00:00Z

std::unique_ptr<Stage> Build(const std::string& yaml) {
  auto s = BuildStage(testing::StageYaml(yaml), testing::Ctx(nullptr), "p");
  EXPECT_TRUE(s.has_value()) << yaml << ": " << (s ? "" : s.error().message());
  return s ? std::move(*s) : nullptr;
}

// The timestamp the stage gives an entry whose "ts" is value, read (its batch's time) at now.
int64_t Stamp(Stage& stage, const std::string& value, const Labels& labels = {},
              const Clock& now = kJune2026) {
  PipelineEntry pe{MakeEntry("line", labels, kUnset), {}, BatchTime::Of(now)};
  pe.extracted.Set("ts", value);
  Collect out;
  stage.Process(std::move(pe), out);
  return out.entries.at(0).entry.timestamp_ns;
}

TEST(TimestampStage, ParsesNamedUnixAndGoLayouts) {
  struct Case {
    const char* format;
    const char* location;  // nullptr: none
    const char* value;
    int64_t want;  // kUnset: not parsed (action skip)
  } cases[] = {
      {"RFC3339", nullptr, "2019-01-01T01:00:00.000000001Z", 1546304400 * kSec + 1},
      {"RFC3339", nullptr, "2019-01-01T02:00:00+01:00", 1546304400 * kSec},
      {"RFC3339Nano", nullptr, "2019-01-01T02:00:00.5+01:00", 1546304400 * kSec + 500000000},
      {"ANSIC", nullptr, "Mon Jan  2 15:04:05 2006", 1136214245 * kSec},
      {"UnixDate", nullptr, "Mon Jan  2 15:04:05 UTC 2006", 1136214245 * kSec},
      {"RubyDate", nullptr, "Mon Jan 02 15:04:05 -0700 2006", 1136239445 * kSec},
      {"RFC822", nullptr, "02 Jan 06 15:04 UTC", 1136214240 * kSec},
      {"RFC822Z", nullptr, "02 Jan 06 15:04 -0700", (1136214240 + 7 * 3600) * kSec},
      {"RFC850", nullptr, "Monday, 02-Jan-06 15:04:05 UTC", 1136214245 * kSec},
      {"RFC1123", nullptr, "Mon, 02 Jan 2006 15:04:05 MST", 1136214245 * kSec},  // unknown: UTC
      {"RFC1123Z", nullptr, "Mon, 02 Jan 2006 15:04:05 -0700", 1136239445 * kSec},
      {"Unix", nullptr, "1562708916", 1562708916 * kSec},
      {"Unix", nullptr, "1562708916.000000123", 1562708916 * kSec + 123},
      {"Unix", nullptr, "1562708916.414", 1562708916 * kSec + 414000000},
      {"UnixMs", nullptr, "1562708916414", 1562708916414 * 1000000},
      {"UnixUs", nullptr, "1562708916414123", 1562708916414123 * 1000},
      {"UnixNs", nullptr, "1562708916000000123", 1562708916000000123},
      // Custom Go layouts.
      {"2006-01-02 15:04:05.000", nullptr, "2019-04-30 02:12:41.844", 1556590361844000000},
      {"2006-01-02 15:04:05", nullptr, "2019-04-30 02:12:41.123456", 1556590361123456000},
      {"02/Jan/2006:15:04:05 -0700", nullptr, "25/Jan/2000:14:00:01 -0500", 948826801 * kSec},
      {"2006-01-02T15:04:05.000-0700", nullptr, "2026-11-24T10:40:12.542+0000",
       1795516812542000000},
      {"Jan _2 2006 3:04:05.999999999 PM", nullptr, "Nov  4 2019 1:02:03.5 PM",
       1572872523500000000},
      // location: for custom layouts without an offset, with daylight saving time.
      {"2006-01-02 15:04:05", "America/New_York", "2019-07-01 10:00:00", 1561989600 * kSec},
      {"2006-01-02 15:04:05", "America/New_York", "2019-01-01 10:00:00", 1546354800 * kSec},
      {"2006-01-02 15:04:05 MST", "Europe/Berlin", "2026-10-25 02:30:00 CEST", 1792888200 * kSec},
      {"2006-01-02T15:04:05-07:00", "America/New_York", "2019-07-01T10:00:00+02:00",
       1561968000 * kSec},
      {"RFC3339", "America/New_York", "2019-07-01T14:00:00Z", 1561989600 * kSec},  // ignored
      // Year-less layouts take the clock's year (2026).
      {"Jan _2 15:04:05", nullptr, "Nov 24 10:40:12", 1795516812 * kSec},
      {"Stamp", nullptr, "Jan  1 13:30:00", 1767274200 * kSec},
      // Failures.
      {"RFC3339", nullptr, "yesterday", kUnset},
      {"RFC3339", nullptr, "2019-01-01T01:00:00Z trailing", kUnset},
      {"UnixMs", nullptr, "12a", kUnset},
      {"2006-01-02", nullptr, "2019-02-30", kUnset},
      {"15:04 2006", nullptr, "25:00 2019", kUnset},
      {"Unix", nullptr, "1.0000000001", kUnset},
  };
  for (const auto& c : cases) {
    std::string yaml =
        std::string("timestamp:\n  source: ts\n  action_on_failure: skip\n  format: '") + c.format +
        "'";
    if (c.location != nullptr) yaml += std::string("\n  location: ") + c.location;
    auto stage = Build(yaml);
    ASSERT_NE(stage, nullptr);
    EXPECT_EQ(Stamp(*stage, c.value), c.want) << c.format << " / " << c.value;
  }
}

TEST(TimestampStage, YearlessDatesAroundNewYearBelongToTheNearestYear) {
  const FakeClock jan2027(1798848000 * kSec);  // 2027-01-02
  auto stage = Build("timestamp:\n  source: ts\n  format: 'Jan _2 15:04:05'");
  EXPECT_EQ(Stamp(*stage, "Dec 31 23:59:59", {}, jan2027), 1798761599 * kSec);  // 2026-12-31
}

TEST(TimestampStage, TriesFallbackFormatsInOrder) {
  auto stage = Build(
      "timestamp:\n  source: ts\n  format: RFC3339\n  fallback_formats: [UnixMs, '2006-01-02']");
  EXPECT_EQ(Stamp(*stage, "2019-01-01T01:00:00Z"), 1546304400 * kSec);
  EXPECT_EQ(Stamp(*stage, "1562708916414"), 1562708916414 * 1000000);
  EXPECT_EQ(Stamp(*stage, "2022-11-08"), 1667865600 * kSec);
}

TEST(TimestampStage, FudgesFailuresToJustAfterTheStreamsLastTimestamp) {
  auto stage = Build("timestamp:\n  source: ts\n  format: RFC3339");  // fudge is the default
  const Labels a{{"filename", "/a.log"}}, b{{"filename", "/b.log"}};
  EXPECT_EQ(Stamp(*stage, "2019-01-01T01:00:00Z", a), 1546304400 * kSec);
  EXPECT_EQ(Stamp(*stage, "not a time", a), 1546304400 * kSec + 1);
  EXPECT_EQ(Stamp(*stage, "still not", a), 1546304400 * kSec + 2);
  EXPECT_EQ(Stamp(*stage, "not a time", b), kUnset);  // nothing known for that stream yet
  // A missing source value is a failure too.
  Collect out;
  stage->Process(PipelineEntry{MakeEntry("no ts", a, kUnset), {}}, out);
  EXPECT_EQ(out.entries.at(0).entry.timestamp_ns, 1546304400 * kSec + 3);
}

// A hostile line at the last nanosecond int64 holds, then one without a time: saturated, never
// an overflow (undefined behaviour) to a date before 1970.
TEST(TimestampStage, FudgeStopsAtTheLastNanosecond) {
  auto stage = Build("timestamp:\n  source: ts\n  format: UnixNs");
  EXPECT_EQ(Stamp(*stage, "9223372036854775807"), INT64_MAX);
  EXPECT_EQ(Stamp(*stage, "bad"), INT64_MAX);
  EXPECT_EQ(Stamp(*stage, "bad again"), INT64_MAX);
}

TEST(TimestampStage, SkipLeavesTheTimestampOnFailure) {
  auto stage = Build("timestamp:\n  source: ts\n  format: RFC3339\n  action_on_failure: skip");
  EXPECT_EQ(Stamp(*stage, "2019-01-01T01:00:00Z"), 1546304400 * kSec);
  EXPECT_EQ(Stamp(*stage, "bad"), kUnset);
}

TEST(TimestampStage, ReadsZonesFromTzdata) {
  auto berlin = lang::go::LoadZone("Europe/Berlin");
  ASSERT_TRUE(berlin.has_value()) << berlin.error().message();
  // 2026-03-29 01:00 UTC: CET (+1) ends, CEST (+2) begins.
  EXPECT_EQ((*berlin)->At(1774746000 - 1).type->offset_sec, 3600);
  EXPECT_EQ((*berlin)->At(1774746000).type->offset_sec, 7200);
  EXPECT_EQ((*berlin)->At(1774746000).type->abbr, "CEST");
  EXPECT_FALSE(lang::go::LoadZone("Mars/Olympus_Mons").has_value());
  EXPECT_FALSE(lang::go::LoadZone("../etc/passwd").has_value());
  EXPECT_EQ((*lang::go::LoadZone("UTC"))->At(0).type->offset_sec, 0);
}

TEST(TimestampStage, RefusesBadConfigWithPosition) {
  struct Case {
    const char* yaml;
    const char* want;
  } cases[] = {
      {"timestamp:\n  format: RFC3339",
       "promtail.yaml:2:3: pipeline_stages[0].source: timestamp source value is required"},
      {"timestamp:\n  source: ts",
       "promtail.yaml:2:3: pipeline_stages[0].format: timestamp format is required"},
      {"timestamp:\n  source: ts\n  format: RFC3339\n  location: Nowhere/Town",
       "promtail.yaml:4:13: pipeline_stages[0].location: invalid location specified: unknown "
       "time zone Nowhere/Town"},
      {"timestamp:\n  source: ts\n  format: RFC3339\n  action_on_failure: drop",
       "promtail.yaml:4:22: pipeline_stages[0].action_on_failure: invalid action on failure "
       "(supported values are skip, fudge)"},
      {"timestamp:\n  source: ts\n  format: RFC3339\n  fallback: x",
       "promtail.yaml:4:3: pipeline_stages[0]: unknown key \"fallback\""},
  };
  for (const auto& c : cases) EXPECT_EQ(ConfigError(c.yaml), c.want) << c.yaml;
}

}  // namespace
}  // namespace skidder::pipeline
