// Sinks the app puts at the end of the pipelines: every Loki client at once, or stdout.
#pragma once

#include <cstdio>
#include <memory>
#include <mutex>
#include <vector>

#include "model/sink.h"

namespace skidder::app {

// Sends each entry to every client (Promtail's behaviour with several `clients`), or to those
// its `clients` bits name (Alloy's forward_to). Every client but the last copies the entry's
// AckRef, so its bytes count as done only when every client is done with it.
class FanoutSink final : public EntrySink {
 public:
  explicit FanoutSink(std::vector<EntrySink*> sinks) : sinks_(std::move(sinks)) {}
  void PushBatch(std::span<Entry> batch) override;
  bool Saturated() const override;  // any client full
  bool SaturatedFor(uint64_t clients) const override;
  bool SaturatedExceptHeld(uint64_t clients, bool known) const override;
  bool TenantHeld(std::string_view tenant, uint64_t clients) const override;
  uint64_t HeldEpoch() const override;  // the sum of the clients'

 private:
  std::vector<EntrySink*> sinks_;
};

// What one job's sources see of the clients: entries go on to every client as routed, and the
// job waits only while a client its pipeline routes to is full (Pipeline::Routes). Without it,
// an Alloy config's archive writer down paused every source, even those sending only to the
// alerts writer; Alloy backs each writer up on its own.
class RoutedSink final : public EntrySink {
 public:
  RoutedSink(EntrySink* all, uint64_t clients) : all_(all), clients_(clients) {}
  void PushBatch(std::span<Entry> batch) override { all_->PushBatch(batch); }
  void PushShared(std::span<const Entry> batch) override { all_->PushShared(batch); }
  bool Saturated() const override { return all_->SaturatedFor(clients_); }
  bool SaturatedFor(uint64_t clients) const override {
    return all_->SaturatedFor(clients & clients_);
  }
  bool SaturatedExceptHeld(uint64_t clients, bool known) const override {
    return all_->SaturatedExceptHeld(clients & clients_, known);
  }
  bool TenantHeld(std::string_view tenant, uint64_t clients) const override {
    return all_->TenantHeld(tenant, clients & clients_);
  }
  uint64_t HeldEpoch() const override { return all_->HeldEpoch(); }

 private:
  EntrySink* all_;
  uint64_t clients_;
};

// -dry-run: prints "<RFC3339Nano time>\t<labels>\t<line>" per entry and acknowledges at once.
// Positions stay untouched because the app never saves them in dry-run mode.
class StdoutSink final : public EntrySink {
 public:
  explicit StdoutSink(std::FILE* out = stdout) : out_(out) {}
  void PushBatch(std::span<Entry> batch) override { PushShared(batch); }
  void PushShared(std::span<const Entry> batch) override;  // prints, changes nothing
  bool Saturated() const override { return false; }

 private:
  std::FILE* out_;
  void Append(const Entry& e);  // requires mu_

  std::mutex mu_;
  std::string buf_;
};

}  // namespace skidder::app
