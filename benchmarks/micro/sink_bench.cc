// Sink hot paths: encoding a full batch (protobuf + snappy), the UTF-8 check every line goes
// through, and adding entries to the batcher.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "sink/loki/batcher.h"
#include "sink/loki/encoder.h"

namespace skidder::sink {
namespace {

std::vector<Entry> MakeBatch(size_t bytes, int streams) {
  std::vector<Entry> out;
  size_t total = 0;
  for (int i = 0; total < bytes; ++i) {
    Entry e;
    e.labels = Labels{
        {"namespace", "prod"}, {"pod", "api-" + std::to_string(i % streams)}, {"container", "app"}};
    e.timestamp_ns = 1'700'000'000'000'000'000 + i;
    e.line = "2024-01-01T00:00:00.000Z level=info msg=\"request served\" path=/api/v1/items/" +
             std::to_string(i) + " status=200 duration_ms=" + std::to_string(i % 997);
    total += e.line.size();
    out.push_back(std::move(e));
  }
  return out;
}

// The sender's part: framing a closed batch's streams and compressing them.
void BM_EncodeOneMiBBatch(benchmark::State& state) {
  auto entries = MakeBatch(1 << 20, static_cast<int>(state.range(0)));
  Batcher batcher(2 << 20, std::chrono::seconds(1));
  std::deque<Batch> ready;
  int64_t memory = 0;
  for (const Entry& e : entries) {
    batcher.Add("", e.labels, e, e.line, e.ack, std::chrono::steady_clock::now(), &ready, &memory);
  }
  batcher.CloseAll(&ready);
  const Batch& batch = ready.front();
  std::string body;
  for (auto _ : state) {
    EncodePush(batch, 0, batch.entries.size(), &body);
    benchmark::DoNotOptimize(body.data());
  }
  state.SetBytesProcessed(state.iterations() * batch.line_bytes);
  state.counters["compressed_ratio"] = static_cast<double>(body.size()) / batch.line_bytes;
}
BENCHMARK(BM_EncodeOneMiBBatch)->Arg(1)->Arg(10)->Arg(1000);

// The reading thread's part: an entry encoded into its stream's buffer (and, amortised, closed
// batches freed).
void BM_BatcherAdd(benchmark::State& state) {
  auto proto = MakeBatch(64 << 10, 10);
  Batcher batcher(1 << 20, std::chrono::seconds(1));
  std::deque<Batch> ready;
  auto now = std::chrono::steady_clock::now();
  size_t i = 0;
  int64_t memory = 0;
  for (auto _ : state) {
    const Entry& e = proto[i++ % proto.size()];
    batcher.Add("", e.labels, e, e.line, e.ack, now, &ready, &memory);
    if (ready.size() > 4) ready.clear();
  }
}
BENCHMARK(BM_BatcherAdd);

}  // namespace
}  // namespace skidder::sink
