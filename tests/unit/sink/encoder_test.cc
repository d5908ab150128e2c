#include "sink/loki/encoder.h"

#include <gtest/gtest.h>
#include <snappy.h>

#include "push.pb.h"

namespace skidder::sink {
namespace {

Entry MakeEntry(Labels labels, int64_t ts, std::string line) {
  Entry e;
  e.labels = std::move(labels);
  e.timestamp_ns = ts;
  e.line = std::move(line);
  return e;
}

logproto::PushRequest Decode(const std::string& body) {
  std::string raw;
  EXPECT_TRUE(snappy::Uncompress(body.data(), body.size(), &raw));
  logproto::PushRequest req;
  EXPECT_TRUE(req.ParseFromString(raw));
  return req;
}

TEST(Encoder, GroupsEntriesByStreamKeepingOrderAndTimestamps) {
  std::vector<Entry> entries;
  entries.push_back(MakeEntry({{"job", "a"}}, 1'700'000'000'123'456'789, "a1"));
  entries.push_back(MakeEntry({{"job", "b"}}, 1'700'000'001'000'000'000, "b1"));
  entries.push_back(MakeEntry({{"job", "a"}}, 1'700'000'002'000'000'001, "a2"));
  std::string body;
  EncodeStats stats;
  EncodePush(entries, &body, &stats);
  EXPECT_EQ(stats.entries, 3);
  EXPECT_EQ(stats.streams, 2);
  EXPECT_EQ(stats.line_bytes, 6);

  auto req = Decode(body);
  ASSERT_EQ(req.streams_size(), 2);
  EXPECT_EQ(req.streams(0).labels(), R"({job="a"})");
  ASSERT_EQ(req.streams(0).entries_size(), 2);
  EXPECT_EQ(req.streams(0).entries(0).line(), "a1");
  EXPECT_EQ(req.streams(0).entries(0).timestamp().seconds(), 1'700'000'000);
  EXPECT_EQ(req.streams(0).entries(0).timestamp().nanos(), 123'456'789);
  EXPECT_EQ(req.streams(0).entries(1).line(), "a2");
  EXPECT_EQ(req.streams(1).labels(), R"({job="b"})");
  EXPECT_EQ(req.streams(1).entries(0).line(), "b1");
}

TEST(Encoder, TimestampsHaveTheWireFormOfGoogleProtobufTimestamp) {
  // proto/push.proto declares its own Timestamp (the lite runtime has no well-known types);
  // Loki decodes google.protobuf.Timestamp: field 1 = int64 seconds, field 2 = int32 nanos.
  logproto::EntryAdapter e;
  e.mutable_timestamp()->set_seconds(1);
  e.mutable_timestamp()->set_nanos(2);
  e.set_line("x");
  EXPECT_EQ(e.SerializeAsString(), std::string("\x0a\x04\x08\x01\x10\x02\x12\x01x", 9));
}

TEST(Encoder, LabelsAreSortedAndEscaped) {
  std::vector<Entry> entries;
  entries.push_back(MakeEntry({{"zeta", "z"}, {"app", "say \"hi\"\\\n"}}, 1, "x"));
  std::string body;
  EncodePush(entries, &body);
  auto req = Decode(body);
  ASSERT_EQ(req.streams_size(), 1);
  EXPECT_EQ(req.streams(0).labels(), R"({app="say \"hi\"\\\n", zeta="z"})");
}

TEST(Encoder, StructuredMetadataRoundTrips) {
  Entry e = MakeEntry({{"job", "a"}}, 5, "line");
  e.structured_metadata = {{"trace_id", "abc"}, {"bad", "x\xffy"}};
  std::vector<Entry> entries;
  entries.push_back(std::move(e));
  std::string body;
  EncodePush(entries, &body);
  auto req = Decode(body);
  const auto& out = req.streams(0).entries(0);
  ASSERT_EQ(out.structuredmetadata_size(), 2);
  EXPECT_EQ(out.structuredmetadata(0).name(), "trace_id");
  EXPECT_EQ(out.structuredmetadata(0).value(), "abc");
  EXPECT_EQ(out.structuredmetadata(1).value(), "x\xEF\xBF\xBDy");
}

TEST(Encoder, InvalidUtf8InLabelValuesIsReplacedSoLokiAcceptsTheRequest) {
  std::vector<Entry> entries;
  entries.push_back(MakeEntry({{"pod", "p\xc3"}}, 1, "ok"));
  std::string body;
  EncodePush(entries, &body);
  auto req = Decode(body);  // parse fails on invalid UTF-8 in a proto3 string
  EXPECT_EQ(req.streams(0).labels(), "{pod=\"p\xEF\xBF\xBD\"}");
}

TEST(Encoder, TimestampsBeforeTheEpochKeepNanosPositive) {
  std::vector<Entry> entries;
  entries.push_back(MakeEntry({{"j", "a"}}, -1, "x"));
  std::string body;
  EncodePush(entries, &body);
  auto ts = Decode(body).streams(0).entries(0).timestamp();
  EXPECT_EQ(ts.seconds(), -1);
  EXPECT_EQ(ts.nanos(), 999'999'999);
}

TEST(FinalizeLabels, RemovesInternalLabelsAddsExternalOnesAndReturnsTenant) {
  Labels l{{"__path__", "/var/log/x.log"},
           {"__tenant_id__", "team-a"},
           {"job", "app"},
           {"cluster", "mine"}};
  Labels external{{"cluster", "prod"}, {"region", "eu"}};
  std::string tenant = FinalizeLabels(&l, external);
  EXPECT_EQ(tenant, "team-a");
  // The entry's own cluster wins over the client's external label, as in Promtail.
  EXPECT_EQ(l.ToString(), R"({cluster="mine", job="app", region="eu"})");
}

TEST(FinalizeLabels, NoTenantLabelMeansEmptyTenant) {
  Labels l{{"job", "app"}};
  EXPECT_EQ(FinalizeLabels(&l, Labels{}), "");
  EXPECT_EQ(l.ToString(), R"({job="app"})");
}

}  // namespace
}  // namespace skidder::sink
