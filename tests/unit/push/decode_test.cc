#include "sources/push/decode.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <snappy.h>

#include <limits>

#include "push.pb.h"
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
}

// Loki's decoder (gogoproto) takes bytes that are not UTF-8 and Promtail forwards them; refusing
// the request (400, final for senders) would lose every line of the batch. They are taken as
// bytes here and repaired on the way out, as every line is.
TEST(DecodePush, AProtobufLineOrLabelThatIsNotUtf8IsTakenAsBytes) {
  auto s = DecodePush(
      testing::ProtobufPushBody({{.labels = "{a=\"\xe9\"}",
                                  .timestamp_ns = 1,
                                  .line = "caf\xe9",
                                  .metadata = {{"k", "\xff"}}},
                                 {.labels = "{a=\"b\"}", .timestamp_ns = 2, .line = "ok"}}),
      "", "", {});
  ASSERT_TRUE(s) << s.error().message();
  ASSERT_EQ(s->size(), 2u);
  EXPECT_EQ((*s)[0].entries[0].line, "caf\xe9");
  EXPECT_EQ((*s)[0].entries[0].structured_metadata[0].value, "\xff");
  EXPECT_EQ((*s)[1].entries[0].line, "ok");
}

// Entries cost memory beyond their bytes: a small body of many empty entries is refused (413)
// before it is parsed, by a count on the wire against the objects' budget (4x the limit).
TEST(DecodePush, ManyEntriesCountAgainstTheDecodedLimit) {
  std::vector<testing::ReceivedEntry> empty(4000, {.labels = "{a=\"b\"}", .timestamp_ns = 1});
  const std::string body = testing::ProtobufPushBody(empty);
  auto fits = DecodePush(body, "", "", {.max_decoded_bytes = 4000 * 300 / 4});
  ASSERT_TRUE(fits) << fits.error().message();
  size_t n = 0;
  for (const PushedStream& ps : *fits) n += ps.entries.size();
  EXPECT_EQ(n, 4000u);
  auto refused = DecodePush(body, "", "", {.max_decoded_bytes = 4000 * 200 / 4});
  ASSERT_FALSE(refused);
  EXPECT_EQ(HttpStatusFor(refused.error()), 413);
  EXPECT_NE(refused.error().message().find("each stream and entry counts 256 bytes"),
            std::string::npos)
      << refused.error().message();
}

// Empty streams and empty structured-metadata pairs are 2 bytes on the wire each and hundreds in
// memory: they count too, before the parse (a 5 MB body of them took gigabytes).
TEST(DecodePush, EmptyStreamsAndMetadataPairsCountAgainstTheDecodedLimit) {
  std::string raw;
  for (int i = 0; i < 4000; ++i) raw += std::string("\x0a\x00", 2);  // streams: {}
  std::string body;
  snappy::Compress(raw.data(), raw.size(), &body);
  auto refused = DecodeProtobufPush(body, 4000 * 200 / 4);
  ASSERT_FALSE(refused);
  EXPECT_EQ(HttpStatusFor(refused.error()), 413) << refused.error().message();

  testing::ReceivedEntry e{.labels = "{a=\"b\"}", .timestamp_ns = 1, .line = "x"};
  e.metadata.assign(4000, {"", ""});
  const std::string pairs = testing::ProtobufPushBody({e});
  auto too_many = DecodePush(pairs, "", "", {.max_decoded_bytes = 4000 * 100 / 4});
  ASSERT_FALSE(too_many);
  EXPECT_EQ(HttpStatusFor(too_many.error()), 413) << too_many.error().message();
  EXPECT_TRUE(DecodePush(pairs, "", "", {.max_decoded_bytes = 4000 * 200 / 4}));
}

