#include "sink/loki/encoder.h"

#include <gtest/gtest.h>
#include <snappy.h>

#include <map>
#include <random>
#include <unordered_map>

#include "formats/utf8.h"
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

// The request as protobuf's generated code builds it: the reference the hand-written wire
// encoding must equal byte for byte.
std::string ReferenceEncoding(std::span<const Entry> entries) {
  logproto::PushRequest req;
  std::unordered_map<std::string, logproto::StreamAdapter*> streams;
  for (const Entry& e : entries) {
    std::string text = e.labels.ToString();
    formats::SanitizeUtf8(text);
    auto [it, inserted] = streams.try_emplace(text, nullptr);
    if (inserted) {
      it->second = req.add_streams();
      it->second->set_labels(text);
    }
    logproto::EntryAdapter* out = it->second->add_entries();
    int64_t secs = e.timestamp_ns / 1'000'000'000;
    int64_t nanos = e.timestamp_ns % 1'000'000'000;
    if (nanos < 0) nanos += 1'000'000'000, --secs;
    out->mutable_timestamp()->set_seconds(secs);
    out->mutable_timestamp()->set_nanos(static_cast<int32_t>(nanos));
    out->set_line(e.line);
    for (const Label& md : e.structured_metadata) {
      logproto::LabelPairAdapter* pair = out->add_structuredmetadata();
      pair->set_name(md.name);
      pair->set_value(md.value);
      formats::SanitizeUtf8(*pair->mutable_name());
      formats::SanitizeUtf8(*pair->mutable_value());
    }
  }
  return req.SerializeAsString();
}

TEST(Encoder, WritesExactlyTheBytesProtobufsSerializerWrites) {
  std::mt19937_64 rng(42);
  const int64_t stamps[] = {0,
                            -1,
                            1,
                            -1'000'000'000,
                            1'000'000'000,
                            1'700'000'000'000'000'000,
                            INT64_MIN / 2,
                            INT64_MAX - 7};
  for (int round = 0; round < 50; ++round) {
    std::vector<Entry> entries;
    const size_t n = 1 + rng() % 40;
    for (size_t i = 0; i < n; ++i) {
      Entry e;
      e.labels = Labels{{"job", std::string(1, static_cast<char>('a' + rng() % 4))}};
      if (rng() % 7 == 0) e.labels.Set("pod", "p\xc3");  // repaired label value
      e.timestamp_ns = rng() % 3 == 0 ? stamps[rng() % 8] : static_cast<int64_t>(rng());
      // Empty, short, and lengths whose varint takes two or three bytes.
      const size_t sizes[] = {0, 1, 127, 128, 300, 16383, 16384, 70000};
      e.line.assign(sizes[rng() % 8], static_cast<char>('a' + rng() % 26));
      for (size_t m = rng() % 3; m > 0; --m) {
        // Names and values empty, plain or not UTF-8 (repaired as protobuf's parser needs).
        const char* names[] = {"", "k", "k", "n\xc3"};
        const char* values[] = {"", "abc", "x\xffy", "trace"};
        e.structured_metadata.push_back({names[rng() % 4], values[rng() % 4]});
      }
      entries.push_back(std::move(e));
    }
    std::string raw;
    EncodeStats stats;
    EncodePushRequest(entries, &raw, &stats);
    ASSERT_EQ(raw, ReferenceEncoding(entries)) << "round " << round;
    EXPECT_EQ(stats.entries, static_cast<int64_t>(n));
  }
}

// The sender encodes halves of a batch after a 413: any range of it decodes to exactly the
// entries in that range, each stream's in arrival order.
TEST(Encoder, AnyRangeOfABatchDecodesToItsEntriesStreamByStream) {
  std::mt19937 rng(7);
  const std::vector<Labels> streams = {Labels{{"app", "a"}}, Labels{{"app", "b"}},
                                       Labels{{"app", "c"}, {"pod", "p"}}};
  std::vector<Entry> entries;
  Batch batch;
  for (int i = 0; i < 200; ++i) {
    entries.push_back(MakeEntry(streams[rng() % streams.size()], 1'700'000'000'000'000'000 + i,
                                "line " + std::to_string(i)));
    if (i % 5 == 0) entries.back().structured_metadata = {{"trace_id", std::to_string(i)}};
    batch.Add(entries.back().labels, entries.back(), entries.back().line, entries.back().ack);
  }
  for (int round = 0; round < 50; ++round) {
    size_t begin = rng() % entries.size();
    size_t end = begin + 1 + rng() % (entries.size() - begin);
    std::map<std::string, std::vector<std::string>> want, got;
    for (size_t i = begin; i < end; ++i) {
      want[entries[i].labels.ToString()].push_back(entries[i].line);
    }
    std::string body;
    EncodeStats stats;
    EncodePush(batch, begin, end, &body, &stats);
    EXPECT_EQ(stats.entries, static_cast<int64_t>(end - begin));
    EXPECT_EQ(stats.streams, static_cast<int64_t>(want.size()));
    const logproto::PushRequest req = Decode(body);
    for (const auto& s : req.streams()) {
      for (const auto& e : s.entries()) got[s.labels()].push_back(e.line());
    }
    EXPECT_EQ(got, want) << "range [" << begin << ", " << end << ")";
  }
}

