#include "app/sinks.h"

#include <algorithm>
#include <vector>

#include "model/entry_text.h"

namespace skidder::app {

namespace {

bool Routed(uint64_t clients, size_t i) { return i >= 64 || ((clients >> i) & 1) != 0; }

}  // namespace

// Each client gets the entries routed to it (Entry::clients; all of them unless an Alloy config
// routes branches to different writers). When every entry goes to a client, it gets the span
// itself: shared (PushShared) by every client but the last, which may move from it (PushBatch).
// Entries routed to no client stay in the span and are released by the caller.
void FanoutSink::PushBatch(std::span<Entry> batch) {
  std::vector<Entry> part;
  for (size_t i = 0; i < sinks_.size(); ++i) {
    const bool last = i + 1 == sinks_.size();
    if (std::all_of(batch.begin(), batch.end(),
                    [i](const Entry& e) { return Routed(e.clients, i); })) {
      if (last) {
        sinks_[i]->PushBatch(batch);
      } else {
        sinks_[i]->PushShared(batch);
      }
      continue;
    }
    part.clear();
    for (Entry& e : batch) {
      if (!Routed(e.clients, i)) continue;
      if (last) {
        part.push_back(std::move(e));
      } else {
        part.push_back(e);
      }
    }
    if (!part.empty()) sinks_[i]->PushBatch(part);
  }
}

bool FanoutSink::Saturated() const {
  for (const EntrySink* s : sinks_) {
    if (s->Saturated()) return true;
  }
  return false;
}

bool FanoutSink::SaturatedFor(uint64_t clients) const {
  for (size_t i = 0; i < sinks_.size(); ++i) {
    if (Routed(clients, i) && sinks_[i]->Saturated()) return true;
  }
  return false;
}

bool FanoutSink::SaturatedExceptHeld(uint64_t clients, bool known) const {
  for (size_t i = 0; i < sinks_.size(); ++i) {
    if (Routed(clients, i) && sinks_[i]->SaturatedExceptHeld(~uint64_t{0}, known)) return true;
  }
  return false;
}

bool FanoutSink::TenantHeld(std::string_view tenant, uint64_t clients) const {
  for (size_t i = 0; i < sinks_.size(); ++i) {
    if (Routed(clients, i) && sinks_[i]->TenantHeld(tenant, ~uint64_t{0})) return true;
  }
  return false;
}

uint64_t FanoutSink::HeldEpoch() const {
  uint64_t sum = 0;
  for (const EntrySink* s : sinks_) sum += s->HeldEpoch();
  return sum;
}

void StdoutSink::PushShared(std::span<const Entry> batch) {
  std::lock_guard lock(mu_);
  buf_.clear();
  for (const Entry& e : batch) Append(e);
  std::fwrite(buf_.data(), 1, buf_.size(), out_);
  std::fflush(out_);
  // The entries (and their AckRefs) are released by the caller: printed counts as delivered.
}

void StdoutSink::Append(const Entry& e) {
  if (e.clients == 0) return;  // routed to no client (forward_to = []): nothing is sent
  AppendEntryText(e, &buf_);
}

}  // namespace skidder::app
