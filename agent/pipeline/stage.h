// The one stage interface: entries go in, zero or more come out.
//
// A Stage belongs to one Pipeline (one per scrape config) and is called from the single thread
// that runs that pipeline; it needs no locks. Stages never read the clock: time arrives with the
// entry (PipelineEntry::now, read once per batch by the source) and as Flush's `now_ns`.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/entry.h"
#include "util/clock.h"

namespace skidder::pipeline {

// The "extracted map" Promtail stages share: values parsed from the line. Lookups fall back to
// the entry's labels (Promtail initialises the map from them), so nothing is copied per entry
// until a stage writes. A flat vector: entries rarely carry more than a handful of fields.
// Slots are reused: after clear() the strings keep their buffers, so a pipeline that runs every
// entry through one Extracted (Pipeline::Process) sets the same keys again without allocating.
class Extracted {
 public:
  Extracted() = default;
  // A copy takes the live values only, not the spare slots' buffers (split_json and fanout copy
  // an entry's Extracted per output).
  Extracted(const Extracted& o)
      : values_(o.values_.begin(), o.values_.begin() + static_cast<ptrdiff_t>(o.size_)),
        size_(o.size_),
        nils_(o.nils_) {}
  Extracted& operator=(const Extracted& o) {
    if (this != &o) {
      values_.assign(o.values_.begin(), o.values_.begin() + static_cast<ptrdiff_t>(o.size_));
      size_ = o.size_;
      nils_ = o.nils_;
    }
    return *this;
  }
  Extracted(Extracted&& o) noexcept
      : values_(std::move(o.values_)), size_(std::exchange(o.size_, 0)), nils_(std::move(o.nils_)) {
    o.nils_.clear();
  }
  Extracted& operator=(Extracted&& o) noexcept {
    values_ = std::move(o.values_);
    size_ = std::exchange(o.size_, 0);
    nils_ = std::move(o.nils_);
    o.nils_.clear();
    return *this;
  }

  void Set(std::string_view key, std::string value);
  void Set(std::string_view key, std::string_view value);
  void Set(std::string_view key, const char* value) { Set(key, std::string_view(value)); }
  // Sets each field; their keys must differ from each other. Into an empty map (the first stage
  // of a pipeline parsing its fixed fields: cri, docker) no key is searched for.
  void SetFields(std::initializer_list<std::pair<std::string_view, std::string_view>> fields);
  // Own value first, then the entry's label of that name; nullptr when neither, or when the key
  // is nil (SetNil), which hides the label as Promtail's nil does.
  const std::string* Get(std::string_view key, const Labels& labels) const;
  const std::string* GetOwn(std::string_view key) const;
  // Promtail's nil (a json stage's null or missing value): the key is there, with no value.
  // Stages reading a value find none (Get: nullptr, no label fallback); those asking only
  // whether the key is there (drop with only `source`, a metric's inc/dec) find it (Has).
  void SetNil(std::string_view key);
  bool IsNil(std::string_view key) const;
  // A value, a nil, or a label of that name.
  bool Has(std::string_view key, const Labels& labels) const {
    return Get(key, labels) != nullptr || IsNil(key);
  }
  void Remove(std::string_view key);
  bool empty() const { return size_ == 0 && nils_.empty(); }
  void clear() {
    size_ = 0;
    nils_.clear();
  }
  auto begin() const { return values_.begin(); }
  auto end() const { return values_.begin() + static_cast<ptrdiff_t>(size_); }

 private:
  std::pair<std::string, std::string>* Find(std::string_view key);
  std::pair<std::string, std::string>& Slot(std::string_view key);     // found or a new one
  std::pair<std::string, std::string>& NewSlot(std::string_view key);  // key known to be absent

  void ForgetNil(std::string_view key);

  std::vector<std::pair<std::string, std::string>> values_;  // [0, size_) live, the rest spare
  size_t size_ = 0;
  std::vector<std::string> nils_;  // keys set to nil (rare: json's null or missing values)
};

struct PipelineEntry {
  Entry entry;
  Extracted extracted;
  BatchTime now;  // when the source handed this entry's batch on
};

class Emitter {
 public:
  virtual ~Emitter() = default;
  virtual void Emit(PipelineEntry&& e) = 0;
};

inline constexpr int64_t kNoFlush = INT64_MAX;  // Stage::NextFlushNs: no timer needed

class Stage {
 public:
  virtual ~Stage() = default;
  // Called for each entry; emit it (possibly changed), emit several, or emit none to drop it.
  // A dropped entry is destroyed, which releases its ack ref: the bytes count as done.
  virtual void Process(PipelineEntry&& e, Emitter& out) = 0;
  // Buffering stages (cri partials, multiline) emit what has waited long enough.
  // `force` emits everything (end of input, shutdown with a deadline).
  virtual void Flush(int64_t now_ns, bool force, Emitter& out) {}
  // Some sources have input for this pipeline not read yet (a file paused by backpressure, or
  // behind in a backlog): what waits for a continuation from one of them (a partial line, a
  // multiline block; known by its ack's tracker) waits again from now_ns, since the rest may be
  // in those bytes. Emitting it by time would cut one line into two entries.
  virtual void Hold(int64_t now_ns, const UnreadSources& unread) {}
  // Whether the stage holds something for its continuation (Hold has work).
  virtual bool Holding() const { return false; }
  // When Flush next has work (Unix ns, Flush's clock; at or before it is fine): kNoFlush when
  // nothing waits for time, so an idle source sets no timer for this stage.
  virtual int64_t NextFlushNs() const { return kNoFlush; }
  // Backpressure: nanoseconds after steady_ns (monotonic, as BatchTime::steady_ns) until the
  // stage takes entries at its pace again (`limit` with drop: false); the source hands the
  // pipeline nothing more until then. 0: ready.
  virtual int64_t ReadyInNs(int64_t steady_ns) const { return 0; }
  // The clients (Entry::clients bits) the entries this stage emits can go to. Only a routing
  // stage narrows it (fanout, always the last of its list); a source asks for room in those
  // clients only, so one writer's outage pauses only the sources that send to it.
  virtual uint64_t Routes() const { return ~uint64_t{0}; }
  virtual std::string_view Name() const = 0;
};

}  // namespace skidder::pipeline
