// FanoutSink: every client gets every entry, unless the entry's `clients` bits (an Alloy
// forward_to routed by the fanout stage) name only some; its bytes count as done when every
// client it went to is done with it.
#include "app/sinks.h"

#include <gtest/gtest.h>

#include <vector>

namespace skidder::app {
namespace {

class Recording final : public EntrySink {
 public:
  void PushBatch(std::span<Entry> batch) override {
    for (Entry& e : batch) got.push_back(std::move(e));
  }
  bool Saturated() const override { return full; }
  std::vector<Entry> got;
  bool full = false;
};

// Takes shared entries as a Loki client does: keeps a copy of what it is given, changes nothing.
class Reading final : public EntrySink {
 public:
  void PushBatch(std::span<Entry> batch) override {
    moved.push_back(batch.data());
    for (Entry& e : batch) got.push_back(std::move(e));
  }
  void PushShared(std::span<const Entry> batch) override {
    spans.push_back(batch.data());
    for (const Entry& e : batch) got.push_back(e);
  }
  bool Saturated() const override { return false; }
  std::vector<const Entry*> spans;  // PushShared calls
  std::vector<const Entry*> moved;  // PushBatch calls
  std::vector<Entry> got;
};

Entry Line(std::string line, uint64_t clients, AckRef ack = {}) {
  Entry e;
  e.line = std::move(line);
  e.clients = clients;
  e.ack = std::move(ack);
  return e;
}

TEST(FanoutSink, SendsEachEntryOnlyToTheClientsItIsRoutedTo) {
  Recording a, b, c;
  FanoutSink sink({&a, &b, &c});
  sink.Push(Line("all", ~uint64_t{0}));
  sink.Push(Line("a and c", 0b101));
  sink.Push(Line("b", 0b010));
  ASSERT_EQ(a.got.size(), 2u);
  EXPECT_EQ(a.got[1].line, "a and c");
  ASSERT_EQ(b.got.size(), 2u);
  EXPECT_EQ(b.got[1].line, "b");
  ASSERT_EQ(c.got.size(), 2u);
  EXPECT_EQ(c.got[1].line, "a and c");
}

TEST(FanoutSink, AnEntryRoutedNowhereIsAcknowledged) {
  Recording a;
  FanoutSink sink({&a});
  auto tracker = AckTracker::Create(0);
  sink.Push(Line("dropped", 0, tracker->Open(10)));
  EXPECT_TRUE(a.got.empty());
  EXPECT_EQ(tracker->Committed(), 10u);
}

TEST(FanoutSink, BytesAreDoneWhenEveryRoutedClientIsDone) {
  Recording a, b;
  FanoutSink sink({&a, &b});
  auto tracker = AckTracker::Create(0);
  sink.Push(Line("both", ~uint64_t{0}, tracker->Open(10)));
  a.got.clear();
  EXPECT_EQ(tracker->Committed(), 0u);  // b still holds its copy
  b.got.clear();
  EXPECT_EQ(tracker->Committed(), 10u);
}

TEST(FanoutSink, ClientsThatOnlyReadShareTheCallersEntriesInsteadOfCopies) {
  Reading a, b;
  Reading last;
  FanoutSink sink({&a, &b, &last});
  auto tracker = AckTracker::Create(0);
  std::vector<Entry> batch;
  batch.push_back(Line("one", ~uint64_t{0}, tracker->Open(10)));
  batch.push_back(Line("two", ~uint64_t{0}, tracker->Open(20)));
  sink.PushBatch(batch);
  ASSERT_EQ(a.spans.size(), 1u);
  EXPECT_EQ(a.spans[0], batch.data()) << "no copy per client";
  EXPECT_EQ(b.spans[0], batch.data());
  EXPECT_TRUE(a.moved.empty()) << "a client before the last must leave the entries as they are";
  EXPECT_TRUE(last.spans.empty());
  ASSERT_EQ(last.moved.size(), 1u) << "the last client may move from the caller's entries";
  EXPECT_EQ(last.moved[0], batch.data());
  ASSERT_EQ(last.got.size(), 2u);
  EXPECT_EQ(last.got[1].line, "two");
  EXPECT_EQ(a.got[0].line, "one");
  batch.clear();
  a.got.clear();
  last.got.clear();
  EXPECT_EQ(tracker->Committed(), 0u) << "b still holds its references";
  b.got.clear();
  EXPECT_EQ(tracker->Committed(), 20u);
}

// One writer down (its buffer full) pauses only the readers whose entries can go to it: an
// Alloy config's alerts path keeps flowing while the archive Loki is away.
TEST(FanoutSink, IsSaturatedOnlyForTheClientsThatAreFull) {
  Recording a, b, c;
  FanoutSink sink({&a, &b, &c});
  b.full = true;
  EXPECT_TRUE(sink.Saturated());
  EXPECT_TRUE(sink.SaturatedFor(~uint64_t{0}));
  EXPECT_TRUE(sink.SaturatedFor(0b010));
  EXPECT_TRUE(sink.SaturatedFor(0b011));
  EXPECT_FALSE(sink.SaturatedFor(0b101));
  EXPECT_FALSE(sink.SaturatedFor(0));  // entries that go nowhere never wait (up to 64 clients)

  RoutedSink to_a_and_c(&sink, 0b101);
  EXPECT_FALSE(to_a_and_c.Saturated());
  RoutedSink to_b(&sink, 0b010);
  EXPECT_TRUE(to_b.Saturated());
  EXPECT_FALSE(to_b.SaturatedFor(0b001)) << "narrowed to what the job routes to";
  // A routed view hands entries on as they are routed; it narrows only the waiting.
  to_a_and_c.Push(Line("b only", 0b010));
  EXPECT_TRUE(a.got.empty());
  ASSERT_EQ(b.got.size(), 1u);
  EXPECT_EQ(b.got[0].line, "b only");
}

// A sink with no PushShared of its own gets a copy before the last sink may move the entries.
TEST(FanoutSink, ASinkThatMovesFromItsEntriesGetsACopyUnlessItIsTheLast) {
  Recording first;
  Reading last;
  FanoutSink sink({&first, &last});
  auto tracker = AckTracker::Create(0);
  std::vector<Entry> batch;
  batch.push_back(Line("one", ~uint64_t{0}, tracker->Open(10)));
  sink.PushBatch(batch);
  ASSERT_EQ(first.got.size(), 1u);
  ASSERT_EQ(last.got.size(), 1u);
  EXPECT_EQ(first.got[0].line, "one");
  EXPECT_EQ(last.got[0].line, "one") << "the first sink moved from the caller's entry";
  batch.clear();
  first.got.clear();
  EXPECT_EQ(tracker->Committed(), 0u) << "the last sink still holds its reference";
  last.got.clear();
  EXPECT_EQ(tracker->Committed(), 10u);
}

}  // namespace
}  // namespace skidder::app
