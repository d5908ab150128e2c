// EntrySink: where finished entries go (the Loki clients, or stdout under -dry-run).
//
// Entries arrive a batch at a time: all the entries one read of one source produced. A sink
// takes its lock, reads its clock and finds its tenant batch once per batch, not per entry.
// Pushing never blocks: readers check Saturated() between reads and stop reading while it is
// true, so the files on disk, not memory, hold the backlog during an outage.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
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
  // SaturatedFor for a reader whose entries go to a tenant not held back (TenantHeld), or to one
  // it does not know yet: what held tenants hold beyond half a client's budget leaves that half
  // to the others (LokiClient's BudgetFull), so that one tenant refused for long cannot fill the
  // budget and stop every reader. Only a source that asks TenantHeld first may use it (the file
  // source); a reader of a held tenant waits for SaturatedFor.
  // known: the reader's tenant is known (not held); false for a reader not read yet, which gets
  // less of that room.
  virtual bool SaturatedExceptHeld(uint64_t clients, bool known) const {
    return SaturatedFor(clients);
  }
  // True while one of these clients holds back entries of this tenant (the `__tenant_id__`
  // label's value the pipeline left; "" for none): Loki refuses it for now. False by default:
  // sinks that never refuse a tenant.
  virtual bool TenantHeld(std::string_view tenant, uint64_t clients) const { return false; }
  // Changes whenever TenantHeld may answer differently (0: nothing was ever held), so that a
  // reader asking before every chunk of thousands of files keeps the answer until then.
  virtual uint64_t HeldEpoch() const { return 0; }
};

}  // namespace skidder
