// Sender: pushes closed batches to Loki until every entry in them is acknowledged or refused for
// good, following the retry table in classify.h (back off and keep on 429/5xx/transport errors,
// re-read credentials on 401/403, split on 413, drop and count on 400).
//
// A batch is sent in attempts (Attempt: at most one request each), not in one call that sleeps
// through its backoff: the client interleaves the batches of different tenants, so that one
// tenant refused for minutes (a 429 at its ingestion limit, a 403 of a gateway) does not hold up
// the others' batches behind it (each tenant's batches still go one at a time, in order).
//
// Owned by a LokiClient and used only on its sender thread. What releasing entries means for the
// client's memory accounting, and when an in-flight request must be abandoned, it asks its
// SendControl.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <random>
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
  // Turns true when an in-flight request must be abandoned.
  virtual const std::atomic<bool>* cancel() const = 0;
  // Entries of this tenant's batch are done with (acknowledged or dropped), or memory of it
  // changed hands (negative: charged): they no longer count as buffered.
  virtual void Released(const std::string& tenant, int64_t memory_bytes, int64_t entries) = 0;
};

// A batch on its way: the pieces of it still to send (halves after a 413), the request of the
// first once encoded, and its retry state.
class Outgoing {
 public:
  const Batch& batch() const { return batch_; }
  // When Attempt may try again (a retry's backoff, the pace after a 413); now for a new batch.
  SteadyTime due() const { return due_; }
  void set_due(SteadyTime t) { due_ = t; }
  // Its last request was refused for now (429, 5xx, 401/403, no answer): it waits for a retry.
  bool retrying() const { return backoff_.attempt() > 0; }

 private:
  friend class Sender;
  struct Piece {
    size_t begin, end;
  };
  Outgoing(Batch batch, uint64_t seed, const config::BackoffConfig& cfg, SteadyTime now)
      : batch_(std::move(batch)),
        todo_{{0, batch_.entries.size()}},
        backoff_(cfg.min_period, cfg.max_period, seed),
        due_(now) {}

  Batch batch_;
  std::deque<Piece> todo_;
  std::string body_;  // todo_.front()'s compressed request once encoded_
  bool encoded_ = false;
  int64_t body_entries_ = 0;
  Backoff backoff_;
  // Memory of the batch that its entries no longer carry (DropData): released with the batch,
  // since the entries vector and stream texts are kept until every piece is done.
  int64_t held_ = 0;
  int64_t body_charge_ = 0;  // what of held_ is body_, charged once the batch waits for a retry
  SteadyTime due_;
};

class Sender {
 public:
  Sender(const config::ClientConfig& cfg, uint64_t seed, std::unique_ptr<io::HttpClient> http,
         io::Credentials creds, telemetry::AgentMetrics& metrics, const Clock& clock,
         SendControl* control);

  // Takes a closed batch to send, due at once.
  Outgoing Begin(Batch batch, SteadyTime now);
  // Sends what of `out` it can now: pieces in order until one must wait (a retry: due() is then
  // set) or all are done. At most one request that is not answered 2xx or refused for good.
  // True when every entry was acknowledged or dropped (and released).
  bool Attempt(Outgoing* out);
  // The entries of `out` not yet sent (the client is torn down); `out` is done with.
  std::vector<BatchEntry> Unsent(Outgoing* out);
  // `out` is done with: its request buffer serves the next batch (no allocation per batch).
  void Finish(Outgoing* out);

 private:
  using Piece = Outgoing::Piece;
  // A 413 (answered, or known from an earlier answer for a body at least this large): split the
  // front piece, or drop it when it is a single entry.
  void TooLarge(Outgoing* out);
  void DropData(Outgoing* out);
  bool RestoreData(Outgoing* out);
  void ReleaseHeld(Outgoing* out);
  void PopPiece(Outgoing* out);
  bool KnownTooLarge(size_t body_bytes) const;
  io::HttpResponse Post(const std::string& tenant, const std::string& body);
  std::string LoggableBody(std::string_view body) const;
  void Release(const std::string& tenant, std::span<BatchEntry> entries);
  void Drop(const std::string& tenant, std::span<BatchEntry> entries, const char* reason,
            int64_t bytes, const std::string& why);

  const config::ClientConfig& cfg_;
  std::string host_;      // metrics label and log field: URL host, no credentials
  std::string safe_url_;  // URL for logs
  std::unique_ptr<io::HttpClient> http_;
  io::Credentials creds_;
  std::mt19937_64 seeds_;  // each batch's backoff jitter
  telemetry::AgentMetrics& m_;
  const Clock& clock_;
  SendControl* control_;
  std::string spare_body_;  // a finished batch's request buffer, for the next one
  // The smallest body Loki answered 413 for, and when: for a minute, a piece at least that large
  // is split (or, alone, dropped) without being sent, so one oversized entry costs a few requests
  // instead of a request per node of the split tree.
  size_t too_large_bytes_ = 0;
  std::chrono::steady_clock::time_point too_large_at_{};
  std::map<std::string, log::LogLimiter> drop_logs_;  // per reason: a line per 10 s, with counts
  log::LogLimiter split_log_;
  telemetry::Counter* encoded_bytes_;
  telemetry::Counter* sent_bytes_;
  telemetry::Counter* sent_entries_;
  telemetry::Counter* batch_retries_;
};

}  // namespace skidder::sink
