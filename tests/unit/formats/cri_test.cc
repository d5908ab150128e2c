#include "formats/cri.h"

#include <gtest/gtest.h>

#include "formats/timestamp.h"

namespace skidder::formats {
namespace {

constexpr int64_t kSec = 1'000'000'000;
// 2019-04-30T02:12:41Z
constexpr int64_t kBase = 1556590361 * kSec;

struct Good {
  const char* line;
  int64_t ts;
  Stream stream;
  bool partial;
  const char* message;
};

TEST(ParseCri, SplitsWellFormedLines) {
  const Good cases[] = {
      {"2019-04-30T02:12:41.8443515Z stdout F message", kBase + 844351500, Stream::kStdout, false,
       "message"},
      {"2019-04-30T02:12:41.8443515Z stderr P first part", kBase + 844351500, Stream::kStderr, true,
       "first part"},
      {"2019-04-30T02:12:41Z stdout F no fraction", kBase, Stream::kStdout, false, "no fraction"},
      {"2019-04-30T02:12:41.1Z stdout F x", kBase + 100000000, Stream::kStdout, false, "x"},
      {"2019-04-30T02:12:41.12Z stdout F x", kBase + 120000000, Stream::kStdout, false, "x"},
      {"2019-04-30T02:12:41.123456789Z stdout F x", kBase + 123456789, Stream::kStdout, false, "x"},
      {"2019-04-30T04:12:41.5+02:00 stdout F zoned", kBase + 500000000, Stream::kStdout, false,
       "zoned"},
      {"2019-04-29T21:42:41-04:30 stdout F west", kBase, Stream::kStdout, false, "west"},
      {"2019-04-30T02:12:41Z stdout F:x extra tag fields", kBase, Stream::kStdout, false,
       "extra tag fields"},
      {"2019-04-30T02:12:41Z stdout P:a:b p with fields", kBase, Stream::kStdout, true,
       "p with fields"},
      {"2019-04-30T02:12:41Z stdout F ", kBase, Stream::kStdout, false, ""},
      {"2019-04-30T02:12:41Z stdout F", kBase, Stream::kStdout, false, ""},
      {"2019-04-30T02:12:41Z stdout F  two  spaces ", kBase, Stream::kStdout, false,
       " two  spaces "},
      {"2019-04-30T02:12:41Z stdout F \xff\xfe bad utf8 kept", kBase, Stream::kStdout, false,
       "\xff\xfe bad utf8 kept"},
      {"1970-01-01T00:00:00Z stdout F epoch", 0, Stream::kStdout, false, "epoch"},
      {"2024-02-29T00:00:00Z stdout F leap", 1709164800 * kSec, Stream::kStdout, false, "leap"},
      {"1969-12-31T23:59:59.5Z stdout F before epoch", -kSec / 2, Stream::kStdout, false,
       "before epoch"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    auto r = ParseCri(c.line);
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(r->timestamp_ns, c.ts);
    EXPECT_EQ(r->stream, c.stream);
    EXPECT_EQ(r->partial, c.partial);
    EXPECT_EQ(r->message, c.message);
  }
}

TEST(ParseCri, RefusesMalformedPrefixSayingWhatIsWrong) {
  struct Bad {
    const char* line;
    const char* why;
  } cases[] = {
      {"", "no space after the timestamp"},
      {"garbage", "no space after the timestamp"},
      {"2019-04-30 T02:12:41Z stdout F x", "bad timestamp"},
      {"2019-04-30T02:12:41 stdout F x", "bad timestamp"},
      {"2019-04-30T02:12:41.Z stdout F x", "no digits after the decimal point"},
      {"2019-04-30T02:12:41.1234567890Z stdout F x", "more than 9 fraction digits"},
      {"2019-13-30T02:12:41Z stdout F x", "out of range"},
      {"2019-02-29T02:12:41Z stdout F x", "out of range"},
      {"2019-04-30T24:12:41Z stdout F x", "out of range"},
      {"2019-04-30T02:12:41+0200 stdout F x", "bad timestamp"},
      {"2019-04-30T02:12:41+25:00 stdout F x", "bad zone offset"},
      {"2019-04-30T02:12:41Zjunk stdout F x", "trailing characters"},
      {"2019-04-30T02:12:41Z stdin F x", "stream is neither"},
      {"2019-04-30T02:12:41Z  stdout F x", "stream is neither"},
      {"2019-04-30T02:12:41Z stdout", "no space after the stream"},
      {"2019-04-30T02:12:41Z stdout X x", "tag is not F or P"},
      {"2019-04-30T02:12:41Z stdout Fx x", "tag is not F or P"},
      {"2019-04-30T02:12:41Z stdout  x", "tag is not F or P"},
      {"9999-04-30T02:12:41Z stdout F x", "year outside"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    auto r = ParseCri(c.line);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.error().message().find(c.why), std::string::npos) << r.error().message();
  }
}

TEST(DaysFromCivil, MatchesKnownDates) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  EXPECT_EQ(DaysFromCivil(2262, 1, 1), 106651);
}

}  // namespace
}  // namespace skidder::formats