// The objects' budget is not the bytes' limit: a sender's ordinary batch of short lines takes a
// few times its size as objects, and a 413 is final to Promtail and Alloy. 1 MB of 5000 entries
// with 3 metadata pairs each (~3.2 MB of objects) passes a 4 MiB limit (Alloy's
// max_send_message_size lowered), and the bytes' limit holds on its own.
TEST(DecodePush, AnOrdinaryBatchOfShortLinesFitsALoweredLimit) {
  std::vector<testing::ReceivedEntry> batch;
  for (int i = 0; i < 5000; ++i) {
    batch.push_back({.labels = "{app=\"api\", namespace=\"prod\"}",
                     .timestamp_ns = 1 + i,
                     .line = std::string(180, 'x'),
                     .metadata = {{"trace_id", "0af7651916cd43dd8448eb211c80319c"},
                                  {"span_id", "b7ad6b7169203331"},
                                  {"pod", "api-7f9c6d5b8-x2x9q"}}});
  }
  const std::string body = testing::ProtobufPushBody(batch);
  auto fits = DecodePush(body, "", "", {.max_decoded_bytes = 4 << 20});
  ASSERT_TRUE(fits) << fits.error().message();
  EXPECT_EQ((*fits)[0].entries.size(), 5000u);
  std::string raw;
  ASSERT_TRUE(snappy::Uncompress(body.data(), body.size(), &raw));
  auto too_big = DecodePush(body, "", "", {.max_decoded_bytes = raw.size() - 1});
  ASSERT_FALSE(too_big);
  EXPECT_EQ(HttpStatusFor(too_big.error()), 413) << too_big.error().message();
}

// A raw body (one entry per line) is charged per line as well.
TEST(DecodePush, RawLinesCountAgainstTheDecodedLimit) {
  std::string lines;
  for (int i = 0; i < 4000; ++i) lines += "a\n";
  const Status refused = CheckRawBody(lines, 4000 * 200 / 4);
  EXPECT_EQ(HttpStatusFor(refused), 413) << refused.message();
  EXPECT_NE(refused.message().find("4001 lines"), std::string::npos) << refused.message();
  EXPECT_TRUE(CheckRawBody(lines, 4000 * 300 / 4).ok());
  EXPECT_EQ(HttpStatusFor(CheckRawBody(lines, lines.size() - 1)), 413);  // the bytes' limit
}

// The same for JSON: a body of many tiny entries is refused before its document is built; a
// line full of brackets counts as text, not as arrays.
TEST(DecodePush, ManyJsonEntriesCountAgainstTheDecodedLimit) {
  std::string many = R"({"streams":[{"stream":{"a":"b"},"values":[)";
  for (int i = 0; i < 4000; ++i) many += std::string(i ? "," : "") + R"(["1",""])";
  many += "]}]}";
  auto refused = DecodePush(many, "application/json", "", {.max_decoded_bytes = 4000 * 60 / 4});
  ASSERT_FALSE(refused);
  EXPECT_EQ(HttpStatusFor(refused.error()), 413);
  EXPECT_NE(refused.error().message().find("4009 JSON arrays, objects and members"),
            std::string::npos)
      << refused.error().message();
  EXPECT_NE(refused.error().message().find("each counts 64 bytes"), std::string::npos)
      << refused.error().message();
  EXPECT_TRUE(DecodePush(many, "application/json", "", {.max_decoded_bytes = 4000 * 70 / 4}));
  const std::string brackets = testing::JsonPushBody(
      {{.labels = R"({app="x"})", .timestamp_ns = 7, .line = std::string(5000, '[') + "\"{"}});
  auto ok = DecodePush(brackets, "application/json", "", {.max_decoded_bytes = 10000});
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ((*ok)[0].entries[0].line, std::string(5000, '[') + "\"{");
}

