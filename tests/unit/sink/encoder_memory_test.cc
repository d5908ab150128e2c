// The sender encodes a MiB-sized batch per request, and what the encoding holds beside the batch
// is part of the agent's peak RSS: this binary's operator new counts the bytes a push allocates.
#include <gtest/gtest.h>
#include <snappy.h>

#include <thread>

#include "sink/loki/encoder.h"
#include "support/counting_new.h"

namespace {
bool& g_counting = skidder::testing::alloc_count::counting;
size_t& g_bytes = skidder::testing::alloc_count::bytes;
size_t& g_allocations = skidder::testing::alloc_count::allocations;
}  // namespace

namespace skidder::sink {
namespace {

TEST(EncoderMemory, APushHoldsNoSerialisedCopyOfTheBatchBesideItsBody) {
  std::vector<Entry> entries(5000);
  uint64_t x = 1;
  for (Entry& e : entries) {
    e.labels = Labels{{"job", "app"}, {"filename", "/var/log/pods/x/app/0.log"}};
    e.timestamp_ns = 1'700'000'000'000'000'000;
    e.line.resize(210);  // ~1 MiB of lines, as a batch of 200-byte lines
    for (char& c : e.line) c = static_cast<char>('a' + (x = x * 6364136223846793005 + 1) % 26);
  }
  std::string raw;
  EncodePushRequest(entries, &raw);
  Batch batch;  // as the client holds it: the entries in wire form, per stream
  for (const Entry& e : entries) batch.Add(e.labels, e, e.line, e.ack);
  std::string body;
  body.reserve(snappy::MaxCompressedLength(raw.size()));  // the body itself is not counted
  // A fresh thread: the encoder's per-thread scratch starts empty, as on a new sender thread.
  std::thread([&] {
    g_bytes = 0;
    g_counting = true;
    EncodePush(batch, 0, batch.entries.size(), &body);
    g_counting = false;
  }).join();
  std::string expected;
  snappy::Compress(raw.data(), raw.size(), &expected);
  EXPECT_EQ(body, expected);
  // The streams' framing and snappy's working memory: a fraction of the request.
  EXPECT_LT(g_bytes, raw.size() / 2) << raw.size() << "-byte request";
}

// The reading thread's part of the hot path: an entry joining a batch is encoded into its
// stream's buffer; only the buffers' growth allocates, never an entry.
TEST(EncoderMemory, EntriesJoinABatchWithoutAnAllocationPerEntry) {
  const Labels streams[] = {Labels{{"app", "a"}}, Labels{{"app", "b"}}, Labels{{"app", "c"}}};
  Entry e;
  e.timestamp_ns = 1'700'000'000'000'000'000;
  e.line = std::string(200, 'x');
  Batch batch;
  g_allocations = 0;
  g_counting = true;
  for (int i = 0; i < 10000; ++i) batch.Add(streams[(i / 50) % 3], e, e.line, e.ack);
  g_counting = false;
  EXPECT_EQ(batch.entries.size(), 10000u);
  EXPECT_LT(g_allocations, 100u) << "10,000 entries: only doubling buffers and new streams";
}

// A file read whole (20 KB, ~100 lines) reaches the client in one call: the stream's buffer is
// made big enough at its first entry instead of doubling its way up from empty, and what the
// entries are charged still adds up to what the buffers hold.
TEST(EncoderMemory, ARunReservedAtItsFirstEntryGrowsTheStreamBufferOnce) {
  const Labels labels{{"app", "a"}};
  Entry e;
  e.timestamp_ns = 1'700'000'000'000'000'000;
  e.line = std::string(200, 'x');
  const size_t run = 100;
  const size_t reserve = run * (e.line.size() + kEntryWireOverhead);
  Batch reserved, grown;
  int64_t charged = 0;
  g_allocations = 0;
  g_counting = true;
  for (size_t i = 0; i < run; ++i)
    charged += reserved.Add(labels, e, e.line, {}, i == 0 ? reserve : 0);
  const size_t reserved_allocations = g_allocations;
  g_allocations = 0;
  for (size_t i = 0; i < run; ++i) grown.Add(labels, e, e.line, {});
  const size_t grown_allocations = g_allocations;
  g_counting = false;
  ASSERT_EQ(reserved.streams.size(), 1u);
  EXPECT_GE(reserved.streams[0].data.capacity(), reserved.streams[0].data.size());
  EXPECT_LE(reserved.streams[0].data.capacity(), reserve) << "no more than asked for";
  EXPECT_EQ(reserved.streams[0].data, grown.streams[0].data);
  EXPECT_LT(reserved_allocations + 6, grown_allocations)
      << reserved_allocations << " with the reservation, " << grown_allocations << " without";
  int64_t held = static_cast<int64_t>(reserved.streams[0].data.capacity() +
                                      reserved.streams[0].text.capacity() +
                                      reserved.entries.capacity() * sizeof(BatchEntry) +
                                      reserved.streams.capacity() * sizeof(BatchStream)) +
                 static_cast<int64_t>(Batch::kStreamIndexBytes);
  EXPECT_LE(charged, held);
  EXPECT_GE(charged, held - 64) << "the charges are the buffers' growth, reservation included";
}

}  // namespace
}  // namespace skidder::sink
