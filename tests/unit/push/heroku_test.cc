// DecodeDrain: Heroku's logplex bodies become streams with Promtail's heroku_drain labels; a
// malformed frame is named, and what came before it kept.
#include "sources/push/heroku.h"

#include <gtest/gtest.h>

namespace skidder::sources::push {
namespace {

using Query = std::vector<std::pair<std::string, std::string>>;

std::string Frame(std::string_view message) {
  return std::to_string(message.size()) + " " + std::string(message);
}

const std::string kRouter =
    "<158>1 2024-05-01T10:00:00.123456+00:00 host heroku router - at=info method=GET path=\"/\"\n";
const std::string kWeb = "<190>1 2024-05-01T10:00:01Z host app web.1 - Started GET \"/\"\n";

TEST(HerokuDrain, FramesBecomeEntriesWithPromtailsLabelsAndTheirTimestamps) {
  DrainBody d = DecodeDrain(Frame(kRouter) + Frame(kWeb) + Frame(kWeb), {});
  ASSERT_TRUE(d.error.ok()) << d.error.message();
  EXPECT_EQ(d.messages, 3u);
  ASSERT_EQ(d.streams.size(), 2u);  // consecutive messages of one dyno share a stream
  EXPECT_EQ(d.streams[0].labels.ToString(),
            R"({__heroku_drain_app="heroku", __heroku_drain_host="host", )"
            R"(__heroku_drain_log_id="-", __heroku_drain_proc="router"})");
  ASSERT_EQ(d.streams[0].entries.size(), 1u);
  EXPECT_EQ(d.streams[0].entries[0].line, "at=info method=GET path=\"/\"");
  EXPECT_EQ(d.streams[0].entries[0].timestamp_ns, 1714557600123456000);
  EXPECT_EQ(d.streams[1].labels.ToString(),
            R"({__heroku_drain_app="app", __heroku_drain_host="host", )"
            R"(__heroku_drain_log_id="-", __heroku_drain_proc="web.1"})");
  ASSERT_EQ(d.streams[1].entries.size(), 2u);
  EXPECT_EQ(d.streams[1].entries[1].line, "Started GET \"/\"");
  EXPECT_EQ(d.streams[1].entries[1].timestamp_ns, 1714557601000000000);
}

TEST(HerokuDrain, QueryParametersBecomeLabelsRepeatedOnesJoined) {
  DrainBody d = DecodeDrain(Frame(kWeb),
                            Query{{"cluster", "eu"}, {"team", "a"}, {"team", "b"}, {"empty", ""}});
  ASSERT_TRUE(d.error.ok());
  ASSERT_EQ(d.streams.size(), 1u);
  const Labels& l = d.streams[0].labels;
  ASSERT_NE(l.Get("__heroku_drain_param_cluster"), nullptr);
  EXPECT_EQ(*l.Get("__heroku_drain_param_cluster"), "eu");
  ASSERT_NE(l.Get("__heroku_drain_param_team"), nullptr);
  EXPECT_EQ(*l.Get("__heroku_drain_param_team"), "a,b");
  EXPECT_EQ(l.Get("__heroku_drain_param_empty"), nullptr);
}

// Every stream holds a copy of the query's labels, and messages alternating between two dynos
// make a stream each: charged as they are decoded, a small body under a long query is refused
// whole (413) instead of taking gigabytes.
TEST(HerokuDrain, StreamsAndMessagesCountAgainstTheDecodedLimit) {
  const std::string a = "<190>1 2024-05-01T10:00:01Z a app web.1 - x\n";
  const std::string b = "<190>1 2024-05-01T10:00:01Z b app web.1 - x\n";
  std::string body;
  for (int i = 0; i < 500; ++i) body += Frame(a) + Frame(b);
  Query query;
  for (int i = 0; i < 200; ++i) query.emplace_back("p" + std::to_string(i), "value");
  DrainBody d = DecodeDrain(body, query, 1 << 20);
  EXPECT_EQ(d.error.code(), StatusCode::kResourceExhausted) << d.error.message();
  EXPECT_TRUE(d.streams.empty());
  EXPECT_EQ(d.messages, 0u);
  d = DecodeDrain(body, {}, 1 << 20);  // without the query it fits
  ASSERT_TRUE(d.error.ok()) << d.error.message();
  EXPECT_EQ(d.messages, 1000u);
  EXPECT_EQ(d.streams.size(), 1000u);
}

TEST(HerokuDrain, NewlinesBetweenFramesAndAnEmptyBodyAreFine) {
  DrainBody d = DecodeDrain("\n" + Frame(kWeb) + "\r\n" + Frame(kWeb) + "\n", {});
  ASSERT_TRUE(d.error.ok()) << d.error.message();
  EXPECT_EQ(d.messages, 2u);
  d = DecodeDrain("", {});
  EXPECT_TRUE(d.error.ok());
  EXPECT_EQ(d.messages, 0u);
}

TEST(HerokuDrain, TheFirstMalformedFrameIsNamedAndWhatCameBeforeIsKept) {
  struct Case {
    std::string frame;
    std::string why;
  };
  const Case cases[] = {
      {"x12 <1>1 ...", "starts with its length"},
      {"500 " + kWeb, "the frame says 500 bytes"},
      {Frame("<190>1 2024-05-01T10:00:01Z host app web.1\n"), "needs <PRI>VERSION"},
      {Frame("190>1 2024-05-01T10:00:01Z h a p - m"), "invalid PRI"},
      {Frame("<1900>1 2024-05-01T10:00:01Z h a p - m"), "invalid PRI"},
      {Frame("<256>1 2024-05-01T10:00:01Z h a p - m"), "over 255"},
      {Frame("<190> 2024-05-01T10:00:01Z h a p - m"), "invalid PRI"},
      {Frame("<190>1 yesterday h a p - m"), "timestamp \"yesterday\""},
      {Frame("<190>1 - h a p - m"), "timestamp \"-\""},
  };
  for (const Case& c : cases) {
    DrainBody d = DecodeDrain(Frame(kWeb) + c.frame + Frame(kWeb), {});
    ASSERT_FALSE(d.error.ok()) << c.frame;
    EXPECT_NE(
        d.error.message().find("logplex frame 2 (byte " + std::to_string(Frame(kWeb).size()) + ")"),
        std::string::npos)
        << d.error.message();
    EXPECT_NE(d.error.message().find(c.why), std::string::npos) << d.error.message();
    EXPECT_EQ(d.messages, 1u) << c.frame;
    ASSERT_EQ(d.streams.size(), 1u);
    EXPECT_EQ(d.streams[0].entries.size(), 1u);
  }
}

}  // namespace
}  // namespace skidder::sources::push
