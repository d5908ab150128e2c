#include "model/labels.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace skidder {
namespace {

TEST(Labels, StaySortedAndRenderLikeLoki) {
  Labels l;
  l.Set("namespace", "prod");
  l.Set("app", "api");
  l.Set("msg", "say \"hi\"\n");
  EXPECT_EQ(l.ToString(), R"({app="api", msg="say \"hi\"\n", namespace="prod"})");
}

TEST(Labels, ControlCharactersAreEscapedTheWayLokiParsesThem) {
  Labels l{{"a", std::string("x\x01y\x7fz\t")}};
  EXPECT_EQ(l.ToString(), R"({a="x\x01y\x7fz\t"})");
}

TEST(Labels, EmptyValueRemovesTheLabel) {
  Labels l{{"a", "1"}, {"b", "2"}};
  l.Set("a", "");
  EXPECT_FALSE(l.Has("a"));
  EXPECT_EQ(l.size(), 1u);
}

TEST(Labels, HashFollowsContentNotHistory) {
  Labels a{{"x", "1"}, {"y", "2"}};
  Labels b;
  b.Set("y", "2");
  b.Set("x", "0");
  b.Set("x", "1");
  EXPECT_EQ(a.Hash(), b.Hash());
  EXPECT_EQ(a, b);
  Labels c{{"x", "12"}};
  Labels d{{"x1", "2"}};
  EXPECT_NE(c.Hash(), d.Hash());
}

TEST(Labels, RemoveInternalDropsDoubleUnderscoreNames) {
  Labels l{{"__path__", "/x"}, {"job", "j"}, {"__tenant_id__", "t"}};
  l.RemoveInternal();
  EXPECT_EQ(l.ToString(), R"({job="j"})");
}

TEST(LabelsBuilder, GivesWhatTheSameSetCallsWouldLastOneWinning) {
  const Labels base{{"keep", "k"}, {"replaced", "old"}, {"removed", "r"}};
  LabelsBuilder b(base);
  b.Add("zeta", "z");
  b.Add("replaced", "first");
  b.Add("alpha", "a");
  b.Add("removed", "");  // an empty value removes, as Set() does
  b.Add("replaced", "new");
  b.Add("never", "");
  const Labels built = b.Build();

  Labels set = base;
  set.Set("zeta", "z");
  set.Set("replaced", "first");
  set.Set("alpha", "a");
  set.Set("removed", "");
  set.Set("replaced", "new");
  set.Set("never", "");
  EXPECT_EQ(built.ToString(), R"({alpha="a", keep="k", replaced="new", zeta="z"})");
  EXPECT_EQ(built, set);
  EXPECT_EQ(built.Hash(), set.Hash());
  EXPECT_EQ(base.ToString(), R"({keep="k", removed="r", replaced="old"})") << "base untouched";
  EXPECT_TRUE(b.Build().empty()) << "a built builder starts over";
}

TEST(LabelsBuilder, BuildsAHundredThousandLabelsAtOnce) {
  // Set() one by one is quadratic here (minutes); the builder sorts once.
  LabelsBuilder b;
  for (int i = 100000; i-- > 0;) b.Add("label_" + std::to_string(i), "v");
  const auto start = std::chrono::steady_clock::now();
  const Labels l = b.Build();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  ASSERT_EQ(l.size(), 100000u);
  EXPECT_EQ(l.begin()->name, "label_0");
  EXPECT_EQ(*l.Get("label_99999"), "v");
}

TEST(Labels, RemoveIfDropsMatchingLabelsInOnePass) {
  Labels l{{"__meta_a", "1"}, {"job", "j"}, {"__meta_b", "2"}};
  const Labels copy = l;
  l.RemoveIf([](const Label& x) { return x.name.starts_with("__meta_"); });
  EXPECT_EQ(l.ToString(), R"({job="j"})");
  EXPECT_EQ(l, (Labels{{"job", "j"}}));
  EXPECT_EQ(copy.size(), 3u) << "copies share storage until one changes";
}

