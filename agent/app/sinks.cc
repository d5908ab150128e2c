#include "app/sinks.h"

#include <fmt/format.h>

#include <ctime>

namespace skidder::app {

namespace {

bool Routed(uint64_t clients, size_t i) { return i >= 64 || ((clients >> i) & 1) != 0; }

}  // namespace

void FanoutSink::Push(Entry&& e) {
  size_t last = sinks_.size();  // the last client routed to gets the entry itself
  for (size_t i = sinks_.size(); i-- > 0;) {
    if (Routed(e.clients, i)) {
      last = i;
      break;
    }
  }
  for (size_t i = 0; i < last; ++i) {
    if (!Routed(e.clients, i)) continue;
    Entry copy = e;
    sinks_[i]->Push(std::move(copy));
  }
  if (last < sinks_.size()) sinks_[last]->Push(std::move(e));
  // Routed to no client: e is destroyed here, releasing its ack (forward_to = []).
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

void StdoutSink::Push(Entry&& e) {
  if (e.clients == 0) return;  // routed to no client (forward_to = []): nothing is sent
  Labels visible = e.labels;
  visible.RemoveInternal();
  std::lock_guard lock(mu_);
  buf_.clear();
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
  std::fwrite(buf_.data(), 1, buf_.size(), out_);
  std::fflush(out_);
  // e (and its AckRef) is released here: printed counts as delivered.
}

}  // namespace skidder::app
