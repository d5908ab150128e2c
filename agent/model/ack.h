// At-least-once bookkeeping: which bytes of a source file Loki has acknowledged.
//
// A reader opens one Checkpoint per chunk it reads from a file; the checkpoint records the file
// offset up to which everything will be covered once the checkpoint completes. Every entry made
// from that chunk holds an AckRef to it, and so does the reader while it is still emitting the
// chunk. When the last reference goes away (the entry was acknowledged by Loki, dropped by a stage,
// or refused with a 400) the checkpoint completes. A file's committed offset is the offset of the
// last checkpoint in the completed prefix, so acknowledgements that arrive out of order never move
// a position past bytes still in flight.
//
// Entries that merge several chunks (CRI partial lines, multiline) keep the ref of their *first*
// chunk: later checkpoints may complete, but cannot commit past the first one until it does.
// An entry merged from chunks of several trackers (a line whose rest went to the file that
// replaced a rotated one) holds a *joint* (AckRef::Merge): a checkpoint of no tracker holding one
// ref per tracker, its earliest, released together (abandoned together) with the entry. No
// checkpoint of a tracker ever waits for another tracker's, so no cycle of waits can form.
//
// An entry that will never be delivered by this process (its client was stopped by a reload or
// shutdown before Loki took it) is *abandoned*: AckRef::Abandon() releases the reference, so the
// memory goes, but poisons the checkpoint. Once the poisoned checkpoint reaches the front, the
// tracker is blocked: its committed offset never moves again (until Reset), so the bytes are read
// again from there after a restart or reload. Checkpoints of a blocked tracker are freed as soon as
// their last reference goes.
//
// Thread-safety: AckRef may be copied and destroyed on any thread. AckTracker methods are safe to
// call concurrently.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

namespace skidder {

class AckTracker;

class Checkpoint {
 public:
  uint64_t offset() const { return offset_; }  // 0 for a joint

 private:
  friend class AckTracker;
  friend class AckRef;
  friend class AckReleaser;
  friend class CheckpointList;
  struct Joint;
  Checkpoint(std::shared_ptr<AckTracker> tracker, uint64_t offset);
  ~Checkpoint();
  void Retain(int n = 1) { refs_.fetch_add(n, std::memory_order_relaxed); }
  void Release(int n = 1);  // drops n references
  // A joint's last reference went: releases (abandons, if it was abandoned) its parts.
  void ReleaseParts();
  // Of two checkpoints of one tracker, whether this one comes first: the entry holding both
  // keeps it (a later epoch's content is the file's now: an older one's never commits).
  bool Before(const Checkpoint& o) const {
    return epoch_ != o.epoch_ ? epoch_ > o.epoch_ : offset_ < o.offset_;
  }
  // Held by one AckRef alone, not abandoned: a joint that may be changed in place.
  bool Owned() const {
    return refs_.load(std::memory_order_acquire) == 1 &&
           !abandoned_.load(std::memory_order_acquire);
  }

  std::shared_ptr<AckTracker> tracker_;  // null for a joint
  uint64_t offset_;
  uint64_t epoch_ = 0;  // the tracker's Reset count at Open: offsets compare within one epoch
  std::atomic<int> refs_{1};
  std::atomic<bool> abandoned_{false};  // some holder gave up: never commit this checkpoint
  bool handed_in_ = false;  // guarded by the tracker's mu_: its last ref is gone, it may be freed
  Checkpoint* next_ = nullptr;  // in the tracker's lists (CheckpointList), under its mu_
  // Set for a joint only (AckRef::Merge): the checkpoints it holds a reference to each.
  std::unique_ptr<Joint> joint_;
};

// Checkpoints in order, linked through their own next_: a read opens a checkpoint, and a node
// or vector of a standard container for it cost one more allocation per read (a line at a time
// on a node whose files grow slowly). Not thread-safe: the tracker holds its lock.
class CheckpointList {
 public:
  bool empty() const { return head_ == nullptr; }
  size_t size() const { return size_; }
  Checkpoint* front() const { return head_; }
  void push_back(Checkpoint* cp);
  Checkpoint* pop_front();
  // Moves every checkpoint of other to the end of this list.
  void splice_back(CheckpointList& other);
  // Moves the checkpoints take(cp) accepts, in order, to the end of out.
  template <typename Take>
  void MoveIf(Take take, CheckpointList* out) {
    CheckpointList kept;
    while (!empty()) {
      Checkpoint* cp = pop_front();
      if (take(cp)) {
        out->push_back(cp);
      } else {
        kept.push_back(cp);
      }
    }
    splice_back(kept);
  }

