#include "pipeline/stages/multiline.h"

#include <re2/re2.h>

#include <chrono>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "lang/go/go_regexp.h"
#include "pipeline/stage_support.h"

namespace skidder::pipeline::stages {
namespace {

constexpr int64_t kForgetStreamAfterNs = 60'000'000'000;  // an idle stream's slot is freed
// What the open blocks of all streams may hold together before every one is sent: max_lines
// bounds a block's lines, not its bytes, and a stage sees every file of its pipeline.
constexpr size_t kMaxHeldBytes = 16 << 20;
// Streams whose slot was freed after they had a firstline, remembered (8 bytes each) so that
// their continuation lines still join blocks; past this many the memory starts over.
constexpr size_t kMaxForgotten = 1 << 16;

struct Block;

// The blocks in the order their last line came (intrusive, doubly linked): the oldest first, so
// Flush and NextFlushNs look at the blocks that are due and the next one, never at every
// stream's (a job may see thousands of containers' streams, and Flush runs every read turn).
struct Chain {
  Block* head = nullptr;
  Block* tail = nullptr;
  void Remove(Block* b);
  void PushBack(Block* b);
};

struct Block {
  PipelineEntry first;  // the block's entry; its line grows as lines join
  int lines = 0;
  int64_t last_activity_ns = 0;
  bool open = false;
  // The stream has had a firstline. Until then its lines pass through one by one, as in
  // Promtail: a job's pods whose lines never match (JSON, nginx) are not glued together.
  bool seen_first = false;
  uint64_t key = 0;  // in blocks_
  Chain* chain = nullptr;
  Block* prev = nullptr;
  Block* next = nullptr;
};

void Chain::Remove(Block* b) {
  (b->prev != nullptr ? b->prev->next : head) = b->next;
  (b->next != nullptr ? b->next->prev : tail) = b->prev;
  b->prev = b->next = nullptr;
  b->chain = nullptr;
}

void Chain::PushBack(Block* b) {
  b->prev = tail;
  b->next = nullptr;
  (tail != nullptr ? tail->next : head) = b;
  tail = b;
  b->chain = this;
}

class MultilineStage final : public Stage {
 public:
  MultilineStage(std::unique_ptr<RE2> firstline, int64_t max_wait_ns, int max_lines,
                 size_t max_bytes)
      : firstline_(std::move(firstline)),
        max_wait_ns_(max_wait_ns),
        max_lines_(max_lines),
        max_bytes_(max_bytes) {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    const bool first =
        RE2::PartialMatch(lang::go::GoRegexpInput(e.entry.line, &valid_), *firstline_);
    // One slot per stream, kept while the stream is active: a stream of single-line records
    // reuses it and allocates nothing. Keyed by the label hash alone, as the cri stage does.
    const uint64_t key = e.entry.labels.Hash();
    auto [slot, fresh] = blocks_.try_emplace(key);
    Block& b = slot->second;
    if (fresh) {
      b.key = key;
      b.seen_first = forgotten_.erase(key) > 0;
    }
    b.seen_first |= first;
    // When the line was read (its batch's time, as the Flush clock); the entry's own timestamp
    // may be years old (a backlog whose cri stage set it) and must not close the block at once.
    const int64_t activity =
        e.now.wall_ns != 0 ? e.now.wall_ns : ActivityTime(e.entry.timestamp_ns);
    if (!b.seen_first) {  // nothing to join it to: on its own, the slot kept to be forgotten
      b.last_activity_ns = activity;
      MoveTo(b, closed_);
      out.Emit(std::move(e));
      return;
    }
    // A hostile or runaway stream (megabyte lines, none matching firstline) must not grow a
    // block to max_lines x the longest line, nor many streams together past kMaxHeldBytes: a
    // block that would pass max_bytes_ is sent first, and when all blocks would pass the total,
    // every block is sent, as max_wait_time would have done. The line then starts a new block.
    // (A line that passes through is never held: it sends nothing.)
    if (held_bytes_ + e.entry.line.size() > kMaxHeldBytes) SendAll(out);
    // The block's acknowledgement is its first line's, which covers the lines after it of the
    // same tracker (the same file). A line of no tracker the block covers (the stream's file
    // rotated, the next push request, whose answer would wait for this block) starts a block
    // of its own.
    const bool other_tracker = b.open && e.entry.ack.tracker() != nullptr &&
                               b.first.entry.ack.tracker() != nullptr &&
                               !b.first.entry.ack.SharesTrackerWith(e.entry.ack);
    if (b.open && (first || other_tracker ||
                   b.first.entry.line.size() + 1 + e.entry.line.size() > max_bytes_)) {
      Send(b, out);
    }
    if (!b.open) {
      b.first = std::move(e);
      b.lines = 1;
      b.open = true;
      b.last_activity_ns = activity;
      held_bytes_ += b.first.entry.line.size();
    } else {
      b.first.entry.line.push_back('\n');
      b.first.entry.line.append(e.entry.line);
      ++b.lines;
      b.last_activity_ns = std::max(b.last_activity_ns, activity);
      held_bytes_ += 1 + e.entry.line.size();
      // The block keeps the earlier of the two refs of one tracker (a cri line merged late may
      // come from before the block's first line), and one covering another file too (a line
      // merged across a rotation) adds that file's (AckRef::Merge).
      b.first.entry.ack.Merge(std::move(e.entry.ack));
    }
    MoveTo(b, open_);
    if (b.lines >= max_lines_) Send(b, out);
  }

