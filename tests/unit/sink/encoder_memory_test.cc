// The sender encodes a MiB-sized batch per request, and what the encoding holds beside the batch
// is part of the agent's peak RSS: this binary's operator new counts the bytes a push allocates.
#include <gtest/gtest.h>
#include <snappy.h>

#include <cstdlib>
#include <new>
#include <thread>

#include "sink/loki/encoder.h"

namespace {
bool g_counting = false;
size_t g_bytes = 0;
}  // namespace

void* operator new(std::size_t n) {
  if (g_counting) g_bytes += n;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
// The nothrow form too, so that every operator new pairs with the free() below.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  if (g_counting) g_bytes += n;
  return std::malloc(n == 0 ? 1 : n);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }

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
  for (const Entry& e : entries) batch.Add(e.labels, e, e.line);
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

}  // namespace
}  // namespace skidder::sink
