// Sender: pushes one closed batch to Loki until every entry in it is acknowledged or refused for
// good, following the retry table in classify.h (back off and keep on 429/5xx/transport errors,
// re-read credentials on 401/403, split on 413, drop and count on 400).
//
// Owned by a LokiClient and used only on its sender thread. What it cannot decide alone (how long
// it may sleep while the client stops, what releasing entries means for the client's memory
// accounting) it asks its SendControl.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "config/config.h"
#include "io/credentials.h"
#include "io/http_client.h"
#include "sink/loki/backoff.h"
#include "sink/loki/batcher.h"
#include "telemetry/agent_metrics.h"
#include "util/clock.h"
#include "util/log_limiter.h"

namespace skidder::sink {

class SendControl {
 public:
  virtual ~SendControl() = default;
  // Waits d before a retry; false when the client is being torn down and the batch must be left.
  virtual bool SleepFor(std::chrono::nanoseconds d) = 0;
  // Turns true when an in-flight request must be abandoned.
  virtual const std::atomic<bool>* cancel() const = 0;
  // Entries are done with (acknowledged or dropped); they no longer count as buffered.
  virtual void Released(int64_t memory_bytes, int64_t entries) = 0;
};

class Sender {
 public:
  Sender(const config::ClientConfig& cfg, uint64_t seed, std::unique_ptr<io::HttpClient> http,
         io::Credentials creds, telemetry::AgentMetrics& metrics, const Clock& clock,
         SendControl* control);

  // Sends the batch. True when every entry was acknowledged or dropped (and released). False when
  // SendControl gave up mid-way: batch->entries then holds exactly the entries not yet sent.
  bool Send(Batch* batch);

 private:
  struct Piece {
    size_t begin, end;
  };
  // Outcome of pushing one piece: done (acked or dropped), split in halves, or abandoned because
  // the client is being torn down.
  enum class Outcome { kDone, kSplit, kAbort };
  Outcome SendPiece(Batch* batch, Piece piece);
  // A 413 (answered, or known from an earlier answer for a body at least this large): split the
  // piece, or drop it when it is a single entry.
  Outcome TooLarge(Batch* batch, std::span<BatchEntry> entries);
  void DropData(Batch* batch);
  bool RestoreData(Batch* batch);
  void ReleaseHeld();
  bool KnownTooLarge(size_t body_bytes) const;
  io::HttpResponse Post(const std::string& tenant);
  std::string LoggableBody(std::string_view body) const;
  void Release(std::span<BatchEntry> entries);
  void Drop(std::span<BatchEntry> entries, const char* reason, int64_t bytes,
            const std::string& why);

  const config::ClientConfig& cfg_;
  std::string host_;      // metrics label and log field: URL host, no credentials
  std::string safe_url_;  // URL for logs
  std::unique_ptr<io::HttpClient> http_;
  io::Credentials creds_;
  Backoff backoff_;
  telemetry::AgentMetrics& m_;
  const Clock& clock_;
  SendControl* control_;
  std::string body_;  // reused between requests
  // Memory of the batch being sent that its entries no longer carry (DropData): released with the
  // batch, since the sender keeps the entries vector and stream texts until every piece is done.
  int64_t held_ = 0;
  // The smallest body Loki answered 413 for, and when: for a minute, a piece at least that large
  // is split (or, alone, dropped) without being sent, so one oversized entry costs a few requests
  // instead of a request per node of the split tree.
  size_t too_large_bytes_ = 0;
  std::chrono::steady_clock::time_point too_large_at_{};
  bool pace_next_ = false;  // the last answer was a 413: wait a little before the next request
  std::map<std::string, log::LogLimiter> drop_logs_;  // per reason: a line per 10 s, with counts
  log::LogLimiter split_log_;
  telemetry::Counter* encoded_bytes_;
  telemetry::Counter* sent_bytes_;
  telemetry::Counter* sent_entries_;
  telemetry::Counter* batch_retries_;
};

}  // namespace skidder::sink
