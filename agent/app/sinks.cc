#include "app/sinks.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <vector>

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

std::string FormatTimestamp(int64_t unix_ns) {
  int64_t secs = unix_ns / 1'000'000'000;
  int64_t nanos = unix_ns % 1'000'000'000;
  if (nanos < 0) {
    nanos += 1'000'000'000;
    --secs;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, nanos);
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
  Labels visible = e.labels;
  visible.RemoveInternal();
  buf_.append(FormatTimestamp(e.timestamp_ns)).push_back('\t');
  buf_.append(visible.ToString()).push_back('\t');
  buf_.append(e.line);
  if (!e.structured_metadata.empty()) {
    buf_.append("\t");
    for (const auto& m : e.structured_metadata) {
      buf_.append(m.name).push_back('=');
      AppendQuoted(buf_, m.value);
      buf_.push_back(' ');
    }
    buf_.pop_back();
  }
  buf_.push_back('\n');
}

}  // namespace skidder::app
