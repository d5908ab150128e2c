// ReadHandler: where the file source hands what it read. The file source makes entries (line,
// labels of its target and file, read time, a ref to the chunk's checkpoint) and knows nothing of
// what happens to them next: the app composes each scrape config's handler (its pipeline wrapping
// the sink, agent/app/pipeline_handler.h), as Promtail's Pipeline.Wrap(next) does.
//
// Called on the file source's reading thread only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/entry.h"
#include "sources/file/poison.h"
#include "util/clock.h"

namespace skidder::sources {

// Where a file's entries went last, as its handler noted (the `__tenant_id__` value the pipeline
// left on the last entry of a read, "" for none, and that entry's clients), kept by the file and
// handed back before its next chunk (ReadHandler::SaturatedFor). The source does not look inside.
struct SinkTarget {
  std::string tenant;
  uint64_t clients = 0;  // 0: nothing sent yet
  // The handler's memo of whether the sink holds that tenant back, valid while the sink's
  // EntrySink::HeldEpoch is still held_epoch (reset when tenant or clients change).
  mutable uint64_t held_epoch = UINT64_MAX;
  mutable bool held = false;
};

// The entries one read of one file made, in file order, and when it was read. Reused: the source
// clears it after each hand-off and keeps its capacity, so a read allocates nothing here.
class ReadBatch {
 public:
  BatchTime now;  // when the chunk was read: every entry's timestamp, and "now" for stages
  std::vector<Entry> entries;
  SinkTarget* target = nullptr;  // the file's, for the handler to note where its entries went

  void Start(const BatchTime& t, uint64_t dev, uint64_t ino) {
    now = t;
    dev_ = dev;
    ino_ = ino;
  }
  void Add(Entry&& e, uint64_t line_offset) {
    entries.push_back(std::move(e));
    offsets_.push_back(line_offset);
  }
  // Gives every entry (added without labels and ack) the read's labels and checkpoint: one
  // reference-count update for each, not two atomic increments per line.
  void ShareAll(const Labels& labels, const AckRef& ack) {
    labels.ShareInto(entries.size(), [this](size_t i) -> Labels& { return entries[i].labels; });
    ack.ShareInto(entries.size(), [this](size_t i) -> AckRef& { return entries[i].ack; });
  }
  // Calls f(Entry&) for each entry with the crash mark on its line (poison.h): a stage that
  // takes the process down on a line names that line, so a restart can skip it.
  template <typename F>
  void ForEach(F&& f) {
    poison::Mark& mark = poison::CurrentMark();
    mark.dev = dev_;
    mark.ino = ino_;
    for (size_t i = 0; i < entries.size(); ++i) {
      mark.offset = offsets_[i];
      mark.active = true;
      poison::MaybeCrashForTest(entries[i].line);
      f(entries[i]);
    }
    mark.active = false;
  }
  bool empty() const { return entries.empty(); }
  // Drops what the handler left (releasing those entries' refs), keeping the capacity.
  void Clear() {
    ReleaseRefs(entries);
    entries.clear();
    offsets_.clear();
  }

 private:
  uint64_t dev_ = 0, ino_ = 0;
  std::vector<uint64_t> offsets_;  // where each entry's line starts in the file
};

class ReadHandler {
 public:
  virtual ~ReadHandler() = default;
  // The entries of one read (or of a file's last line without '\n'), all of one target; the
  // handler may move from them. An entry it destroys counts as done (its ack ref goes).
  virtual void Handle(ReadBatch& batch) = 0;
  // Buffering stages (multiline, CRI partials) emit what waited long enough; `force` emits
  // everything (shutdown). Called after every loop turn of the reading thread.
  virtual void Flush(int64_t now_ns, bool force) = 0;
  // Files with bytes not read yet (paused by backpressure, or behind in a backlog), by tracker:
  // what waits for a continuation from one of them waits again from now_ns (Stage::Hold).
  virtual void Hold(int64_t now_ns, const UnreadSources& unread) {}
  // Whether something waits for its continuation (Hold has work).
  virtual bool Holding() const { return false; }
  // When Flush next has something to emit (Unix ns, as Flush's now_ns): INT64_MAX when nothing
  // waits, so the reading thread sets no timer for this handler while all is idle.
  virtual int64_t NextFlushNs() const = 0;
  // Backpressure: nanoseconds after steady_ns (BatchTime::steady_ns) until the handler takes
  // entries at its pace again (`limit` with drop: false); 0 when it does now. The file waits
  // meanwhile; others go on.
  virtual int64_t ReadyInNs(int64_t steady_ns) const = 0;
  // Backpressure: the sink the handler's entries go to holds as much as it may (in the agent,
  // one of the clients its job's pipeline routes to is full). Its files wait; files of other
  // handlers, sent to clients with room, go on.
  virtual bool Saturated() const = 0;
  // The same for one file, knowing where its entries went last: a file sending to a tenant Loki
  // refuses for now waits for the whole budget, the others may use what that tenant holds beyond
  // half of it (EntrySink::SaturatedExceptHeld). Saturated() is then the least of the two.
  virtual bool SaturatedFor(const SinkTarget& target) const { return Saturated(); }
};

}  // namespace skidder::sources