 private:
  Checkpoint* head_ = nullptr;
  Checkpoint* tail_ = nullptr;
  size_t size_ = 0;
};

// A joint's parts: each holds one reference. Written only while one AckRef alone holds the joint.
struct Checkpoint::Joint {
  std::vector<Checkpoint*> parts;  // plain checkpoints of distinct trackers, or joints
};

// A counted reference to a Checkpoint; empty refs are allowed (entries with no source file).
class AckRef {
 public:
  AckRef() = default;
  ~AckRef() { Reset(); }
  AckRef(const AckRef& o) : cp_(o.cp_) {
    if (cp_) cp_->Retain();
  }
  AckRef& operator=(const AckRef& o) {
    if (this != &o) {
      Reset();
      cp_ = o.cp_;
      if (cp_) cp_->Retain();
    }
    return *this;
  }
  AckRef(AckRef&& o) noexcept : cp_(o.cp_) { o.cp_ = nullptr; }
  AckRef& operator=(AckRef&& o) noexcept {
    if (this != &o) {
      Reset();
      cp_ = o.cp_;
      o.cp_ = nullptr;
    }
    return *this;
  }
  // Releases the reference: counts as "this entry is done" (sent, dropped or refused).
  void Reset() {
    if (cp_) {
      Checkpoint* cp = cp_;
      cp_ = nullptr;
      cp->Release();
    }
  }
  // Releases the reference *without* counting the entry as done: the offset of this checkpoint is
  // never committed (see the file comment). For entries this process gives up on.
  void Abandon() {
    if (cp_) {
      cp_->abandoned_.store(true, std::memory_order_release);
      Reset();
    }
  }
  // This ref's entry now also covers `other`'s bytes (a fragment merged into it); `other` is
  // empty afterwards. Of one tracker the earlier checkpoint is kept (the later cannot commit
  // before it); of another tracker both are, in a joint this ref alone holds. Called by the
  // thread that owns both refs' entries.
  void Merge(AckRef&& other);
  bool empty() const { return cp_ == nullptr; }
  const Checkpoint* get() const { return cp_; }
  // The tracker of its checkpoint (one per file read, per push request, ...), of a joint its
  // first part's (the tracker of the entry's first fragment); null when empty.
  const AckTracker* tracker() const {
    const Checkpoint* cp = cp_;
    while (cp != nullptr && cp->joint_ != nullptr) cp = FirstPart(cp);
    return cp != nullptr ? cp->tracker_.get() : nullptr;
  }
  // Whether the entry covers bytes of tracker t (of a joint: of any of its parts).
  bool Covers(const AckTracker* t) const { return t != nullptr && Covers(cp_, t); }
  // Whether the two entries cover bytes of a tracker in common.
  bool SharesTrackerWith(const AckRef& o) const {
    bool shared = false;
    o.ForEachTracker([&](const AckTracker* t) { shared = shared || Covers(t); });
    return shared;
  }
  // Calls f(tracker) for each tracker the entry covers bytes of.
  template <typename F>
  void ForEachTracker(F&& f) const {
    ForEachTracker(cp_, f);
  }
  // Gives the n empty refs slot(0) .. slot(n-1) a reference each to this ref's checkpoint, with
  // one atomic update for them all (as Labels::ShareInto: every entry of a read holds its chunk).
  template <typename Slot>
  void ShareInto(size_t n, Slot&& slot) const {
    if (cp_ == nullptr || n == 0) return;
    cp_->Retain(static_cast<int>(n));
    for (size_t i = 0; i < n; ++i) {
      AckRef& r = slot(i);
      r.Reset();
      r.cp_ = cp_;
    }
  }

