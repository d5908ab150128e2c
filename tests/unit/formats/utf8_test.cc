#include "formats/utf8.h"

#include <gtest/gtest.h>

namespace skidder::formats {
namespace {

const std::string kFFFD = "\xEF\xBF\xBD";

TEST(SanitizeUtf8, LeavesValidTextUntouched) {
  for (std::string s :
       {std::string(""), std::string("plain ascii line of some length"),
        std::string("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), std::string("\xF4\x8F\xBF\xBF"),
        std::string("\xED\x9F\xBF"), std::string("nul\0inside", 10)}) {
    std::string before = s;
    const char* data = s.data();
    EXPECT_EQ(SanitizeUtf8(s), 0u);
    EXPECT_EQ(s, before);
    EXPECT_EQ(s.data(), data);  // not reallocated
    EXPECT_TRUE(IsValidUtf8(s));
  }
}

TEST(SanitizeUtf8, ReplacesEachIllFormedSubpart) {
  struct Case {
    std::string in, out;
    size_t replaced;
  } cases[] = {
      {"a\xFF"
       "b",
       "a" + kFFFD + "b", 1},
      {"\x80\x80", kFFFD + kFFFD, 2},                          // lone continuations
      {"\xC0\xAF", kFFFD + kFFFD, 2},                          // overlong '/'
      {"\xE0\x80\xAF", kFFFD + kFFFD + kFFFD, 3},              // overlong 3-byte
      {"\xED\xA0\x80", kFFFD + kFFFD + kFFFD, 3},              // surrogate U+D800
      {"\xF4\x90\x80\x80", kFFFD + kFFFD + kFFFD + kFFFD, 4},  // above U+10FFFF
      {"\xE2\x82", kFFFD, 1},                                  // truncated at end
      {"\xE2\x82x", kFFFD + "x", 1},                           // truncated mid-string
      {"\xF0\x9F\x98", kFFFD, 1},
      {"ok\xF0\x9F\x98\x80\xC3", "ok\xF0\x9F\x98\x80" + kFFFD, 1},
      {"\xF5\xFE", kFFFD + kFFFD, 2},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(c.out);
    EXPECT_FALSE(IsValidUtf8(c.in));
    EXPECT_EQ(SanitizeUtf8(c.in), c.replaced);
    EXPECT_EQ(c.in, c.out);
    EXPECT_TRUE(IsValidUtf8(c.in));
  }
}

// The ASCII fast paths skip 32 and 8 bytes at a time: a bad byte anywhere in or after them is
// still found.
TEST(IsValidUtf8, FindsABadByteAtEveryPositionOfALongAsciiLine) {
  for (size_t len : {1, 7, 8, 31, 32, 33, 64, 100}) {
    for (size_t at = 0; at < len; ++at) {
      std::string s(len, 'a');
      EXPECT_TRUE(IsValidUtf8(s));
      s[at] = static_cast<char>(0xFF);
      EXPECT_FALSE(IsValidUtf8(s)) << "length " << len << ", bad byte at " << at;
      s[at] = static_cast<char>(0xC3);  // a two-byte sequence cut short, or completed:
      if (at + 1 < len) s[at + 1] = static_cast<char>(0xA9);
      EXPECT_EQ(IsValidUtf8(s), at + 1 < len) << "length " << len << ", at " << at;
    }
  }
}

TEST(TruncateUtf8, CutsOnCodePointBoundaries) {
  const std::string euro = "\xE2\x82\xAC";       // 3 bytes
  const std::string smile = "\xF0\x9F\x98\x80";  // 4 bytes
  struct Case {
    std::string in;
    size_t max;
    std::string out;
    bool cut;
  } cases[] = {
      {"hello", 10, "hello", false},
      {"hello", 5, "hello", false},
      {"hello", 3, "hel", true},
      {"hello", 0, "", true},
      {"a" + euro, 1, "a", true},
      {"a" + euro, 2, "a", true},
      {"a" + euro, 3, "a", true},
      {"a" + euro, 4, "a" + euro, false},
      {smile + smile, 7, smile, true},
      {smile + smile, 4, smile, true},
      {smile, 3, "", true},
      {"ab\x80\x80\x80\x80\x80", 5, "ab\x80\x80\x80", true},  // not UTF-8: plain byte cut
  };
  for (auto& c : cases) {
    SCOPED_TRACE(c.max);
    EXPECT_EQ(TruncateUtf8(c.in, c.max), c.cut);
    EXPECT_EQ(c.in, c.out);
  }
}

}  // namespace
}  // namespace skidder::formats
