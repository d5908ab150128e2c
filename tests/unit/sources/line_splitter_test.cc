#include "sources/file/line_splitter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace skidder::sources {
namespace {

struct Split {
  std::vector<std::string> lines;
  uint64_t offset;
};

// Feeds input in chunks of `chunk` bytes.
Split FeedAll(LineSplitter& s, std::string_view input, size_t chunk) {
  Split out;
  for (size_t i = 0; i < input.size(); i += chunk) {
    s.Feed(input.substr(i, chunk), [&](std::string_view l) { out.lines.emplace_back(l); });
  }
  out.offset = s.offset();
  return out;
}

struct Case {
  const char* name;
  std::string input;
  std::vector<std::string> want;
  uint64_t want_offset;
};

TEST(LineSplitter, SplitsLinesWithDefinedCrlfBomAndEmptyLineHandling) {
  const Case cases[] = {
      {"plain", "a\nbb\n", {"a", "bb"}, 5},
      {"partial held", "a\nbb", {"a"}, 2},
      {"empty lines kept", "\n\na\n", {"", "", "a"}, 4},
      {"crlf strips one cr", "a\r\nb\r\r\n", {"a", "b\r"}, 7},
      {"lone cr is text", "a\rb\n", {"a\rb"}, 4},
      {"bom at start skipped, counted in offset", "\xEF\xBB\xBFhello\nx\n", {"hello", "x"}, 11},
      {"bom later is text",
       "a\n\xEF\xBB\xBF"
       "b\n",
       {"a",
        "\xEF\xBB\xBF"
        "b"},
       7},
      {"nul bytes are text", std::string("a\0b\n", 4), {std::string("a\0b", 3)}, 4},
  };
  for (size_t chunk : {1, 2, 3, 64}) {
    for (const auto& c : cases) {
      LineSplitter s(100, false, 0);
      Split got = FeedAll(s, c.input, chunk);
      EXPECT_EQ(got.lines, c.want) << c.name << " chunk=" << chunk;
      EXPECT_EQ(got.offset, c.want_offset) << c.name << " chunk=" << chunk;
    }
  }
}

TEST(LineSplitter, PartialLineIsEmittedOnlyWhenFlushed) {
  LineSplitter s(100, false, 10);
  Split got = FeedAll(s, "abc", 2);
  EXPECT_TRUE(got.lines.empty());
  EXPECT_EQ(s.offset(), 10u);
  EXPECT_EQ(s.read_offset(), 13u);
  std::vector<std::string> flushed;
  s.FlushPartial([&](std::string_view l) { flushed.emplace_back(l); });
  EXPECT_EQ(flushed, std::vector<std::string>{"abc"});
  EXPECT_EQ(s.offset(), 13u);
}

TEST(LineSplitter, OverlongLineIsTruncatedOnUtf8BoundaryWithBoundedMemory) {
  LineSplitter s(5, true, 0);
  // "abcd" + "é" (2 bytes) crosses the 5-byte cap: cut before the é.
  std::string big = "abcd\xC3\xA9" + std::string(3 << 20, 'x') + "\nok\n";
  Split got = FeedAll(s, big, 4096);
  EXPECT_EQ(got.lines, (std::vector<std::string>{"abcd", "ok"}));
  EXPECT_EQ(got.offset, big.size());
  EXPECT_EQ(s.TakeTruncated(), 1u);
}

TEST(LineSplitter, OverlongLineIsDroppedAndCounted) {
  LineSplitter s(5, false, 0);
  Split got = FeedAll(s, "123456\n12345\n12345\r\n", 3);
  EXPECT_EQ(got.lines, (std::vector<std::string>{"12345", "12345"}));
  EXPECT_EQ(s.TakeDropped(), 1u);
  EXPECT_EQ(got.offset, 20u);
}

}  // namespace
}  // namespace skidder::sources