// A seconds field past what nanoseconds since 1970 hold in 64 bits is clamped, not wrapped round
// to another date.
TEST(DecodePush, HugeTimestampsAreClampedNotWrapped) {
  for (int64_t seconds : {int64_t{1} << 62, -(int64_t{1} << 62)}) {
    logproto::PushRequest req;
    logproto::StreamAdapter* st = req.add_streams();
    st->set_labels("{}");
    logproto::EntryAdapter* e = st->add_entries();
    e->mutable_timestamp()->set_seconds(seconds);
    e->set_line("far");
    std::string raw = req.SerializeAsString(), body;
    snappy::Compress(raw.data(), raw.size(), &body);
    auto s = DecodePush(body, "", "", {});
    ASSERT_TRUE(s) << s.error().message();
    const int64_t ns = (*s)[0].entries[0].timestamp_ns;
    EXPECT_EQ(ns > 0, seconds > 0) << ns;
    EXPECT_GT(ns > 0 ? ns : -ns, int64_t{9'000'000'000} * 1'000'000'000) << ns;
  }
}

// nanos outside [0, 1e9) carry into the seconds as Go's time.Unix carries them, and next to the
// int64 limits they must not overflow the sum (undefined behaviour, then a date in 1677).
TEST(DecodePush, NanosOutsideASecondCarryAndCannotOverflow) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max() / 1'000'000'000;
  constexpr int32_t kNanosMax = std::numeric_limits<int32_t>::max();
  constexpr int32_t kNanosMin = std::numeric_limits<int32_t>::min();
  struct Case {
    int64_t seconds;
    int32_t nanos;
    int64_t want_ns;  // 0: only the sign and size are checked
  } cases[] = {
      {10, -1, 9'999'999'999},
      {10, 1'500'000'000, 11'500'000'000},
      {-1, kNanosMin, -3'147'483'648},
      {kMax, kNanosMax, 0},
      {kMax + 5, kNanosMax, 0},
      {-kMax, kNanosMin, 0},
      {std::numeric_limits<int64_t>::min(), kNanosMin, 0},
  };
  for (const Case& c : cases) {
    logproto::PushRequest req;
    logproto::StreamAdapter* st = req.add_streams();
    st->set_labels("{}");
    logproto::EntryAdapter* e = st->add_entries();
    e->mutable_timestamp()->set_seconds(c.seconds);
    e->mutable_timestamp()->set_nanos(c.nanos);
    e->set_line("x");
    std::string raw = req.SerializeAsString(), body;
    snappy::Compress(raw.data(), raw.size(), &body);
    auto s = DecodePush(body, "", "", {});
    ASSERT_TRUE(s) << s.error().message();
    const int64_t ns = (*s)[0].entries[0].timestamp_ns;
    if (c.want_ns != 0) {
      EXPECT_EQ(ns, c.want_ns) << c.seconds << "s " << c.nanos << "ns";
    } else {
      EXPECT_EQ(ns > 0, c.seconds > 0) << c.seconds << "s " << c.nanos << "ns: " << ns;
      EXPECT_GT(ns > 0 ? ns : -ns, int64_t{9'000'000'000} * 1'000'000'000) << ns;
    }
  }
}

// JavaScript's JSON.stringify of a string cut inside an emoji: Loki (Go) reads the lone surrogate
// as U+FFFD and takes the request; refusing it would lose every other line in it.
TEST(DecodePush, AJsonLineWithALoneSurrogateIsTakenAsLokiTakesIt) {
  const std::string json =
      R"({"streams":[{"stream":{"app":"x"},"values":[["7","cut \ud83d"],["8","next"]]}]})";
  auto s = DecodePush(json, "application/json", "", {});
  ASSERT_TRUE(s) << s.error().message();
  ASSERT_EQ((*s)[0].entries.size(), 2u);
  EXPECT_EQ((*s)[0].entries[0].line, "cut \xEF\xBF\xBD");
  EXPECT_EQ((*s)[0].entries[1].line, "next");
}

// A stream of many labels is read in O(n log n): 50,000 of them took minutes with a Set() (and a
// duplicate check) per label. A name given twice is still refused.
TEST(DecodePush, AStreamOfManyLabelsIsReadQuicklyAndDuplicatesAreRefused) {
  std::string labels, text;
  for (int i = 0; i < 50000; ++i) {
    labels += fmt::format(R"({}"l{:05}":"v")", i == 0 ? "" : ",", i);
    text += fmt::format(R"({}l{:05}="v")", i == 0 ? "" : ",", i);
  }
  auto json = DecodePush(R"({"streams":[{"stream":{)" + labels + R"(},"values":[["7","x"]]}]})",
                         "application/json", "", {});
  ASSERT_TRUE(json) << json.error().message();
  EXPECT_EQ((*json)[0].labels.size(), 50000u);
  auto parsed = ParseLabelText("{" + text + "}");
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(parsed->size(), 50000u);
  auto twice = ParseLabelText(R"({b="1", a="2", b="3"})");
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().message(), "label b given twice");
}

// Two gzip members back to back (concatenated files) are one body, as Go's reader reads it.
TEST(DecodePush, GzipMembersBackToBackAreReadWhole) {
  const std::string json =
      testing::JsonPushBody({{.labels = R"({app="x"})", .timestamp_ns = 7, .line = "one"},
                             {.labels = R"({app="x"})", .timestamp_ns = 8, .line = "two"}});
  const size_t half = json.size() / 2;
  const std::string body = testing::Gzip(json.substr(0, half)) + testing::Gzip(json.substr(half));
  auto s = DecodePush(body, "application/json", "gzip", {});
  ASSERT_TRUE(s) << s.error().message();
  ASSERT_EQ((*s)[0].entries.size(), 2u);
  EXPECT_EQ((*s)[0].entries[1].line, "two");
}

}  // namespace
}  // namespace skidder::sources::push
