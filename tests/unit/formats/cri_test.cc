#include "formats/cri.h"

#include <gtest/gtest.h>
#include <time.h>

#include <random>
#include <string>
#include <thread>
#include <vector>

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

// ParseRfc3339Nano remembers the last valid seconds part per thread: whatever order lines come
// in (the same second again, another second, an invalid one with the same date), each is read
// as on its own. timegm is the reference.
std::string Rfc3339(int64_t secs, const char* rest) {
  const time_t t = static_cast<time_t>(secs);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return std::string(buf) + rest;
}

TEST(ParseRfc3339Nano, SecondsRepeatedOrNotInAnyOrderAgreeWithTimegm) {
  std::mt19937_64 rng(20261203);
  std::vector<int64_t> seconds;
  for (int i = 0; i < 50; ++i) seconds.push_back(static_cast<int64_t>(rng() % 4'000'000'000));
  const struct {
    const char* rest;
    int64_t add_ns;
  } tails[] = {{"Z", 0},
               {".5Z", 500'000'000},
               {".000000001z", 1},
               {"+01:30", -5400 * kSec},
               {"-00:01", 60 * kSec}};
  for (int i = 0; i < 5000; ++i) {
    // Runs of the same second, as a file's lines are, broken by jumps back and forth.
    const int64_t secs = seconds[(i / 3 + (i % 7 == 0 ? i : 0)) % seconds.size()];
    const auto& tail = tails[rng() % std::size(tails)];
    const std::string text = Rfc3339(secs, tail.rest);
    SCOPED_TRACE(text);
    int64_t ns = 0;
    const char* why = nullptr;
    ASSERT_TRUE(ParseRfc3339Nano(text, &ns, &why)) << why;
    EXPECT_EQ(ns, secs * kSec + tail.add_ns);
    if (i % 11 == 0) {  // the same seconds with a broken zone or fraction are still refused
      EXPECT_FALSE(ParseRfc3339Nano(Rfc3339(secs, "+0100"), &ns, &why));
      EXPECT_FALSE(ParseRfc3339Nano(Rfc3339(secs, ".Z"), &ns, &why));
      EXPECT_FALSE(ParseRfc3339Nano(Rfc3339(secs, ""), &ns, &why));
    }
  }
  // A date that is not one after a valid parse of the same shape.
  int64_t ns = 0;
  const char* why = nullptr;
  ASSERT_TRUE(ParseRfc3339Nano("2019-02-28T02:12:41Z", &ns, &why));
  EXPECT_FALSE(ParseRfc3339Nano("2019-02-29T02:12:41Z", &ns, &why));
  EXPECT_STREQ(why, "timestamp field out of range");
  EXPECT_FALSE(ParseRfc3339Nano("2019-02-28T02:12:4xZ", &ns, &why));
}

TEST(ParseRfc3339Nano, ThreadsDoNotShareWhatTheyRemember) {
  auto run = [](int64_t base, bool* ok) {
    for (int i = 0; i < 20000; ++i) {
      const int64_t secs = base + i / 10;
      int64_t ns = 0;
      const char* why = nullptr;
      if (!ParseRfc3339Nano(Rfc3339(secs, "Z"), &ns, &why) || ns != secs * kSec) *ok = false;
    }
  };
  bool ok1 = true, ok2 = true;
  std::thread a(run, 1'556'590'361, &ok1), b(run, 1'700'000'000, &ok2);
  a.join();
  b.join();
  EXPECT_TRUE(ok1);
  EXPECT_TRUE(ok2);
}

TEST(DaysFromCivil, MatchesKnownDates) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  EXPECT_EQ(DaysFromCivil(2262, 1, 1), 106651);
}

}  // namespace
}  // namespace skidder::formats
