#include "formats/docker.h"

#include <gtest/gtest.h>

namespace skidder::formats {
namespace {

constexpr int64_t kApril2019 = 1556590361LL * 1'000'000'000;  // 2019-04-30T02:12:41Z

TEST(ParseDockerJson, DecodesFullAndPartialLines) {
  struct Case {
    const char* line;
    Stream stream;
    bool partial;
    std::string message;
    int64_t ts;
  } cases[] = {
      {R"({"log":"hello\n","stream":"stdout","time":"2019-04-30T02:12:41.8443515Z"})",
       Stream::kStdout, false, "hello", kApril2019 + 844351500},
      {R"({"log":"first 16k","stream":"stderr","time":"2019-04-30T02:12:41Z"})", Stream::kStderr,
       true, "first 16k", kApril2019},
      {R"({"time":"2019-04-30T02:12:41Z","stream":"stdout","log":"order\n"})", Stream::kStdout,
       false, "order", kApril2019},
      {R"({"log":"tab\there \"q\" \\ \u00e9 \ud83d\ude00\n","stream":"stdout","time":"2019-04-30T02:12:41Z"})",
       Stream::kStdout, false, "tab\there \"q\" \\ \xC3\xA9 \xF0\x9F\x98\x80", kApril2019},
      {R"({"log":"nul\u0000byte\n","stream":"stdout","time":"2019-04-30T02:12:41Z"})",
       Stream::kStdout, false, std::string("nul\0byte", 8), kApril2019},
      {R"({"log":"\n","stream":"stdout","time":"2019-04-30T02:12:41Z"})", Stream::kStdout, false,
       "", kApril2019},
      {R"({"log":"a\r\n","stream":"stdout","time":"2019-04-30T02:12:41Z"})", Stream::kStdout, false,
       "a\r", kApril2019},
      {R"({"log":"x\n","stream":"stdout","attrs":{"k":[1,2,{"log":"no"}]},"time":"2019-04-30T02:12:41Z"})",
       Stream::kStdout, false, "x", kApril2019},
      {R"(  {"log":"spaces\n","stream":"stdout","time":"2019-04-30T02:12:41+00:00"}  )",
       Stream::kStdout, false, "spaces", kApril2019},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    auto r = ParseDockerJson(c.line);
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(r->stream, c.stream);
    EXPECT_EQ(r->partial, c.partial);
    EXPECT_EQ(r->message, c.message);
    EXPECT_EQ(r->timestamp_ns, c.ts);
  }
}

TEST(ParseDockerJson, RefusesBadRecordsSayingWhy) {
  struct Case {
    const char* line;
    const char* why;
  } cases[] = {
      {"", "bad JSON"},
      {"not json", "bad JSON"},
      {R"({"log":"x\n","stream":"stdout","time":"2019-04-30T02:12:41Z")", "bad JSON"},
      {R"({"log":"x\n","stream":"stdout","time":"2019-04-30T02:12:41Z"} trailing)", "trailing"},
      {R"(["log"])", "bad JSON"},
      {R"("just a string")", "bad JSON"},
      {R"({"stream":"stdout","time":"2019-04-30T02:12:41Z"})", "missing \"log\""},
      {R"({"log":"x\n","time":"2019-04-30T02:12:41Z"})", "missing \"stream\""},
      {R"({"log":"x\n","stream":"stdout"})", "missing \"time\""},
      {R"({"log":"x\n","stream":"stdin","time":"2019-04-30T02:12:41Z"})", "stream is neither"},
      {R"({"log":"x\n","stream":"stdout","time":"yesterday"})", "bad time"},
      {R"({"log":5,"stream":"stdout","time":"2019-04-30T02:12:41Z"})", "must be strings"},
      {R"({"log":{"a":1},"stream":"stdout","time":"2019-04-30T02:12:41Z"})", "must be strings"},
      {R"({"log":"bad escape \q","stream":"stdout","time":"2019-04-30T02:12:41Z"})", "bad JSON"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    auto r = ParseDockerJson(c.line);
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message().find(c.why), std::string::npos) << r.error().message();
  }
}

TEST(ParseDockerJson, ReusesTheRecordAcrossLines) {
  DockerRecord rec;
  ASSERT_TRUE(
      ParseDockerJson(
          R"({"log":"a long first line\n","stream":"stdout","time":"2019-04-30T02:12:41Z"})", &rec)
          .ok());
  ASSERT_TRUE(
      ParseDockerJson(R"({"log":"b","stream":"stderr","time":"2019-04-30T02:12:42Z"})", &rec).ok());
  EXPECT_EQ(rec.message, "b");
  EXPECT_TRUE(rec.partial);
  EXPECT_EQ(rec.stream, Stream::kStderr);
}

// Extra keys may hold anything, but a record nested 200 k levels deep in one of them used to
// overflow the stack (issue 9); it is refused like any bad record, saying why.
TEST(ParseDockerJson, RefusesDeeplyNestedExtraKeysWithoutCrashing) {
  const std::string head =
      R"({"log":"x\n","stream":"stdout","time":"2019-04-30T02:12:41Z","attrs":)";
  for (size_t depth : {size_t{1001}, size_t{200000}}) {
    std::string line = head + std::string(depth, '[') + std::string(depth, ']') + "}";
    auto r = ParseDockerJson(line);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().message(), "docker: JSON nested deeper than 1000 at offset " +
                                       std::to_string(head.size() + 999));
  }
  std::string nested = "{";
  for (int i = 0; i < 200000; ++i) nested += R"("a":{)";
  nested += std::string(200000, '}') + "}";
  EXPECT_FALSE(ParseDockerJson(nested).has_value());
  // 999 levels inside the record (1000 with the record itself) are fine.
  auto ok = ParseDockerJson(head + std::string(999, '[') + std::string(999, ']') + "}");
  ASSERT_TRUE(ok.has_value()) << ok.error().message();
  EXPECT_EQ(ok->message, "x");
}

}  // namespace
}  // namespace skidder::formats
