// What a LokiClient holds once its entries are delivered: nothing of the batches it sent.
#include <gtest/gtest.h>

#include <string>

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

}  // namespace
}  // namespace skidder::sink
