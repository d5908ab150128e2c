// GELF payloads and chunks as Promtail's gelf target (grafana/go-gelf) reads them: the line is
// the message written back in go-gelf's order and Go's JSON forms; bad input is refused with a
// reason; chunks are reassembled within bounds.
#include "sources/gelf/message.h"

#include <gtest/gtest.h>

#include <cstring>

#include "support/compress.h"
#include "support/gelf_client.h"

namespace skidder::sources::gelf {
namespace {

using testing::GelfChunk;

GelfMessage Decode(std::string_view payload) {
  GelfMessage m;
  Status st = DecodeMessage(payload, &m);
  EXPECT_TRUE(st.ok()) << st.message();
  return m;
}

std::string ErrorOf(std::string_view payload) {
  GelfMessage m;
  Status st = DecodeMessage(payload, &m);
  return st.ok() ? "(decoded)" : st.message();
}

constexpr std::string_view kFull =
    R"({"version":"1.1","host":"web-1","short_message":"boom <x> & y","full_message":"trace",)"
    R"("timestamp":1700000000.25,"level":3,"facility":"payments","_b":2,)"
    R"("_a":{"z":1,"y":[true,null,"s"]},"other":"dropped","_n":12345678901234567890})";

TEST(GelfMessage, TheLineIsTheMessageAsGoGelfWritesIt) {
  GelfMessage m = Decode(kFull);
  EXPECT_EQ(m.version, "1.1");
  EXPECT_EQ(m.host, "web-1");
  EXPECT_EQ(m.facility, "payments");
  EXPECT_EQ(m.level, 3);
  EXPECT_DOUBLE_EQ(m.timestamp, 1700000000.25);
  // GELF's fields in go-gelf's order, HTML-safe escaping, then the `_` fields sorted by name
  // with objects' keys sorted (integers stay exact, where Go would round past 2^53); a field
  // that is neither is left out.
  EXPECT_EQ(m.line,
            R"({"version":"1.1","host":"web-1","short_message":"boom \u003cx\u003e \u0026 y",)"
            R"("full_message":"trace","timestamp":1700000000.25,"level":3,"facility":"payments",)"
            R"("_a":{"y":[true,null,"s"],"z":1},"_b":2,"_n":12345678901234567890})");
}

TEST(GelfMessage, EmptyOptionalFieldsAreLeftOutAsInGoGelf) {
  GelfMessage m = Decode(R"({"short_message":"hi","level":0})");
  EXPECT_EQ(m.line, R"({"version":"","host":"","short_message":"hi","timestamp":0})");
  EXPECT_EQ(m.level, 0);
  EXPECT_EQ(m.timestamp, 0);
}

TEST(GelfMessage, GzipAndZlibPayloadsDecodeAsThePlainOne) {
  const std::string plain(kFull);
  const std::string want = Decode(plain).line;
  EXPECT_EQ(Decode(testing::Gzip(plain)).line, want);
  EXPECT_EQ(Decode(testing::Zlib(plain)).line, want);
}

TEST(GelfMessage, WhatFollowsTheObjectIsIgnoredAsByGosDecoder) {
  EXPECT_EQ(Decode(std::string(R"({"short_message":"x"})") + "\0\r\n{\"b\":1} junk").line,
            R"({"version":"","host":"","short_message":"x","timestamp":0})");
}

TEST(GelfMessage, ATrailingNulOrNewlineIsAccepted) {
  EXPECT_EQ(Decode(std::string(R"({"short_message":"x"})") + '\0').line,
            R"({"version":"","host":"","short_message":"x","timestamp":0})");
  EXPECT_EQ(Decode("{\"short_message\":\"x\"}\n").line,
            R"({"version":"","host":"","short_message":"x","timestamp":0})");
}

TEST(GelfMessage, AFieldGivenTwiceKeepsItsLastValue) {
  GelfMessage m = Decode(R"({"host":"a","host":"b","_k":1,"_k":2})");
  EXPECT_EQ(m.host, "b");
  EXPECT_EQ(m.line, R"({"version":"","host":"b","short_message":"","timestamp":0,"_k":2})");
}

TEST(GelfMessage, WrongTypesAndNonObjectsAreRefusedWithTheReason) {
  EXPECT_EQ(ErrorOf(R"({"level":"3"})"), "invalid type for field level");
  EXPECT_EQ(ErrorOf(R"({"host":null})"), "invalid type for field host");
  EXPECT_EQ(ErrorOf(R"({"timestamp":"now"})"), "invalid type for field timestamp");
  EXPECT_EQ(ErrorOf(R"({"short_message":1})"), "invalid type for field short_message");
  EXPECT_EQ(ErrorOf("[1,2]"), "not a JSON object");
  EXPECT_EQ(ErrorOf("\"text\""), "not a JSON object");
  EXPECT_NE(ErrorOf("{\"short_message\":").find("invalid JSON"), std::string::npos);
  EXPECT_NE(ErrorOf("").find("invalid JSON"), std::string::npos);
  EXPECT_NE(ErrorOf(std::string(5000, '[')).find("nesting deeper than"), std::string::npos);
}

TEST(GelfMessage, ABadOrHugeCompressedPayloadIsRefused) {
  std::string gz = testing::Gzip(std::string(kFull));
  EXPECT_EQ(ErrorOf(gz.substr(0, gz.size() / 2)), "gzip payload is corrupt or truncated");
  // A few kilobytes that inflate past the bound: refused without inflating them all.
  const std::string bomb = testing::Zlib(std::string(kMaxMessageBytes + 1, ' '));
  ASSERT_LT(bomb.size(), 64u << 10);
  EXPECT_EQ(ErrorOf(bomb), "zlib payload larger than 1048576 bytes decompressed");
  // Reassembled chunks are held to the same size.
  EXPECT_EQ(ErrorOf(std::string(kMaxMessageBytes + 1, ' ')),
            "message of 1048577 bytes is larger than 1048576 bytes");
}

TEST(GelfMessage, LevelsOutsideSyslogsRangeHaveNoName) {
  EXPECT_EQ(LevelName(0), "emergency");
  EXPECT_EQ(LevelName(6), "informational");
  EXPECT_EQ(LevelName(7), "debug");
  EXPECT_EQ(LevelName(8), "");
  EXPECT_EQ(LevelName(-1), "");
  EXPECT_EQ(Decode(R"({"level":1e300})").level, INT32_MIN);  // no crash, no name
  EXPECT_EQ(Decode(R"({"level":6.9})").level, 6);            // Go truncates
}

TEST(GelfMessage, InvalidUtf8InLabelValuesIsReplaced) {
  GelfMessage m = Decode("{\"host\":\"a\xff\"}");
  EXPECT_EQ(m.host, "a\xEF\xBF\xBD");
  EXPECT_NE(m.line.find(R"("host":"a\ufffd")"), std::string::npos);
}

class ReassemblerTest : public ::testing::Test {
 protected:
  Reassembler::Outcome Add(const std::string& chunk, int64_t now_ns = 0) {
    return r_.Add(chunk, now_ns, &payload_, &error_);
  }
  Reassembler r_;
  std::string payload_, error_;
};

TEST_F(ReassemblerTest, ChunksInAnyOrderMakeTheMessage) {
  EXPECT_EQ(Add(GelfChunk(7, 2, 3, "c")), Reassembler::Outcome::kIncomplete);
  EXPECT_EQ(Add(GelfChunk(8, 0, 2, "x")), Reassembler::Outcome::kIncomplete);  // another message
  EXPECT_EQ(Add(GelfChunk(7, 0, 3, "a")), Reassembler::Outcome::kIncomplete);
  EXPECT_EQ(Add(GelfChunk(7, 0, 3, "A")), Reassembler::Outcome::kIncomplete);  // a repeat
  EXPECT_EQ(Add(GelfChunk(7, 1, 3, "b")), Reassembler::Outcome::kComplete);
  EXPECT_EQ(payload_, "abc");
  EXPECT_EQ(r_.pending(), 1u);
  EXPECT_EQ(Add(GelfChunk(9, 0, 1, "whole")), Reassembler::Outcome::kComplete);
  EXPECT_EQ(payload_, "whole");
}

TEST_F(ReassemblerTest, MalformedChunksAreRefusedWithTheReason) {
  EXPECT_EQ(Add(GelfChunk(1, 0, 2, "")), Reassembler::Outcome::kInvalid);
  EXPECT_EQ(error_, "chunk of 12 bytes is not longer than its 12-byte header");
  EXPECT_EQ(Add(GelfChunk(1, 0, 0, "x")), Reassembler::Outcome::kInvalid);
  EXPECT_EQ(Add(GelfChunk(1, 0, 129, "x")), Reassembler::Outcome::kInvalid);
  EXPECT_EQ(Add(GelfChunk(1, 3, 3, "x")), Reassembler::Outcome::kInvalid);
  EXPECT_EQ(error_, "chunk 3 of 3: a message has 1 to 128 chunks");
  EXPECT_EQ(Add(GelfChunk(2, 0, 3, "x")), Reassembler::Outcome::kIncomplete);
  EXPECT_EQ(Add(GelfChunk(2, 1, 4, "?")), Reassembler::Outcome::kInvalid);
  EXPECT_EQ(error_, "chunk 1 says the message has 4 chunks, an earlier one said 3");
  // Refused alone: the message still completes from its own chunks, as in go-gelf.
  EXPECT_EQ(Add(GelfChunk(2, 1, 3, "y")), Reassembler::Outcome::kIncomplete);
  EXPECT_EQ(Add(GelfChunk(2, 2, 3, "z")), Reassembler::Outcome::kComplete);
  EXPECT_EQ(payload_, "xyz");
  EXPECT_EQ(r_.pending(), 0u);
}

TEST_F(ReassemblerTest, AMessageNotWholeWithinFiveSecondsIsDropped) {
  EXPECT_EQ(Add(GelfChunk(1, 0, 2, "a"), 0), Reassembler::Outcome::kIncomplete);
  EXPECT_EQ(r_.Expire(kChunkTimeoutNs), 0u);
  EXPECT_EQ(r_.Expire(kChunkTimeoutNs + 1), 1u);
  EXPECT_EQ(r_.pending(), 0u);
  // Its last chunk, late, starts a new message that never completes either.
  EXPECT_EQ(Add(GelfChunk(1, 1, 2, "b"), kChunkTimeoutNs + 2), Reassembler::Outcome::kIncomplete);
}

// A chunk that would pass the byte bound makes room by dropping the oldest messages, and when
// that is its own message, the chunk is refused and counted once (not also as expired).
TEST_F(ReassemblerTest, AChunkOverTheByteBoundDropsTheOldestMessage) {
  const std::string big(60000, 'b');
  const size_t fit = kMaxPendingBytes / (big.size() + 200);
  for (uint64_t id = 0; id < fit; ++id) {
    ASSERT_EQ(Add(GelfChunk(id, 0, 3, big), static_cast<int64_t>(id)),
              Reassembler::Outcome::kIncomplete);
  }
  EXPECT_EQ(r_.Expire(0), 0u);
  // Message 0 is the oldest: its second chunk needs room, and the room is its own.
  EXPECT_EQ(Add(GelfChunk(0, 1, 3, big), 1000), Reassembler::Outcome::kInvalid);
  EXPECT_EQ(error_, "chunks waiting for the rest of their messages exceed 32 MiB");
  EXPECT_EQ(r_.Expire(1000), 0u);
  EXPECT_EQ(r_.pending(), fit - 1);
  // A new message that does not fit makes room by dropping the oldest one (message 1).
  const std::string bigger = big + std::string(10000, 'c');
  EXPECT_EQ(Add(GelfChunk(1000, 0, 2, bigger), 1001), Reassembler::Outcome::kIncomplete);
  EXPECT_EQ(r_.Expire(1001), 1u);
  EXPECT_EQ(r_.pending(), fit - 1);
  EXPECT_EQ(Add(GelfChunk(1000, 1, 2, "!"), 1002), Reassembler::Outcome::kComplete);
  EXPECT_EQ(payload_, bigger + "!");
  EXPECT_EQ(Add(GelfChunk(1, 1, 3, big), 1003), Reassembler::Outcome::kIncomplete);  // anew
}

TEST_F(ReassemblerTest, AFloodOfUnfinishedMessagesStaysBounded) {
  for (uint64_t id = 0; id < 3 * kMaxPendingMessages; ++id) {
    ASSERT_EQ(Add(GelfChunk(id, 0, 128, "x"), static_cast<int64_t>(id)),
              Reassembler::Outcome::kIncomplete);
    ASSERT_LE(r_.pending(), kMaxPendingMessages);
  }
  // The oldest went first and are reported as dropped.
  EXPECT_EQ(r_.Expire(0), 2 * kMaxPendingMessages);
  // Large chunks: bounded by bytes too.
  Reassembler fresh;
  const std::string big(60000, 'b');
  for (uint64_t id = 0; id < 2000; ++id) {
    ASSERT_NE(fresh.Add(GelfChunk(id, 0, 2, big), static_cast<int64_t>(id), &payload_, &error_),
              Reassembler::Outcome::kComplete);
    ASSERT_LE(fresh.pending() * big.size(), kMaxPendingBytes);
  }
  EXPECT_GT(fresh.pending() * big.size(), kMaxPendingBytes - 2 * big.size() - 128 * 1024);
}

}  // namespace
}  // namespace skidder::sources::gelf