// A label kept after a removal keeps its own storage: erasing by move-assignment handed the
// removed value's heap buffer to the short value moved into its slot, and a file's labels kept
// a dead copy of the glob (`__path__`) for as long as the file was open.
TEST(Labels, ARemovedValueLeavesNoBufferInTheLabelsKept) {
  const std::string big(200, 'x');
  const auto small_values = [&](const Labels& l) {
    for (const Label& label : l) {
      if (label.value.capacity() >= big.size()) return ::testing::AssertionFailure() << label.name;
    }
    return ::testing::AssertionSuccess();
  };
  const Labels base{{"__a", big}, {"__b", big}, {"c", "1"}, {"d", "2"}};
  Labels removed = base;  // shared, then copied on change
  removed.Remove("__a");
  removed.Remove("__b");
  EXPECT_EQ(removed, (Labels{{"c", "1"}, {"d", "2"}}));
  EXPECT_TRUE(small_values(removed));
  Labels internal = base;
  internal.RemoveInternal();
  EXPECT_EQ(internal, (Labels{{"c", "1"}, {"d", "2"}}));
  EXPECT_TRUE(small_values(internal));
  Labels by_pred = base;
  by_pred.RemoveIf([](const Label& l) { return l.value.size() > 10; });
  EXPECT_EQ(by_pred, (Labels{{"c", "1"}, {"d", "2"}}));
  EXPECT_TRUE(small_values(by_pred));
}

TEST(Labels, ValidNamesFollowPrometheusRules) {
  for (const char* ok : {"a", "_x", "job", "app_kubernetes_io_name", "A9"}) {
    EXPECT_TRUE(IsValidLabelName(ok)) << ok;
  }
  for (const char* bad : {"", "9a", "a-b", "a.b", "caf\xc3\xa9", "a b"}) {
    EXPECT_FALSE(IsValidLabelName(bad)) << bad;
  }
}

// Entries of a file share its labels; the sender thread reads and drops its copies while the
// pipeline thread changes its own. Once the other copies are gone the owner may change the
// storage in place, which is only safe if it sees the others' reads as finished (TSan checks
// that the copy-on-write check synchronizes with the release of the last other copy).
TEST(Labels, CopyReadAndDroppedOnAnotherThreadLeavesTheOwnerFreeToChange) {
  for (int round = 0; round < 200; ++round) {
    Labels mine{{"job", "a"}, {"filename", "/var/log/pods/x/0.log"}};
    Labels theirs = mine;
    std::atomic<bool> dropped{false};
    std::string seen;
    std::thread sender([&] {
      seen = theirs.ToString();
      theirs.Clear();
      dropped.store(true, std::memory_order_relaxed);  // no ordering: only the count may order
    });
    while (!dropped.load(std::memory_order_relaxed)) {
    }
    mine.Set("job", "b");
    sender.join();
    EXPECT_EQ(seen, R"({filename="/var/log/pods/x/0.log", job="a"})");
    EXPECT_EQ(*mine.Get("job"), "b");
  }
}

}  // namespace
}  // namespace skidder

namespace skidder {
namespace {

// Shared() tells a stage whether changing the set would copy it: true while another copy lives.
TEST(Labels, SharedWhileAnotherCopyHoldsTheSet) {
  Labels a{{"job", "j"}};
  EXPECT_FALSE(a.Shared());
  {
    Labels b = a;
    EXPECT_TRUE(a.Shared());
    EXPECT_TRUE(b.Shared());
    b.Set("x", "1");  // b takes its own copy
    EXPECT_FALSE(a.Shared());
    EXPECT_FALSE(b.Shared());
  }
  Labels c = a;
  c.Clear();
  EXPECT_FALSE(a.Shared());
  EXPECT_FALSE(Labels{}.Shared());
}

// Labels::ShareInto and LabelsReleaser count references in bulk: the set is shared while any
// holder is left, and freed (no longer shared) once the last run is released.
TEST(Labels, SharedIntoManyAndReleasedInRunsCountsEveryHolder) {
  Labels base{{"job", "a"}};
  std::vector<Labels> held(5);
  base.ShareInto(4, [&](size_t i) -> Labels& { return held[i]; });
  EXPECT_TRUE(held[0].SameAs(base));
  EXPECT_TRUE(held[3].SameAs(base));
  EXPECT_TRUE(held[4].empty());
  Labels other{{"job", "b"}};
  held[4] = other;
  {
    LabelsReleaser releaser;
    releaser.Take(held[0]);
    releaser.Take(held[1]);
    releaser.Take(held[4]);  // another set: the first run is released here
    EXPECT_TRUE(held[0].empty());
    EXPECT_TRUE(base.Shared()) << "held[2] and held[3] still share it";
    EXPECT_TRUE(other.Shared()) << "taken, but released on Flush";
  }
  EXPECT_FALSE(other.Shared());
  held.clear();
  EXPECT_FALSE(base.Shared());
  base.Set("x", "1");  // the set is this object's alone again: changed in place, still valid
  EXPECT_EQ(base.ToString(), R"({job="a", x="1"})");
}

}  // namespace
}  // namespace skidder