// The sender frees a batch's buffers while its body is in flight and rebuilds them from that body
// when a 413 asks for halves: every range must encode as before, and a body that is not the
// batch's (another batch's, a cut one) must leave the batch as it was.
TEST(Encoder, ABatchsDroppedDataComesBackFromItsBodyForEveryRange) {
  std::mt19937 rng(11);
  const std::vector<Labels> streams = {Labels{{"app", "a"}}, Labels{{"app", "b"}},
                                       Labels{{"app", "c"}, {"pod", "p"}}};
  Batch batch, other;
  int64_t charged = 0;
  for (int i = 0; i < 300; ++i) {
    Entry e = MakeEntry(streams[rng() % streams.size()], 1'700'000'000'000'000'000 + i,
                        "line " + std::to_string(i) + std::string(rng() % 300, 'x'));
    if (i % 7 == 0) e.structured_metadata = {{"trace_id", std::to_string(i)}};
    charged += batch.Add(e.labels, e, e.line, e.ack);
    if (i % 2 == 0) other.Add(e.labels, e, e.line, e.ack);
  }
  const size_t n = batch.entries.size();
  std::vector<std::string> before;
  for (size_t begin = 0; begin < n; begin += 37) {
    before.emplace_back();
    EncodePushRequest(batch, begin, std::min(n, begin + 61), &before.back());
  }
  std::string body, other_body;
  EncodePush(batch, 0, n, &body);
  EncodePush(other, 0, other.entries.size(), &other_body);

  int64_t buffers = 0;
  for (const BatchStream& s : batch.streams) buffers += static_cast<int64_t>(s.data.capacity());
  const int64_t freed = batch.DropData();
  EXPECT_GT(freed, buffers / 2);
  EXPECT_LE(freed, charged);  // no more than Add charged for them
  for (const BatchStream& s : batch.streams) EXPECT_EQ(s.data.capacity(), std::string().capacity());
  EXPECT_TRUE(batch.data_dropped());

  const std::string cut = body.substr(0, body.size() / 2);
  for (const std::string* wrong : std::vector<const std::string*>{&other_body, &cut}) {
    EXPECT_EQ(batch.RestoreData(*wrong), -1);
    EXPECT_TRUE(batch.data_dropped());
    for (const BatchStream& s : batch.streams) EXPECT_TRUE(s.data.empty());
  }
  EXPECT_GT(batch.RestoreData(body), 0);
  EXPECT_FALSE(batch.data_dropped());
  std::vector<std::string> after;
  for (size_t begin = 0; begin < n; begin += 37) {
    after.emplace_back();
    EncodePushRequest(batch, begin, std::min(n, begin + 61), &after.back());
  }
  EXPECT_EQ(after, before);
}

TEST(Encoder, PushBodyIsTheSnappyBlockOfTheRequestAcrossManyCompressionBlocks) {
  // EncodePush writes the request into snappy 64 KiB at a time; the body must be exactly the
  // compressed serialised request, whatever straddles a block: long lines, many small entries,
  // stream headers, metadata.
  std::mt19937_64 rng(7);
  for (int round = 0; round < 6; ++round) {
    std::vector<Entry> entries;
    const size_t n = 1 + rng() % (round < 3 ? 4000 : 60);
    for (size_t i = 0; i < n; ++i) {
      Entry e;
      e.labels = Labels{{"job", std::string(1, static_cast<char>('a' + rng() % 5))}};
      e.timestamp_ns = static_cast<int64_t>(rng());
      const size_t sizes[] = {0, 200, 211, 65536, 65535, 150000};
      e.line.resize(sizes[round < 3 ? rng() % 3 : rng() % 6]);
      for (char& c : e.line) c = static_cast<char>('a' + rng() % 26);
      if (rng() % 5 == 0) e.structured_metadata.push_back({"trace", "t"});
      entries.push_back(std::move(e));
    }
    std::string raw, expected, body;
    EncodePushRequest(entries, &raw);
    snappy::Compress(raw.data(), raw.size(), &expected);
    EncodeStats stats;
    EncodePush(entries, &body, &stats);
    ASSERT_EQ(body, expected) << "round " << round << ", " << raw.size() << " bytes";
    EXPECT_EQ(stats.entries, static_cast<int64_t>(n));
  }
  std::string body;
  EncodePush({}, &body);
  EXPECT_EQ(Decode(body).streams_size(), 0);
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
