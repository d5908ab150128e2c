// Batcher: groups a client's entries into per-tenant batches and decides when each is ready to
// send, by size (batchsize, counted in line bytes as Promtail does) or age (batchwait).
//
// Owned by one LokiClient and called under its lock (not thread-safe itself). Closed batches go
// to the caller's FIFO in the order they close, so a stream's entries leave oldest first. Time is
// passed in, never read, so tests drive it.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/entry.h"
#include "sink/loki/batch.h"

namespace skidder::sink {

class Batcher {
 public:
  Batcher(int64_t max_batch_bytes, std::chrono::nanoseconds max_wait)
      : max_bytes_(max_batch_bytes), max_wait_(max_wait) {}

  // Adds e, with its final labels and `line` as it will be sent, and `ack`, its reference to its
  // checkpoint (Batch::Add), to its tenant's batch (encoded there, see batch.h). When the entry
  // would push that batch past the size limit, the batch is closed first (appended to *ready) and
  // the entry starts a new one; an entry larger than the limit on its own still goes out, alone.
  // Returns true when a new open batch was started (its age deadline is new); *memory_bytes gets
  // the entry's memory measure. `reserve` and `text`: Batch::Add's (reserve bounded by what the
  // batch has room for).
  bool Add(const std::string& tenant, const Labels& labels, const Entry& e, std::string_view line,
           AckRef ack, SteadyTime now, std::deque<Batch>* ready, int64_t* memory_bytes,
           size_t reserve = 0, std::string_view text = {});
  // Promtail's limits_config.max_streams: at most n distinct streams per open batch; 0 = no limit.
  void set_max_streams(int n) { max_streams_ = n; }
  // False when an entry of `labels` (final) would be a stream beyond max_streams in its tenant's
  // open batch; an entry that closes that batch by size starts a new one and is admitted.
  bool Admits(const std::string& tenant, const Labels& labels, size_t line_bytes) const;
  // Closes every batch at least max_wait old.
  void CloseExpired(SteadyTime now, std::deque<Batch>* ready);
  // Closes every open batch regardless of age (flush on stop).
  void CloseAll(std::deque<Batch>* ready);
  // Closes the open batches of the tenants `skip` does not name, regardless of age.
  void CloseAllBut(const std::function<bool(const std::string& tenant)>& skip,
                   std::deque<Batch>* ready);
  // When the oldest open batch reaches max_wait; nullopt when none is open.
  std::optional<SteadyTime> NextDeadline() const;
  // Creation time of the oldest open batch.
  std::optional<SteadyTime> OldestCreated() const;
  bool empty() const { return open_.empty(); }

 private:
  int64_t max_bytes_;
  std::chrono::nanoseconds max_wait_;
  std::map<std::string, Batch> open_;  // by tenant; few tenants, ordered for stable flushing
  int max_streams_ = 0;
};

}  // namespace skidder::sink
