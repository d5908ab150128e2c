#include "sink/loki/batcher.h"

#include <algorithm>

namespace skidder::sink {

bool Batcher::Admits(const std::string& tenant, const Labels& labels, size_t line_bytes) const {
  if (max_streams_ <= 0) return true;
  auto it = open_.find(tenant);
  if (it == open_.end() || it->second.entries.empty()) return true;
  const Batch& b = it->second;
  if (b.line_bytes + static_cast<int64_t>(line_bytes) > max_bytes_) return true;
  return b.streams.size() < static_cast<size_t>(max_streams_) || b.HasStream(labels);
}

bool Batcher::Add(const std::string& tenant, const Labels& labels, const Entry& e,
                  std::string_view line, AckRef ack, SteadyTime now, std::deque<Batch>* ready,
                  int64_t* memory_bytes, size_t reserve, std::string_view text) {
  auto it = open_.find(tenant);
  const auto size = static_cast<int64_t>(line.size());
  if (it != open_.end() && !it->second.entries.empty() &&
      it->second.line_bytes + size > max_bytes_) {
    ready->push_back(std::move(it->second));
    open_.erase(it);
    it = open_.end();
  }
  bool started = false;
  if (it == open_.end()) {
    it = open_.emplace(tenant, Batch{}).first;
    it->second.tenant = tenant;
    it->second.created = now;
    started = true;
  }
  // No more than the batch takes before it closes: the rest of the run starts the next one.
  const auto room = static_cast<size_t>(std::max<int64_t>(max_bytes_ - it->second.line_bytes, 0));
  reserve = std::min(reserve, room + room / 8 + kEntryWireOverhead);
  *memory_bytes = it->second.Add(labels, e, line, std::move(ack), reserve, text);
  return started;
}

void Batcher::CloseExpired(SteadyTime now, std::deque<Batch>* ready) {
  for (auto it = open_.begin(); it != open_.end();) {
    if (now - it->second.created >= max_wait_) {
      ready->push_back(std::move(it->second));
      it = open_.erase(it);
    } else {
      ++it;
    }
  }
}

void Batcher::CloseAllBut(const std::function<bool(const std::string& tenant)>& skip,
                          std::deque<Batch>* ready) {
  for (auto it = open_.begin(); it != open_.end();) {
    if (skip(it->first)) {
      ++it;
    } else {
      ready->push_back(std::move(it->second));
      it = open_.erase(it);
    }
  }
}

void Batcher::CloseAll(std::deque<Batch>* ready) {
  for (auto& [tenant, batch] : open_) ready->push_back(std::move(batch));
  open_.clear();
}

std::optional<SteadyTime> Batcher::OldestCreated() const {
  std::optional<SteadyTime> oldest;
  for (const auto& [tenant, batch] : open_) {
    if (!oldest || batch.created < *oldest) oldest = batch.created;
  }
  return oldest;
}

std::optional<SteadyTime> Batcher::NextDeadline() const {
  auto oldest = OldestCreated();
  if (!oldest) return std::nullopt;
  return *oldest + std::chrono::duration_cast<SteadyTime::duration>(max_wait_);
}

}  // namespace skidder::sink
