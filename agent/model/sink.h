// EntrySink: where finished entries go (the Loki clients, or stdout under -dry-run).
//
// Entries arrive a batch at a time: all the entries one read of one source produced. A sink
// takes its lock, reads its clock and finds its tenant batch once per batch, not per entry.
// Pushing never blocks: readers check Saturated() between reads and stop reading while it is
// true, so the files on disk, not memory, hold the backlog during an outage.
#pragma once

#include <span>
#include <vector>

#include "model/entry.h"

namespace skidder {

class EntrySink {
 public:
  virtual ~EntrySink() = default;
  // Takes the entries: the sink moves from them what it keeps (a Loki client moves each entry's
  // AckRef into its batch and encodes the rest). The caller then destroys what is left in the
  // span, which releases the AckRef of any entry the sink did not keep. Thread-safe.
  virtual void PushBatch(std::span<Entry> batch) = 0;
  // Takes entries that other sinks are handed too (FanoutSink gives one span to every client
  // but the last): the sink copies what it keeps and leaves them as they are. The default pushes
  // a copy of the span; a sink that only reads its entries (a Loki client) overrides it and saves
  // that copy per extra client.
  virtual void PushShared(std::span<const Entry> batch) {
    std::vector<Entry> copy(batch.begin(), batch.end());
    PushBatch(copy);
  }
  // One entry: a batch of one (sources that produce entries one at a time, tests).
  // The entry is taken either way: what the sink did not keep is released on return.
  void Push(Entry&& e) {
    Entry taken = std::move(e);
    PushBatch(std::span<Entry>(&taken, 1));
  }
  // True while the sink holds as much as it may; readers pause until it is false again.
  virtual bool Saturated() const = 0;
  // True while one of these clients (Entry::clients bits) is full: a reader whose pipeline
  // routes only there (Pipeline::Routes) pauses for those, not for every client. A sink of one
  // client: Saturated() unless the entries go to no client at all.
  virtual bool SaturatedFor(uint64_t clients) const { return clients != 0 && Saturated(); }
};

}  // namespace skidder
