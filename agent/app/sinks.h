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
  bool Saturated() const override;

 private:
  std::vector<EntrySink*> sinks_;
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
