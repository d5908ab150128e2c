#include "model/labels.h"

#include <gtest/gtest.h>

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

TEST(Labels, ValidNamesFollowPrometheusRules) {
  for (const char* ok : {"a", "_x", "job", "app_kubernetes_io_name", "A9"}) {
    EXPECT_TRUE(IsValidLabelName(ok)) << ok;
  }
  for (const char* bad : {"", "9a", "a-b", "a.b", "caf\xc3\xa9", "a b"}) {
    EXPECT_FALSE(IsValidLabelName(bad)) << bad;
  }
}

}  // namespace
}  // namespace skidder
