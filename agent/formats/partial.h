// PartialAssembler: joins the fragments of a long container log line (CRI "P ... P F", docker
// json-file "log" values without "\n") back into one entry.
//
// Owned by one pipeline stage (cri or docker) and called from that pipeline's thread only.
// Fragments are keyed by stream (the caller passes a key, e.g. the hash of filename + stream
// labels), so interleaved stdout/stderr partials reassemble separately. The merged entry takes
// the fields of the LAST fragment (as Promtail's cri stage does) but keeps the AckRef of the
// FIRST, so the file position cannot commit past a line that is still being assembled
// (model/ack.h). Later fragments' refs are released as they are merged, unless they come from
// another file: then the entry holds both (AckRef::Merge).
//
// Memory is bounded: at most max_pending lines in progress (beyond that every pending line is
// emitted as it is, like Promtail's max_partial_lines) and max_line_bytes per line (beyond that
// the line is cut on a UTF-8 boundary, or dropped whole, by config). A line whose final fragment
// never comes is emitted by Flush once it has waited max_wait_ns.
//
// Item is any type with a member `Entry entry` (pipeline::PipelineEntry, or a test struct).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "formats/utf8.h"
#include "model/entry.h"

namespace skidder::formats {

struct PartialOptions {
  size_t max_pending = 100;   // lines in progress at once (Promtail's max_partial_lines)
  size_t max_line_bytes = 0;  // bound on a reassembled line; 0 = none
  bool truncate = true;       // over the bound: cut the line (true) or drop it whole (false)
  int64_t max_wait_ns = std::chrono::nanoseconds(std::chrono::seconds(5)).count();
};

// Cumulative counts, for the owning stage's metrics.
struct PartialStats {
  uint64_t truncated = 0;  // lines cut to max_line_bytes
  uint64_t dropped = 0;    // lines dropped for exceeding max_line_bytes
  uint64_t evicted = 0;    // incomplete lines emitted because max_pending was reached
  uint64_t timed_out = 0;  // incomplete lines emitted by Flush after max_wait_ns (or force)
};

template <typename Item>
class PartialAssembler {
 public:
  explicit PartialAssembler(PartialOptions options) : opt_(options) {}

  // Takes one record's entry. `partial` = more fragments follow. Emits through out(Item&&):
  // a complete line, pass-through of an unfragmented one, or evicted incomplete lines.
  template <typename Out>
  void Add(uint64_t key, Item&& item, bool partial, Out&& out) {
    if (pending_.empty() && !partial) {  // the common case: a whole line, nothing waiting
      out(std::move(item));
      return;
    }
    Pending* p = Find(key);
    if (p == nullptr) {
      if (!partial) {
        out(std::move(item));
        return;
      }
      if (pending_.size() >= opt_.max_pending) EvictAll(out);
      pending_.push_back(Pending{key, std::move(item)});
      Bound(pending_.back());
      return;
    }
    Merge(*p, std::move(item));
    if (partial) return;
    Pending done = std::move(*p);
    pending_.erase(pending_.begin() + (p - pending_.data()));
    Finish(done, out);
  }

  // Emits lines that have waited at least max_wait_ns since the first Flush that saw them
  // (Process gets no clock, so waiting is measured in Flush calls' time), or all when force.
  template <typename Out>
  void Flush(int64_t now_ns, bool force, Out&& out) {
    size_t keep = 0;
    for (size_t i = 0; i < pending_.size(); ++i) {
      Pending& p = pending_[i];
      if (!force && !p.seen) {
        p.seen = true;
        p.first_seen_ns = now_ns;
      }
      if (force || now_ns - p.first_seen_ns >= opt_.max_wait_ns) {
        Pending done = std::move(p);
        ++stats_.timed_out;
        Finish(done, out);
      } else {
        if (keep != i) pending_[keep] = std::move(p);
        ++keep;
      }
    }
    pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(keep), pending_.end());
  }

  // Each line waiting whose rest may be unread yet (unread(const Item&): its file is paused by
  // backpressure or behind) waits max_wait_ns again from now_ns.
  template <typename Unread>
  void Hold(int64_t now_ns, Unread&& unread) {
    for (Pending& p : pending_) {
      if (!unread(std::as_const(p.item))) continue;
      p.seen = true;
      p.first_seen_ns = now_ns;
    }
  }

  size_t pending() const { return pending_.size(); }
  // When Flush next has a line to emit (Unix ns, Flush's clock): INT64_MAX with nothing pending,
  // INT64_MIN when a line no Flush has seen yet waits (its wait starts at the next Flush).
  int64_t NextFlushNs() const {
    int64_t next = INT64_MAX;
    for (const Pending& p : pending_) {
      if (!p.seen) return INT64_MIN;
      next = std::min(next, p.first_seen_ns + opt_.max_wait_ns);
    }
    return next;
  }
  const PartialStats& stats() const { return stats_; }

 private:
  struct Pending {
    uint64_t key = 0;
    Item item{};
    bool cut = false;   // truncated: later fragments are discarded
    bool over = false;  // over the bound in drop mode: the line will be dropped
    bool seen = false;  // a Flush has seen it since it started
    int64_t first_seen_ns = 0;
  };

  Pending* Find(uint64_t key) {
    for (auto& p : pending_) {
      if (p.key == key) return &p;
    }
    return nullptr;
  }

  // The newer fragment's fields win, its line is appended, the first fragment's ack is kept,
  // and the newer's released, or, from another file (the line went on in the file that replaced
  // a rotated one), kept too (AckRef::Merge): that file's position must not pass the fragment
  // before the whole line is delivered.
  void Merge(Pending& p, Item&& item) {
    std::string line = std::move(p.item.entry.line);
    if (!p.cut && !p.over) line.append(item.entry.line);
    AckRef acks = std::move(p.item.entry.ack);
    acks.Merge(std::move(item.entry.ack));
    p.item = std::move(item);
    p.item.entry.line = std::move(line);
    p.item.entry.ack = std::move(acks);
    Bound(p);
  }

  void Bound(Pending& p) {
    std::string& line = p.item.entry.line;
    if (opt_.max_line_bytes == 0 || line.size() <= opt_.max_line_bytes) return;
    if (opt_.truncate) {
      TruncateUtf8(line, opt_.max_line_bytes);
      p.cut = true;
    } else {
      p.over = true;
      std::string().swap(line);  // give the memory back now
    }
  }

  template <typename Out>
  void EvictAll(Out& out) {
    std::vector<Pending> all;
    all.swap(pending_);
    for (auto& p : all) {
      ++stats_.evicted;
      Finish(p, out);
    }
    all.clear();
    pending_.swap(all);  // keep the capacity
  }

  template <typename Out>
  void Finish(Pending& p, Out& out) {
    if (p.over) {
      ++stats_.dropped;
      Item gone = std::move(p.item);  // destroyed here: its ack is released
      return;
    }
    if (p.cut) ++stats_.truncated;
    out(std::move(p.item));
  }

  PartialOptions opt_;
  std::vector<Pending> pending_;
  PartialStats stats_;
};

}  // namespace skidder::formats
