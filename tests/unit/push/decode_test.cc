#include "sources/push/decode.h"

#include <gtest/gtest.h>
#include <snappy.h>

#include "support/push_client.h"

namespace skidder::sources::push {
namespace {

using testing::ReceivedEntry;

TEST(ParseLabelText, ReadsWhatLokiClientsSend) {
  auto l = ParseLabelText(R"({app="api", msg="a \"quoted\" \\ line\n", utf="\u00e9\x41"})");
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_EQ(*l->Get("app"), "api");
  EXPECT_EQ(*l->Get("msg"), "a \"quoted\" \\ line\n");
  EXPECT_EQ(*l->Get("utf"),
            "\xc3\xa9"
            "A");
  EXPECT_EQ(l->ToString(), R"({app="api", msg="a \"quoted\" \\ line\n", utf="éA"})");
}

TEST(ParseLabelText, AcceptsEmptySetsSpacingAndPromQLQuotes) {
  EXPECT_TRUE(ParseLabelText("{}")->empty());
  auto l = ParseLabelText(" { a = 'x' ,b=`raw\\n` , } ");
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_EQ(*l->Get("a"), "x");
  EXPECT_EQ(*l->Get("b"), "raw\\n");
}

TEST(ParseLabelText, RefusesMalformedText) {
  for (const char* bad :
       {"", "app=\"x\"", "{app=\"x\"", "{1a=\"x\"}", "{a=x}", "{a=\"x\" b=\"y\"}", "{a=\"\\q\"}",
        "{a=\"x\", a=\"y\"}", "{a=\"x\"} trailing", "{a=\"\\x4\"}"}) {
    EXPECT_FALSE(ParseLabelText(bad)) << bad;
  }
}

TEST(DecodeJsonPush, ReadsStreamsValuesAndStructuredMetadata) {
  auto s = DecodeJsonPush(R"({"streams":[{"stream":{"app":"a","env":"p"},
      "values":[["1700000000000000001","one"],["2","two",{"trace_id":"t1"}]]},
      {"stream":{"app":"b"},"values":[]}]})");
  ASSERT_TRUE(s) << s.error().message();
  ASSERT_EQ(s->size(), 2u);
  EXPECT_EQ((*s)[0].labels.ToString(), R"({app="a", env="p"})");
  ASSERT_EQ((*s)[0].entries.size(), 2u);
  EXPECT_EQ((*s)[0].entries[0].timestamp_ns, 1700000000000000001);
  EXPECT_EQ((*s)[0].entries[0].line, "one");
  EXPECT_EQ((*s)[0].entries[1].structured_metadata, (std::vector<Label>{{"trace_id", "t1"}}));
  EXPECT_TRUE((*s)[1].entries.empty());
}

TEST(DecodeJsonPush, RefusesWhatLokiRefusesNamingWhere) {
  struct Case {
    const char* json;
    const char* why;
  };
  for (const Case& c : std::vector<Case>{
           {"[]", "\"streams\""},
           {R"({"streams":{}})", "\"streams\" list"},
           {R"({"streams":[{"stream":{"a":1}}]})", "streams[0].stream"},
           {R"({"streams":[{"stream":{"a-b":"1"}}]})", "streams[0].stream"},
           {R"({"streams":[{"values":[["x","l"]]}]})", "streams[0].values[0]: the timestamp"},
           {R"({"streams":[{"values":[["1"]]}]})", "streams[0].values[0]: expected"},
           {R"({"streams":[{"values":[["1",2]]}]})", "the line must be a string"},
           {R"({"streams":[{"values":[["1","l",{"k":1}]]}]})", "metadata values must be strings"},
           {"{\"streams\":[", "not JSON"},
       }) {
    auto s = DecodeJsonPush(c.json);
    ASSERT_FALSE(s) << c.json;
    EXPECT_NE(s.error().message().find(c.why), std::string::npos) << s.error().message();
    EXPECT_EQ(HttpStatusFor(s.error()), 400);
  }
}

TEST(DecodePush, ProtobufIsTheDefaultAndKeepsTimestampsAndMetadata) {
  std::vector<ReceivedEntry> in = {{.labels = R"({app="x"})",
                                    .timestamp_ns = 1'700'000'000'987'654'321,
                                    .line = "l1",
                                    .metadata = {{"k", "v"}}},
                                   {.labels = R"({app="y"})", .timestamp_ns = 5, .line = "l2"}};
  for (const char* type : {"application/x-protobuf", ""}) {
    auto s = DecodePush(testing::ProtobufPushBody(in), type, "", {});
    ASSERT_TRUE(s) << s.error().message();
    ASSERT_EQ(s->size(), 2u);
    EXPECT_EQ((*s)[0].entries[0].timestamp_ns, in[0].timestamp_ns);
    EXPECT_EQ((*s)[0].entries[0].structured_metadata, (std::vector<Label>{{"k", "v"}}));
    EXPECT_EQ((*s)[1].labels.ToString(), R"({app="y"})");
  }
}

TEST(DecodePush, JsonWithGzipOrDeflateAndCharset) {
  std::vector<ReceivedEntry> in = {{.labels = R"({app="x"})", .timestamp_ns = 7, .line = "hi"}};
  const std::string json = testing::JsonPushBody(in);
  auto plain = DecodePush(json, "application/json; charset=utf-8", "", {});
  ASSERT_TRUE(plain) << plain.error().message();
  auto gz = DecodePush(testing::Gzip(json), "application/json", "gzip", {});
  ASSERT_TRUE(gz) << gz.error().message();
  EXPECT_EQ((*gz)[0].entries[0].line, "hi");
}

TEST(DecodePush, LimitsTheDecompressedSize) {
  const std::string json = testing::JsonPushBody(
      {{.labels = R"({app="x"})", .timestamp_ns = 7, .line = std::string(100000, 'a')}});
  auto gz =
      DecodePush(testing::Gzip(json), "application/json", "gzip", {.max_decoded_bytes = 1000});
  ASSERT_FALSE(gz);
  EXPECT_EQ(HttpStatusFor(gz.error()), 413);
  auto pb = DecodePush(testing::ProtobufPushBody(
                           {{.labels = "{}", .timestamp_ns = 1, .line = std::string(5000, 'b')}}),
                       "application/x-protobuf", "", {.max_decoded_bytes = 1000});
  ASSERT_FALSE(pb);
  EXPECT_EQ(HttpStatusFor(pb.error()), 413);
}

TEST(DecodePush, RefusesUnknownEncodingsAndBrokenBodies) {
  auto br = DecodePush("{}", "application/json", "br", {});
  ASSERT_FALSE(br);
  EXPECT_EQ(HttpStatusFor(br.error()), 415);
  EXPECT_EQ(HttpStatusFor(DecodePush("zz", "application/x-protobuf", "", {}).error()), 400);
  // A line that is not UTF-8 is bad protobuf (proto3 string), as Loki's decoder says.
  auto s = DecodePush(
      testing::ProtobufPushBody({{.labels = "{}", .timestamp_ns = 1, .line = "\xff"}}), "", "", {});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("UTF-8"), std::string::npos);
}

}  // namespace
}  // namespace skidder::sources::push
