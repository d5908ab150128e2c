#include "model/ack.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <random>
#include <span>
#include <thread>
#include <vector>

#include "model/entry.h"

namespace skidder {
namespace {

TEST(AckTracker, CommitsOnlyTheCompletedPrefix) {
  auto tracker = AckTracker::Create(0);
  AckRef a = tracker->Open(100);
  AckRef b = tracker->Open(200);
  AckRef c = tracker->Open(300);
  b.Reset();
  c.Reset();
  EXPECT_EQ(tracker->Committed(), 0u) << "a is still in flight";
  a.Reset();
  EXPECT_EQ(tracker->Committed(), 300u);
  EXPECT_EQ(tracker->Pending(), 0u);
}

TEST(AckReleaser, CompletesEachCheckpointWhenItsLastRunIsFlushed) {
  auto tracker = AckTracker::Create(0);
  AckRef hold_a = tracker->Open(100);
  std::vector<AckRef> refs(3, hold_a);  // three entries of the first read
  hold_a.Reset();
  AckRef hold_b = tracker->Open(200);
  refs.push_back(hold_b);  // one of the second
  hold_b.Reset();
  {
    AckReleaser releaser;
    releaser.Take(refs[0]);
    releaser.Take(refs[1]);
    EXPECT_TRUE(refs[0].empty());
    EXPECT_EQ(tracker->Committed(), 0u) << "taken refs are dropped on Flush, not before";
    releaser.Flush();
    EXPECT_EQ(tracker->Committed(), 0u) << "refs[2] still holds the first checkpoint";
    releaser.Take(refs[2]);
    releaser.Take(refs[3]);  // another checkpoint: the first run is dropped here
    EXPECT_EQ(tracker->Committed(), 100u);
  }
  EXPECT_EQ(tracker->Committed(), 200u) << "the destructor flushes the last run";
  EXPECT_EQ(tracker->Pending(), 0u);
}

// A read's entries get their refs at once (ShareInto) and are released a run at a time
// (ReleaseRefs): the checkpoint completes when the last of them goes, not before.
TEST(AckRef, SharedIntoEntriesHoldTheCheckpointUntilTheLastIsReleased) {
  auto tracker = AckTracker::Create(0);
  std::vector<Entry> entries(4);
  {
    AckRef hold = tracker->Open(100);
    hold.ShareInto(3, [&](size_t i) -> AckRef& { return entries[i].ack; });
  }  // the reader's hold goes: entries[0..2] keep the checkpoint open
  EXPECT_TRUE(entries[3].ack.empty());
  EXPECT_EQ(tracker->Committed(), 0u);
  ReleaseRefs(std::span<Entry>(entries).first(2));
  EXPECT_TRUE(entries[0].ack.empty());
  EXPECT_EQ(tracker->Committed(), 0u) << "entries[2] still holds the checkpoint";
  ReleaseRefs(entries);
  EXPECT_EQ(tracker->Committed(), 100u);
  EXPECT_EQ(tracker->Pending(), 0u);
}

TEST(AckTracker, EntryCopiesHoldTheCheckpointUntilAllAreDone) {
  auto tracker = AckTracker::Create(10);
  Entry e;
  e.ack = tracker->Open(50);
  Entry copy = e;  // fan-out to a second client
  e.ack.Reset();
  EXPECT_EQ(tracker->Committed(), 10u);
  copy = Entry{};
  EXPECT_EQ(tracker->Committed(), 50u);
}

TEST(AckTracker, ResetAfterTruncationIgnoresOldInFlightCheckpoints) {
  auto tracker = AckTracker::Create(0);
  AckRef old = tracker->Open(5000);
  tracker->Reset(0);
  AckRef fresh = tracker->Open(100);
  old.Reset();
  EXPECT_EQ(tracker->Committed(), 0u) << "old content must not move the new position";
  fresh.Reset();
  EXPECT_EQ(tracker->Committed(), 100u);
}

TEST(AckTracker, TrackerOutlivesItsOwnerWhileCheckpointsAreInFlight) {
  AckRef ref;
  {
    auto tracker = AckTracker::Create(0);
    ref = tracker->Open(42);
  }
  ref.Reset();  // must not touch freed memory (ASan checks this)
  SUCCEED();
}

TEST(AckTracker, AbandonedCheckpointNeverCommitsButFreesItsMemory) {
  std::weak_ptr<AckTracker> weak;
  {
    auto tracker = AckTracker::Create(0);
    weak = tracker;
    AckRef done = tracker->Open(100);
    AckRef given_up = tracker->Open(200);
    AckRef later = tracker->Open(300);
    done.Reset();
    EXPECT_EQ(tracker->Committed(), 100u);
    given_up.Abandon();
    later.Reset();
    EXPECT_EQ(tracker->Committed(), 100u) << "nothing at or after an abandoned entry commits";
    EXPECT_TRUE(tracker->Blocked());
    EXPECT_EQ(tracker->Pending(), 0u) << "finished checkpoints of a blocked tracker are freed";
    AckRef after = tracker->Open(400);  // a reader still going: never commits either
    after.Reset();
    EXPECT_EQ(tracker->Committed(), 100u);
    EXPECT_EQ(tracker->Pending(), 0u);
  }
  EXPECT_TRUE(weak.expired()) << "the tracker and its checkpoints are gone with their owner";
}

TEST(AckTracker, AbandoningOneCopyOfAFannedOutEntryBlocksTheCommit) {
  auto tracker = AckTracker::Create(0);
  AckRef a = tracker->Open(100);
  AckRef b = a;  // the same entry in a second client
  a.Abandon();
  b.Reset();  // the other client delivered it
  EXPECT_EQ(tracker->Committed(), 0u);
}

// AckRef::Merge: an entry merged from fragments covers all their bytes.
TEST(AckMerge, OfOneTrackerTheEarlierCheckpointIsKept) {
  auto tracker = AckTracker::Create(0);
  AckRef early = tracker->Open(100);
  AckRef late = tracker->Open(200);
  late.Merge(std::move(early));  // a line merged late joins a block opened after it
  EXPECT_TRUE(early.empty());
  EXPECT_EQ(late.get()->offset(), 100u);
  EXPECT_EQ(tracker->Committed(), 0u);
  late.Reset();
  EXPECT_EQ(tracker->Committed(), 200u);
}

TEST(AckMerge, AcrossTrackersEachIsHeldUntilTheEntryIsDone) {
  auto rotated = AckTracker::Create(0), next = AckTracker::Create(0);
  AckRef line = rotated->Open(100);
  AckRef rest = next->Open(30);
  AckRef after = rest;  // the next line, read in the same chunk of the new file
  line.Merge(std::move(rest));
  EXPECT_EQ(line.tracker(), rotated.get()) << "the first fragment's tracker";
  EXPECT_TRUE(line.Covers(rotated.get()));
  EXPECT_TRUE(line.Covers(next.get()));
  after.Reset();
  EXPECT_EQ(next->Committed(), 0u) << "the new file's position passed an undelivered line end";
  line.Reset();
  EXPECT_EQ(rotated->Committed(), 100u);
  EXPECT_EQ(next->Committed(), 30u);
}

TEST(AckMerge, AnAbandonedJointAbandonsEveryPart) {
  auto rotated = AckTracker::Create(0), next = AckTracker::Create(0);
  AckRef line = rotated->Open(100);
  line.Merge(next->Open(30));
  AckRef copy = line;  // the entry fanned out to a second client, which delivers it
  line.Abandon();
  copy.Reset();
  EXPECT_TRUE(rotated->Blocked());
  EXPECT_TRUE(next->Blocked());
}

// Entries of one line in several clients share the joint: merging into one copy (a multiline
// block whose first line it is) must not change what the others hold.
TEST(AckMerge, MergingIntoASharedJointLeavesItsOtherHoldersAlone) {
  std::weak_ptr<AckTracker> gone;
  {
    auto a = AckTracker::Create(0), b = AckTracker::Create(0), c = AckTracker::Create(0);
    gone = c;
    AckRef line = a->Open(10);
    line.Merge(b->Open(20));
    AckRef other_client = line;
    line.Merge(c->Open(30));
    EXPECT_TRUE(line.Covers(c.get()));
    EXPECT_FALSE(other_client.Covers(c.get()));
    line.Reset();
    EXPECT_EQ(c->Committed(), 30u);
    EXPECT_EQ(a->Committed(), 0u) << "still held by the other client's copy";
    other_client.Reset();
    EXPECT_EQ(a->Committed(), 10u);
    EXPECT_EQ(b->Committed(), 20u);
  }
  EXPECT_TRUE(gone.expired()) << "a joint leaked";
}

// The wait a reviewer found for chained checkpoints: a block opened in the new file takes a
// line merged across the rotation from before it (P in the old file, F in the new, read after
// the block's first line). Every position still moves once the block is delivered.
TEST(AckMerge, LinesMergedInAnyOrderNeverWaitForEachOther) {
  auto old_file = AckTracker::Create(0), new_file = AckTracker::Create(0);
  AckRef x0 = old_file->Open(100);  // the old file's last chunk: a P and a block's first line
  AckRef block = x0;
  AckRef partial = x0;
  x0.Reset();
  AckRef y = new_file->Open(10);  // the block's continuation
  block.Merge(AckRef(y));
  y.Reset();
  AckRef y0 = new_file->Open(20);  // a new block starts in the new file
  block.Reset();                   // the old block was delivered
  AckRef block2 = y0;
  y0.Reset();
  partial.Merge(new_file->Open(30));  // the F: the merged line joins the new block (it shares
                                      // the new file with it)
  block2.Merge(std::move(partial));
  EXPECT_EQ(block2.tracker(), new_file.get());
  EXPECT_EQ(new_file->Committed(), 10u);
  EXPECT_EQ(old_file->Committed(), 0u) << "the P's bytes are in the undelivered block";
  block2.Reset();
  EXPECT_EQ(old_file->Committed(), 100u);
  EXPECT_EQ(new_file->Committed(), 30u);
}

// A joint one copy of which was abandoned (a client stopped): what is merged into the other copy
// later is not abandoned with it, and it is not merged away into another joint's parts.
TEST(AckMerge, AnAbandonedCopysJointKeepsItsAbandonmentToItself) {
  auto a = AckTracker::Create(0), b = AckTracker::Create(0), c = AckTracker::Create(0);
  AckRef line = a->Open(10);
  line.Merge(b->Open(20));
  AckRef(line).Abandon();  // the copy given to the stopped client
  line.Merge(c->Open(30));
  line.Reset();
  EXPECT_TRUE(a->Blocked());
  EXPECT_TRUE(b->Blocked());
  EXPECT_FALSE(c->Blocked()) << "abandoned with bytes the abandoned copy never covered";
  EXPECT_EQ(c->Committed(), 30u);

  auto d = AckTracker::Create(0), e = AckTracker::Create(0), f = AckTracker::Create(0);
  AckRef other = e->Open(5);
  other.Merge(f->Open(6));
  AckRef(other).Abandon();
  AckRef block = d->Open(4);
  block.Merge(std::move(other));  // the abandoned joint must keep its flag
  block.Reset();
  EXPECT_EQ(d->Committed(), 4u);
  EXPECT_TRUE(e->Blocked());
  EXPECT_TRUE(f->Blocked());
}

// After a truncation the old content's checkpoints never commit: merged with the new content's,
// the entry keeps the new one, whatever the offsets say.
TEST(AckMerge, OfATruncatedFileTheNewContentsCheckpointIsKept) {
  auto tracker = AckTracker::Create(0);
  AckRef old_content = tracker->Open(10);
  tracker->Reset(0);
  AckRef new_content = tracker->Open(50);
  AckRef entry = AckRef(old_content);
  entry.Merge(AckRef(new_content));
  EXPECT_EQ(entry.get(), new_content.get());
  new_content.Reset();
  old_content.Reset();
  EXPECT_EQ(tracker->Committed(), 0u) << "the new content's position passed a held line";
  entry.Reset();
  EXPECT_EQ(tracker->Committed(), 50u);
}

// A joint another entry shares is merged as a part of its own: it stays whole for that entry.
TEST(AckMerge, ASharedJointBecomesAPartAndKeepsCoveringItsTrackers) {
  auto a = AckTracker::Create(0), b = AckTracker::Create(0), c = AckTracker::Create(0);
  AckRef line = a->Open(10);
  line.Merge(b->Open(20));
  AckRef copy = line;
  AckRef block = c->Open(30);
  block.Merge(std::move(line));
  EXPECT_EQ(block.tracker(), c.get());
  EXPECT_TRUE(block.Covers(a.get()));
  EXPECT_TRUE(block.Covers(b.get()));
  EXPECT_TRUE(block.SharesTrackerWith(copy));
  block.Reset();
  EXPECT_EQ(c->Committed(), 30u);
  EXPECT_EQ(a->Committed(), 0u);
  copy.Reset();
  EXPECT_EQ(a->Committed(), 10u);
  EXPECT_EQ(b->Committed(), 20u);
}

// Joints are made on the pipeline's thread and released by the sender's, a run of entries at a
// time (ReleaseRefs); TSan checks the hand-over.
TEST(AckMerge, JointsReleasedOnOtherThreadsCommitEverything) {
  auto a = AckTracker::Create(0), b = AckTracker::Create(0);
  std::vector<Entry> entries(2000);
  for (size_t i = 0; i < entries.size(); ++i) {
    entries[i].ack = a->Open(i + 1);
    if (i % 3 == 0) entries[i].ack.Merge(b->Open(i + 1));
  }
  std::vector<Entry> copies(entries.begin(), entries.end());  // a second client
  std::thread t1([&] { ReleaseRefs(entries); });
  std::thread t2([&] { ReleaseRefs(copies); });
  t1.join();
  t2.join();
  EXPECT_EQ(a->Committed(), 2000u);
  EXPECT_EQ(b->Committed(), 1999u);
  EXPECT_EQ(a->Pending(), 0u);
  EXPECT_EQ(b->Pending(), 0u);
}

TEST(AckTracker, TruncationUnblocksAnAbandonedTracker) {
  auto tracker = AckTracker::Create(0);
  tracker->Open(100).Abandon();
  EXPECT_TRUE(tracker->Blocked());
  tracker->Reset(0);
  tracker->Open(50).Reset();
  EXPECT_EQ(tracker->Committed(), 50u);
}

// As in the agent: entries of one chunk are fanned out to several clients, whose senders
// acknowledge them on their own threads in any order while the reader has moved on. The
// position only moves forward, and ends after the last chunk. ASan and TSan check that a
// checkpoint completed on one thread is never freed under another.
TEST(AckTracker, ReleasesFromSeveralThreadsInAnyOrderCommitEverything) {
  constexpr int kCheckpoints = 3000, kThreads = 4;
  auto tracker = AckTracker::Create(0);
  std::vector<std::vector<AckRef>> refs(kThreads);
  for (int i = 1; i <= kCheckpoints; ++i) {
    AckRef reader_hold = tracker->Open(static_cast<uint64_t>(i) * 10);
    for (auto& r : refs) r.push_back(reader_hold);
  }
  std::atomic<bool> done{false};
  std::atomic<bool> went_backwards{false};
  std::thread watcher([&] {
    uint64_t last = 0;
    while (!done) {
      uint64_t now = tracker->Committed();
      if (now < last) went_backwards = true;
      last = now;
    }
  });
  std::vector<std::thread> senders;
  for (int t = 0; t < kThreads; ++t) {
    std::shuffle(refs[t].begin(), refs[t].end(), std::mt19937(t));
    senders.emplace_back([&refs, t] {
      for (AckRef& r : refs[t]) r.Reset();
    });
  }
  for (auto& s : senders) s.join();
  done = true;
  watcher.join();
  EXPECT_FALSE(went_backwards);
  EXPECT_EQ(tracker->Committed(), uint64_t{kCheckpoints} * 10);
  EXPECT_EQ(tracker->Pending(), 0u);
}

// Two senders acknowledge neighbouring chunks at the same moment: the one completing the later
// chunk commits both, and must not free the earlier checkpoint while the thread that completed
// it is still on its way into the tracker (TSan and ASan see it if it does).
TEST(AckTracker, NeighbouringChunksCompletedAtOnceOnTwoThreads) {
  for (int round = 0; round < 2000; ++round) {
    auto tracker = AckTracker::Create(0);
    AckRef first = tracker->Open(1);
    AckRef second = tracker->Open(2);
    std::atomic<int> ready{0};
    auto release = [&ready](AckRef& r) {
      ready.fetch_add(1);
      while (ready.load() < 2) {
      }
      r.Reset();
    };
    std::thread a(release, std::ref(first));
    std::thread b(release, std::ref(second));
    a.join();
    b.join();
    ASSERT_EQ(tracker->Committed(), 2u) << "round " << round;
  }
}

// The file is closed (its tracker's owner goes away) while senders still hold entries.
TEST(AckTracker, LastReleasesOnOtherThreadsAfterTheOwnerIsGone) {
  for (int round = 0; round < 50; ++round) {
    std::vector<AckRef> a, b;
    {
      auto tracker = AckTracker::Create(0);
      for (int i = 1; i <= 100; ++i) {
        AckRef hold = tracker->Open(static_cast<uint64_t>(i));
        a.push_back(hold);
        b.push_back(std::move(hold));
      }
    }
    std::reverse(b.begin(), b.end());
    std::thread other([&b] { b.clear(); });
    a.clear();
    other.join();
  }
  SUCCEED();  // ASan/TSan: no use after free, no race
}

}  // namespace
}  // namespace skidder

namespace skidder {
namespace {

// The push API answers its sender from this hook: once, when the last entry is done, and not
// when an entry was abandoned (it was never delivered).
TEST(AckTracker, OnAdvanceFiresOnceWhenTheLastRefGoes) {
  auto tracker = AckTracker::Create(0);
  int calls = 0;
  uint64_t seen = 0;
  tracker->OnAdvance([&](uint64_t committed) {
    ++calls;
    seen = committed;
  });
  AckRef hold = tracker->Open(1);
  AckRef a = hold, b = hold;
  hold.Reset();
  a.Reset();
  EXPECT_EQ(calls, 0);
  b.Reset();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen, 1u);
}

TEST(AckTracker, OnAdvanceDoesNotFireForAbandonedEntries) {
  auto tracker = AckTracker::Create(0);
  int calls = 0;
  tracker->OnAdvance([&](uint64_t) { ++calls; });
  AckRef hold = tracker->Open(1);
  AckRef entry = hold;
  hold.Reset();
  entry.Abandon();
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(tracker->Blocked());
}

}  // namespace
}  // namespace skidder