  // The chains are in activity order as long as read times do not go back (the wall clock
  // stepped back): then a block waits at most for those before it, by the size of the step.
  void Flush(int64_t now_ns, bool force, Emitter& out) override {
    last_flush_ns_ = std::max(last_flush_ns_, now_ns);
    if (force) {
      SendAll(out);
      open_ = closed_ = Chain{};
      for (const auto& [key, b] : blocks_) Forget(b);
      blocks_.clear();
      return;
    }
    while (open_.head != nullptr && now_ns - open_.head->last_activity_ns >= max_wait_ns_) {
      Send(*open_.head, out);
    }
    while (closed_.head != nullptr &&
           now_ns - closed_.head->last_activity_ns >= kForgetStreamAfterNs) {
      Block* b = closed_.head;
      closed_.Remove(b);
      Forget(*b);
      blocks_.erase(b->key);
    }
  }

  // An open block whose next lines may be unread yet (its first line's file) waits max_wait
  // again from now_ns, at the end of the chain, which so stays in activity order.
  void Hold(int64_t now_ns, const UnreadSources& unread) override {
    Block* last = open_.tail;
    for (Block *b = open_.head, *next = nullptr; b != nullptr; b = next) {
      next = b == last ? nullptr : b->next;
      if (!unread.Contains(b->first.entry.ack)) continue;
      b->last_activity_ns = std::max(b->last_activity_ns, now_ns);
      MoveTo(*b, open_);
    }
  }
  bool Holding() const override { return open_.head != nullptr; }

  // An open block is sent max_wait after its last line; a closed one's slot is freed later.
  int64_t NextFlushNs() const override {
    int64_t next = kNoFlush;
    if (open_.head != nullptr) next = open_.head->last_activity_ns + max_wait_ns_;
    if (closed_.head != nullptr) {
      next = std::min(next, closed_.head->last_activity_ns + kForgetStreamAfterNs);
    }
    return next;
  }

  std::string_view Name() const override { return "multiline"; }

 private:
  // For an entry without a batch time (a caller of Stage::Process on its own): its timestamp,
  // trusted only as far as flushes allow.
  int64_t ActivityTime(int64_t entry_ts) const {
    if (last_flush_ns_ == 0) return entry_ts;
    if (entry_ts > last_flush_ns_ + max_wait_ns_) return last_flush_ns_;  // not a read time
    return std::max(entry_ts, last_flush_ns_);
  }

  // To the end of the chain (the newest).
  static void MoveTo(Block& b, Chain& chain) {
    if (b.chain != nullptr) b.chain->Remove(&b);
    chain.PushBack(&b);
  }

  void Send(Block& b, Emitter& out) {
    held_bytes_ -= b.first.entry.line.size();
    b.open = false;
    b.lines = 0;
    MoveTo(b, closed_);
    out.Emit(std::move(b.first));
  }

  void SendAll(Emitter& out) {
    while (open_.head != nullptr) Send(*open_.head, out);
  }

  // b's slot is about to be freed: whether its stream had a firstline outlives it.
  void Forget(const Block& b) {
    if (!b.seen_first) return;
    if (forgotten_.size() >= kMaxForgotten) forgotten_.clear();
    forgotten_.insert(b.key);
  }

  std::unique_ptr<RE2> firstline_;
  std::string valid_;  // a line that is not UTF-8, as Go's regexp reads it (GoRegexpInput)
  int64_t max_wait_ns_;
  int max_lines_;
  size_t max_bytes_;       // a block's line at most (limits_config.max_line_size, else 4 MiB)
  size_t held_bytes_ = 0;  // the lines of all open blocks
  std::unordered_map<uint64_t, Block> blocks_;  // by label-set hash (elements never move)
  Chain open_, closed_;                         // blocks_'s, by last activity
  std::unordered_set<uint64_t> forgotten_;      // streams freed after a firstline (Forget)
  int64_t last_flush_ns_ = 0;
};

}  // namespace

Result<std::unique_ptr<Stage>> NewMultilineStage(const config::StageConfig& cfg,
                                                 const StageContext& ctx, const std::string& path) {
  config::MapReader r = ReaderFor(cfg, path);
  std::string firstline;
  config::Duration max_wait = std::chrono::seconds(3);
  int max_lines = 128;
  r.Str("firstline", &firstline);
  r.Dur("max_wait_time", &max_wait);
  r.Int("max_lines", &max_lines);
  if (firstline.empty()) r.Fail("firstline", "multiline stage config must define `firstline`");
  if (max_wait.count() <= 0) r.Fail("max_wait_time", "must be a positive duration");
  if (max_lines <= 0) r.Fail("max_lines", "must be a positive number");
  std::unique_ptr<RE2> re;
  if (!firstline.empty()) {
    re = lang::go::CompileGoRegexp(firstline);
    if (!re->ok()) r.Fail("firstline", "could not compile regular expression: " + re->error());
  }
  if (Status s = r.Finish(); !s.ok()) return Err(std::move(s));
  return std::make_unique<MultilineStage>(std::move(re), max_wait.count(), max_lines,
                                          StageOutputCap(ctx));
}

}  // namespace skidder::pipeline::stages
