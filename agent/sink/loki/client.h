// LokiClient: one `clients[]` entry. Batches entries per tenant and pushes them to Loki.
//
// Push() is called by the reading thread(s) and never blocks; one sender thread per client sends
// batches, one request in flight per client. A tenant's batches go in order, one at a time, so
// each stream's entries arrive oldest first even after a long outage; while one tenant's batch
// waits for a retry, the other tenants' batches are sent. Entries are kept (and their AckRefs held)
// until Loki answers 2xx, or refuses them for good (400, counted per reason); 429/5xx/connection
// errors are retried with exponential backoff and jitter forever (Promtail drops after max_retries;
// we keep the data, and the files behind it, by pausing readers via Saturated()).
#pragma once

#include <functional>
#include <memory>

#include "config/config.h"
#include "io/http_client.h"
#include "model/sink.h"
#include "telemetry/agent_metrics.h"
#include "util/clock.h"
#include "util/status.h"

namespace skidder::sink {

struct ClientOptions {
  // Entries held in memory (all tenants) before Saturated() turns true.
  int64_t max_buffered_bytes = 8 << 20;
  // Line size limit applied before batching (limits_config.max_line_size / _truncate).
  int64_t max_line_size = 0;
  bool max_line_size_truncate = false;
  // limits_config.max_streams, as Promtail applies it: an entry that would add a stream beyond
  // this many to its tenant's current batch is dropped (reason stream_limited). 0 = unlimited.
  int max_streams = 0;
  // limits_config.max_label_value_length: a longer label value (bytes, after external labels),
  // which Loki would refuse, is shortened with a hash suffix
  // (skidder_truncated_label_values_total). 0 = off.
  int max_label_value_length = 0;
  uint64_t seed = 0;  // jitter seed; 0 = random
  // Called when Saturated() turns false, on the thread that freed the memory (the sender, or
  // Stop's): readers paused by the budget go on at once instead of at their next look.
  std::function<void()> on_room;
  // Where time comes from and how the sender talks HTTP; tests inject a FakeClock (backoff and
  // batchwait pass without real waiting) and a scripted HttpClient. Must outlive the client.
  Clock* clock = &SystemClock::Get();
  std::function<std::unique_ptr<io::HttpClient>()> http_client = io::NewCurlHttpClient;
};

// Whether the budget is full for a reader of a tenant not held back: the held tenants' bytes
// beyond half the budget, up to `room` more, do not count, so that they cannot take the others'
// room. A reader known to send elsewhere gets room max/2 (at most 1.5 times max is then held), a
// reader not read yet (where it sends is unknown: it may be a held tenant's new file) max/4, so
// such probes cannot take the known readers' last quarter. With none held it is buffered >= max.
// (Readers of held tenants, and sources that do not ask per tenant, wait for Saturated.)
bool BudgetFull(int64_t buffered, int64_t held, int64_t max, int64_t room);

class LokiClient final : public EntrySink {
 public:
  static Result<std::unique_ptr<LokiClient>> Create(config::ClientConfig cfg, ClientOptions opts,
                                                    telemetry::AgentMetrics* metrics);
  ~LokiClient() override;

  void PushBatch(std::span<Entry> batch) override;         // moves each kept entry's AckRef
  void PushShared(std::span<const Entry> batch) override;  // entries are encoded, never changed
  bool Saturated() const override;                         // max_buffered_bytes reached
  bool SaturatedExceptHeld(uint64_t clients, bool known) const override;  // see BudgetFull
  // The tenant's batch waits for a retry (Loki refuses it for now: 429, 5xx, 401/403).
  bool TenantHeld(std::string_view tenant, uint64_t clients) const override;
  uint64_t HeldEpoch() const override;

  // Starts the sender thread.
  Status Start();
  // Sends what is buffered (ignoring batchwait) until everything is acknowledged or the deadline
  // passes, then stops the sender. Returns false when entries were left unsent.
  bool Stop(std::chrono::milliseconds deadline);
  // Stop's first half, without waiting: the sender flushes from now on. An agent stopping several
  // clients begins every one first, so that they flush side by side within the one shutdown
  // deadline instead of a blackholed first client using it all up before the next began.
  void BeginStop();

  int64_t BufferedBytes() const;

 private:
  LokiClient();
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace skidder::sink