 private:
  friend class AckTracker;
  friend class AckReleaser;
  explicit AckRef(Checkpoint* cp) : cp_(cp) {}
  static const Checkpoint* FirstPart(const Checkpoint* joint);
  static bool Covers(const Checkpoint* cp, const AckTracker* t);
  template <typename F>
  static void ForEachTracker(const Checkpoint* cp, F& f);
  // Adds the reference p holds to the joint cp_, which this ref alone holds.
  void AddPart(Checkpoint* p);
  Checkpoint* cp_ = nullptr;
};

// Sources whose input is not all read yet, by tracker (one per file): a partial line or an
// open multiline block of such a file may have its rest in the unread bytes (Stage::Hold).
struct UnreadSources {
  std::span<const AckTracker* const> sorted;  // ascending by std::less
  bool Contains(const AckTracker* t) const {
    return t != nullptr && std::binary_search(sorted.begin(), sorted.end(), t, std::less<>());
  }
  // Whether an entry covers bytes of one of them (a line merged across a rotation covers the
  // new file too, where its rest would be).
  bool Contains(const AckRef& ref) const {
    bool found = false;
    ref.ForEachTracker([&](const AckTracker* t) { found = found || Contains(t); });
    return found;
  }
};

// Releases many refs at once (each counts as done, like AckRef::Reset): consecutive refs to one
// checkpoint cost one atomic subtraction per run, not one per entry (see LabelsReleaser: the
// sender drops thousands of refs to a checkpoint the reading thread is still taking refs to).
class AckReleaser {
 public:
  AckReleaser() = default;
  AckReleaser(const AckReleaser&) = delete;
  AckReleaser& operator=(const AckReleaser&) = delete;
  ~AckReleaser() { Flush(); }

  // Takes over the reference `ref` holds; `ref` is empty afterwards.
  void Take(AckRef& ref) {
    if (ref.cp_ == nullptr) return;
    if (ref.cp_ != cp_) {
      Flush();
      cp_ = ref.cp_;
    }
    ++count_;
    ref.cp_ = nullptr;
  }
  // Releases the refs taken so far.
  void Flush() {
    if (cp_ != nullptr) cp_->Release(count_);
    cp_ = nullptr;
    count_ = 0;
  }

 private:
  Checkpoint* cp_ = nullptr;
  int count_ = 0;
};

template <typename F>
void AckRef::ForEachTracker(const Checkpoint* cp, F& f) {
  if (cp == nullptr) return;
  if (cp->joint_ == nullptr) return f(static_cast<const AckTracker*>(cp->tracker_.get()));
  for (const Checkpoint* p : cp->joint_->parts) ForEachTracker(p, f);
}

class AckTracker : public std::enable_shared_from_this<AckTracker> {
 public:
  static std::shared_ptr<AckTracker> Create(uint64_t committed_offset);

  // Starts a checkpoint that will cover bytes up to end_offset; the returned ref is the reader's
  // hold. Offsets must not decrease between calls (except after Reset()).
  AckRef Open(uint64_t end_offset);
  // Everything before this offset is acknowledged (or deliberately dropped).
  uint64_t Committed() const { return committed_.load(std::memory_order_acquire); }
  // Number of checkpoints not yet committed (of a blocked tracker: not yet freed).
  size_t Pending() const;
  // True when an abandoned checkpoint stopped the committed offset for good (until Reset).
  bool Blocked() const;
  // The file was truncated: restart accounting at offset. In-flight refs complete harmlessly.
  void Reset(uint64_t offset);
  // Called with the new committed offset each time it advances, on the thread that released the
  // last reference, outside the tracker's lock. For sources that wait on delivery rather than
  // poll (the push API answers its sender then). Set before the first Open().
  void OnAdvance(std::function<void(uint64_t)> f) { on_advance_ = std::move(f); }

  AckTracker(const AckTracker&) = delete;
  AckTracker& operator=(const AckTracker&) = delete;

 private:
  explicit AckTracker(uint64_t committed) : committed_(committed) {}
  friend class Checkpoint;
  // A checkpoint's last reference is gone: commit the completed prefix, free what is done.
  void Complete(Checkpoint* completed);

  mutable std::mutex mu_;
  // Lists, not deques: a tracker per open file, and an empty std::deque allocates ~600 bytes
  // (11 MB of the 10,000-file benchmark's peak; benchmarks/README.md, "Memory"). Intrusive, so a
  // checkpoint is the read's only allocation.
  CheckpointList pending_;  // in offset order; owned
  CheckpointList stale_;    // from before a Reset(); freed when done, never committed
  uint64_t epoch_ = 0;      // Reset() count, given to each checkpoint (Checkpoint::Before)
  bool blocked_ = false;    // an abandoned checkpoint reached the front
  std::atomic<uint64_t> committed_;
  std::function<void(uint64_t)> on_advance_;  // immutable once checkpoints exist
};

}  // namespace skidder
