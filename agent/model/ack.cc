#include "model/ack.h"

#include <vector>

namespace skidder {

void Checkpoint::Release(int n) {
  if (refs_.fetch_sub(n, std::memory_order_acq_rel) == n) {
    // Still ours to read: the tracker frees a checkpoint only once Complete(this) handed it in,
    // even if another thread's Complete sees the count at zero first. Keep the tracker alive
    // while it pops us (freeing checkpoints may drop its last reference).
    std::shared_ptr<AckTracker> tracker = tracker_;
    tracker->Complete(this);
  }
}

std::shared_ptr<AckTracker> AckTracker::Create(uint64_t committed_offset) {
  // One allocation for the tracker and its reference counts (a tracker per open file).
  struct Shared : AckTracker {
    explicit Shared(uint64_t c) : AckTracker(c) {}
  };
  return std::make_shared<Shared>(committed_offset);
}

AckRef AckTracker::Open(uint64_t end_offset) {
  auto* cp = new Checkpoint(shared_from_this(), end_offset);
  std::lock_guard lock(mu_);
  pending_.push_back(cp);
  return AckRef(cp);
}

void AckTracker::Complete(Checkpoint* completed) {
  std::vector<Checkpoint*> done;  // allocates only when something is done (a deque always would)
  uint64_t before = 0, committed = 0;
  {
    std::lock_guard lock(mu_);
    completed->handed_in_ = true;
    before = committed = committed_.load(std::memory_order_relaxed);
    while (!blocked_ && !pending_.empty() && pending_.front()->handed_in_) {
      if (pending_.front()->abandoned_.load(std::memory_order_acquire)) {
        blocked_ = true;  // nothing at or after this checkpoint may ever be committed
        break;
      }
      committed = pending_.front()->offset_;
      done.push_back(pending_.front());
      pending_.pop_front();
    }
    committed_.store(committed, std::memory_order_release);
    // Only checkpoints handed in by their last releaser may be freed (it may still be reading
    // one whose count it just brought to zero).
    auto take_done = [&done](Checkpoint* cp) {
      if (!cp->handed_in_) return false;
      done.push_back(cp);
      return true;
    };
    // A blocked tracker commits nothing more, so finished checkpoints need not wait in order.
    if (blocked_) std::erase_if(pending_, take_done);
    std::erase_if(stale_, take_done);
  }
  if (committed != before && on_advance_) on_advance_(committed);
  // Deleting drops each checkpoint's tracker reference; done outside the lock.
  for (Checkpoint* cp : done) delete cp;
}

size_t AckTracker::Pending() const {
  std::lock_guard lock(mu_);
  return pending_.size();
}

bool AckTracker::Blocked() const {
  std::lock_guard lock(mu_);
  return blocked_;
}

void AckTracker::Reset(uint64_t offset) {
  std::lock_guard lock(mu_);
  // Checkpoints of the old content may still be in flight; they must neither block nor move the
  // new content's position, so they are set aside and only freed when they complete.
  stale_.splice(stale_.end(), pending_);
  blocked_ = false;  // the abandoned bytes are gone with the old content
  committed_.store(offset, std::memory_order_release);
}

}  // namespace skidder
