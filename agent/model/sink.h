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
  // Takes the entries: a sink copies what it keeps (a Loki client encodes each entry and copies
  // its AckRef) and may move from them. The caller then destroys what is left in the span, which
  // releases the AckRef of any entry the sink did not keep. Thread-safe.
  virtual void PushBatch(std::span<Entry> batch) = 0;
  // True for sinks that leave the entries as they found them, so that one span can be handed to
  // several sinks in turn (FanoutSink) without a copy of every entry per extra sink.
  virtual bool ReadsOnly() const { return false; }
  // One entry: a batch of one (sources that produce entries one at a time, tests).
  // The entry is taken either way: what the sink did not keep is released on return.
  void Push(Entry&& e) {
    Entry taken = std::move(e);
    PushBatch(std::span<Entry>(&taken, 1));
  }
  // True while the sink holds as much as it may; readers pause until it is false again.
  virtual bool Saturated() const = 0;
};

}  // namespace skidder
