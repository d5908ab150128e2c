#include "model/ack.h"

#include <utility>
#include <vector>

namespace skidder {

Checkpoint::Checkpoint(std::shared_ptr<AckTracker> tracker, uint64_t offset)
    : tracker_(std::move(tracker)), offset_(offset) {}

Checkpoint::~Checkpoint() = default;

void Checkpoint::Release(int n) {
  if (refs_.fetch_sub(n, std::memory_order_acq_rel) == n) {
    if (joint_ != nullptr) return ReleaseParts();
    // Still ours to read: the tracker frees a checkpoint only once Complete(this) handed it in,
    // even if another thread's Complete sees the count at zero first. Keep the tracker alive
    // while it pops us (freeing checkpoints may drop its last reference).
    std::shared_ptr<AckTracker> tracker = tracker_;
    tracker->Complete(this);
  }
}

void Checkpoint::ReleaseParts() {
  const bool abandoned = abandoned_.load(std::memory_order_acquire);
  std::vector<Checkpoint*> parts = std::move(joint_->parts);
  delete this;
  for (Checkpoint* p : parts) {
    if (abandoned) p->abandoned_.store(true, std::memory_order_release);
    p->Release();
  }
}

const Checkpoint* AckRef::FirstPart(const Checkpoint* joint) {
  return joint->joint_->parts.front();
}

bool AckRef::Covers(const Checkpoint* cp, const AckTracker* t) {
  bool found = false;
  auto match = [&](const AckTracker* each) { found = found || each == t; };
  ForEachTracker(cp, match);
  return found;
}

void AckRef::Merge(AckRef&& other) {
  if (other.cp_ == nullptr || other.cp_ == cp_) return other.Reset();
  if (cp_ == nullptr) {
    *this = std::move(other);
    return;
  }
  if (cp_->joint_ == nullptr && other.cp_->joint_ == nullptr &&
      cp_->tracker_ == other.cp_->tracker_) {
    if (other.cp_->Before(*cp_)) std::swap(cp_, other.cp_);  // keep the earlier
    return other.Reset();
  }
  // A joint only this ref holds (the entry's own, not one it shares with copies of it, which
  // another thread may be reading) takes the parts; otherwise a new one is made around cp_.
  if (cp_->joint_ == nullptr || !cp_->Owned()) {
    auto* joint = new Checkpoint(nullptr, 0);
    joint->joint_ = std::make_unique<Checkpoint::Joint>();
    joint->joint_->parts.push_back(cp_);  // cp_'s reference moves into the joint
    cp_ = joint;
  }
  Checkpoint* o = std::exchange(other.cp_, nullptr);
  if (o->joint_ != nullptr && o->Owned()) {
    // other's own joint: its parts join this one. (One a copy of which was abandoned stays a
    // part of its own: its parts must be abandoned with it, and only they.)
    std::vector<Checkpoint*> parts = std::move(o->joint_->parts);
    delete o;
    for (Checkpoint* p : parts) AddPart(p);
  } else {
    AddPart(o);
  }
}

void AckRef::AddPart(Checkpoint* p) {
  std::vector<Checkpoint*>& parts = cp_->joint_->parts;
  if (p->joint_ == nullptr) {
    for (Checkpoint*& q : parts) {
      if (q->joint_ != nullptr || q->tracker_ != p->tracker_) continue;
      if (p->Before(*q)) std::swap(p, q);  // the joint keeps the tracker's earlier
      p->Release();
      return;
    }
  }
  parts.push_back(p);
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
  cp->epoch_ = epoch_;
  pending_.push_back(cp);
  return AckRef(cp);
}

void CheckpointList::push_back(Checkpoint* cp) {
  cp->next_ = nullptr;
  if (tail_ == nullptr) {
    head_ = cp;
  } else {
    tail_->next_ = cp;
  }
  tail_ = cp;
  ++size_;
}

Checkpoint* CheckpointList::pop_front() {
  Checkpoint* cp = head_;
  head_ = cp->next_;
  if (head_ == nullptr) tail_ = nullptr;
  cp->next_ = nullptr;
  --size_;
  return cp;
}

void CheckpointList::splice_back(CheckpointList& other) {
  if (other.empty()) return;
  if (tail_ == nullptr) {
    head_ = other.head_;
  } else {
    tail_->next_ = other.head_;
  }
  tail_ = other.tail_;
  size_ += other.size_;
  other.head_ = other.tail_ = nullptr;
  other.size_ = 0;
}

void AckTracker::Complete(Checkpoint* completed) {
  CheckpointList done;  // linked through the checkpoints themselves: no allocation
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
      done.push_back(pending_.pop_front());
    }
    committed_.store(committed, std::memory_order_release);
    // Only checkpoints handed in by their last releaser may be freed (it may still be reading
    // one whose count it just brought to zero).
    auto handed_in = [](const Checkpoint* cp) { return cp->handed_in_; };
    // A blocked tracker commits nothing more, so finished checkpoints need not wait in order.
    if (blocked_) pending_.MoveIf(handed_in, &done);
    stale_.MoveIf(handed_in, &done);
  }
  if (committed != before && on_advance_) on_advance_(committed);
  // Deleting drops each checkpoint's tracker reference; done outside the lock.
  while (!done.empty()) delete done.pop_front();
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
  stale_.splice_back(pending_);
  ++epoch_;
  blocked_ = false;  // the abandoned bytes are gone with the old content
  committed_.store(offset, std::memory_order_release);
}

}  // namespace skidder
