// AssocCache: a bounded cache of results a thread (or a stage) computed lately, found by a
// 64-bit hash and a predicate, for the memos of the hot path (a stage's label sets per input
// set, the Loki client's final labels per stream).
//
// Two slots per hash (two-way set associative, the older of the two replaced), in a table that
// starts small and doubles, up to max_slots, when it keeps missing keys it held before: a
// pipeline reading ten files keeps 16 slots, while one following a thousand files that each
// grow a line now and then (every read a different input, each coming back a second later)
// grows until they fit, instead of missing on every line as a short list searched in turn did.
// Keys that do not come back (a backlog of 10,000 files read one after another) do not grow it:
// there a larger table would only hold more dead results (2.7 MB of peak RSS at 10,000 files).
// Evicted hashes are remembered in a table of max_slots words (direct-mapped), so a key that
// comes back after up to about max_slots others is recognised; a window of 16 lookups per slot
// starts the count again, so that rare returns over hours do not add up to a large table.
// Growing drops what the table held (it is only a cache). Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace skidder {

template <typename Slot>
class AssocCache {
 public:
  explicit AssocCache(size_t max_slots) : max_slots_(max_slots < kInitial ? kInitial : max_slots) {}

  // The slot for hash h that match accepts, or nullptr.
  template <typename Match>
  Slot* Find(uint64_t h, Match&& match) {
    if (slots_.empty()) return nullptr;
    if (++lookups_ >= 16 * slots_.size()) lookups_ = returned_ = 0;
    Slot* set = &slots_[Index(h)];
    if (match(set[0])) return &set[0];
    if (match(set[1])) return &set[1];
    return nullptr;
  }

  // A slot to hold a new result for hash h (after Find missed): the set's older slot, moved out
  // of the way of the newer one. The caller assigns every field it matches on.
  Slot& Insert(uint64_t h) {
    if (slots_.empty()) {
      evicted_.assign(max_slots_, 0);
      Resize(kInitial);
    }
    uint64_t& ghost = evicted_[Mix(h) % evicted_.size()];
    if (ghost == h && h != 0) {
      ghost = 0;
      if (++returned_ >= slots_.size() / 2 && slots_.size() < max_slots_) {
        Resize(slots_.size() * 2 <= max_slots_ ? slots_.size() * 2 : max_slots_);
      }
    }
    const size_t i = Index(h);
    Slot* set = &slots_[i];
    std::swap(set[0], set[1]);  // the newer result stays, in the second way
    std::swap(hashes_[i], hashes_[i + 1]);
    if (const uint64_t old = hashes_[i]; old != 0) evicted_[Mix(old) % evicted_.size()] = old;
    hashes_[i] = h;
    return set[0];
  }

  size_t slots() const { return slots_.size(); }

 private:
  static constexpr size_t kInitial = 16;
  static size_t Mix(uint64_t h) { return static_cast<size_t>((h * 0x9E3779B97F4A7C15ULL) >> 32); }
  // The first of the two slots of h's set.
  size_t Index(uint64_t h) const { return Mix(h) % (slots_.size() / 2) * 2; }
  void Resize(size_t n) {
    std::vector<Slot>().swap(slots_);
    slots_.resize(n);
    hashes_.assign(n, 0);
    lookups_ = returned_ = 0;
  }

  size_t max_slots_;
  // Since the table last changed (or the window began): lookups, and misses of evicted keys.
  size_t lookups_ = 0, returned_ = 0;
  std::vector<Slot> slots_;
  std::vector<uint64_t> hashes_;   // per slot: the hash of what it holds (0: nothing)
  std::vector<uint64_t> evicted_;  // max_slots hashes evicted lately, by Mix(hash)
};

}  // namespace skidder
