// A LokiClient's memory: nothing of the batches it sent once they are delivered, and a full
// budget sends what is open instead of stalling the readers.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "client_fixture.h"
#include "sink/loki/client.h"
#include "support/live_heap.h"

namespace skidder::sink {
namespace {

using skidder::testing::LiveHeapBytes;

// Readers refill the budget as soon as a push is acknowledged; a sent batch kept until the next
// one arrives was a second batch of memory on top of it at the agent's peak.
TEST_F(LokiClientTest, ASentBatchIsFreedWithoutWaitingForTheNextOne) {
  auto cfg = Config();
  cfg.batchsize = 32 << 20;  // everything in one batch, sent by batchwait
  cfg.batchwait = milliseconds(50);
  auto client = Make(cfg);
  ASSERT_TRUE(client->Start().ok());
  const size_t before = LiveHeapBytes();
  constexpr int kLines = 4000;  // ~4 MB of lines
  for (int i = 0; i < kLines; ++i) {
    client->Push(MakeEntry(std::to_string(i) + std::string(1000, 'a' + i % 26)));
  }
  ASSERT_TRUE(loki_.WaitForLines(kLines));
  loki_.Clear();
  const size_t slack = 1 << 20;  // connections, metrics, the fake's own buffers
  EXPECT_TRUE(WaitFor([&] { return LiveHeapBytes() < before + slack; }))
      << "still allocated: " << (LiveHeapBytes() - before) << " bytes more than before the push";
  EXPECT_TRUE(client->Stop(std::chrono::seconds(5)));
}

// A push Loki keeps refusing is retried from its compressed body; the batch's raw buffers are
// freed once that body is built, so an outage holds what is in flight at its compressed size and
// readers may use the budget meanwhile (they filled it again only after the batch was acked).
TEST_F(LokiClientTest, ABatchInFlightHoldsItsCompressedBodyNotItsBuffers) {
  loki_.SetFailFor(std::chrono::minutes(5), 503);
  auto cfg = Config();
  cfg.batchsize = 32 << 20;  // everything in one batch, sent by batchwait
  auto client = Make(cfg);
  ASSERT_TRUE(client->Start().ok());
  const size_t before = LiveHeapBytes();
  constexpr int kLines = 4000;  // ~4 MB of lines that compress well
  std::vector<Entry> entries;
  for (int i = 0; i < kLines; ++i) {
    entries.push_back(MakeEntry(std::to_string(i) + std::string(1000, 'a' + i % 26)));
  }
  // One read's worth: all of it joins the open batch at once, however slow this machine is, so
  // the request in flight is the whole of it.
  client->PushBatch(entries);
  std::vector<Entry>().swap(entries);
  ASSERT_TRUE(WaitFor([&] { return Counter(metrics_.batch_retries, {host()}) >= 1; }));
  // Left charged: the entries' positions (a few dozen bytes each) and the stream's label text.
  EXPECT_LT(client->BufferedBytes(), 512 << 10);
  EXPECT_LT(metrics_.buffered_bytes.With({})->Value(), 512 << 10);
  EXPECT_LT(LiveHeapBytes(), before + (2 << 20)) << "the raw batch is still allocated";

  loki_.SetFailFor(milliseconds(0), 503);  // Loki is back: the body sent is the whole batch
  ASSERT_TRUE(loki_.WaitForLines(kLines));
  EXPECT_TRUE(WaitFor([&] { return client->BufferedBytes() == 0; }));
  EXPECT_TRUE(WaitFor([&] { return metrics_.buffered_bytes.With({})->Value() == 0; }));
  EXPECT_TRUE(client->Stop(std::chrono::seconds(5)));
  const std::vector<std::string> lines = loki_.Lines();
  ASSERT_EQ(lines.size(), static_cast<size_t>(kLines));
  for (int i = 0; i < kLines; ++i) {
    ASSERT_EQ(lines[i], std::to_string(i) + std::string(1000, 'a' + i % 26));
  }
}

// Readers pause while the budget is full; if the open batch waited for batchsize (never reached
// when it is above the budget) or batchwait, they would pause for nothing.
TEST_F(LokiClientTest, AFullBudgetSendsTheOpenBatchWithoutWaitingForBatchwait) {
  auto cfg = Config();
  cfg.batchsize = 64 << 20;
  cfg.batchwait = std::chrono::seconds(120);
  ClientOptions opts;
  opts.max_buffered_bytes = 256 << 10;
  auto client = Make(cfg, opts);
  ASSERT_TRUE(client->Start().ok());
  int pushed = 0;  // as a reader: until the client says it is full
  while (!client->Saturated() && pushed < 100000) {
    client->Push(MakeEntry(std::string(1000, static_cast<char>('a' + pushed % 26))));
    ++pushed;
  }
  ASSERT_LT(pushed, 100000) << "never full";
  // Far sooner than batchwait: the open batch is sent and its budget freed.
  EXPECT_TRUE(WaitFor([&] { return !client->Saturated(); }, std::chrono::seconds(30)));
  EXPECT_TRUE(client->Stop(std::chrono::seconds(5)));
  EXPECT_EQ(loki_.LineCount(), static_cast<size_t>(pushed));
}

}  // namespace
}  // namespace skidder::sink
