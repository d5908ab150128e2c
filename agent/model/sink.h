// EntrySink: where finished entries go (the Loki clients, or stdout under -dry-run).
//
// Entries arrive a batch at a time: all the entries one read of one source produced. A sink
// takes its lock, reads its clock and finds its tenant batch once per batch, not per entry.
// Pushing never blocks: readers check Saturated() between reads and stop reading while it is
// true, so the files on disk, not memory, hold the backlog during an outage.
#pragma once

#include <span>

#include "model/entry.h"

namespace skidder {

class EntrySink {
 public:
  virtual ~EntrySink() = default;
  // Takes the entries (moving from them). The caller then destroys what is left in the span,
  // which releases the AckRef of any entry the sink refused. Thread-safe.
  virtual void PushBatch(std::span<Entry> batch) = 0;
  // One entry: a batch of one (sources that produce entries one at a time, tests).
  void Push(Entry&& e) { PushBatch(std::span<Entry>(&e, 1)); }
  // True while the sink holds as much as it may; readers pause until it is false again.
  virtual bool Saturated() const = 0;
};

}  // namespace skidder
