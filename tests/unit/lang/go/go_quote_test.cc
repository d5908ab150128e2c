// AppendGoQuoted against what Go's strconv.Quote (fmt's %q) writes for the same input.
#include "lang/go/go_quote.h"

#include <gtest/gtest.h>

#include <string>

namespace skidder::lang::go {
namespace {

std::string Quote(std::string_view s, char quote = '"') {
  std::string out;
  AppendGoQuoted(s, quote, &out);
  return out;
}

TEST(GoQuote, IsStrconvQuote) {
  EXPECT_EQ(Quote("plain"), R"("plain")");
  EXPECT_EQ(Quote("a\"b\\c'd"), R"("a\"b\\c'd")");
  EXPECT_EQ(Quote("\a\b\f\n\r\t\v"), R"("\a\b\f\n\r\t\v")");
  EXPECT_EQ(Quote(std::string("\x00\x01\x1f\x7f", 4)), R"("\x00\x01\x1f\x7f")");
  // Printable non-ASCII as it is; what Go does not print as \u or \U.
  EXPECT_EQ(Quote("caf\xc3\xa9 \xf0\x9f\x98\x80"), "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
  EXPECT_EQ(Quote("\xc2\x85|\xc2\xa0|\xc2\xad|\xe2\x80\x8b|\xe2\x80\xa8|\xef\xbb\xbf|\xee\x80\x80"),
            R"("\u0085|\u00a0|\u00ad|\u200b|\u2028|\ufeff|\ue000")");
  EXPECT_EQ(Quote("\xf3\xb0\x80\x80"), R"("\U000f0000")");
  EXPECT_EQ(Quote("\xef\xbf\xbe|\xef\xb7\x90"), R"("\ufffe|\ufdd0")");
}

TEST(GoQuote, InvalidUtf8IsWrittenByteByByte) {
  EXPECT_EQ(Quote("a\xff"), R"("a\xff")");
  EXPECT_EQ(Quote("\xc3"), R"("\xc3")");                          // cut short
  EXPECT_EQ(Quote("\xc0\xaf"), R"("\xc0\xaf")");                  // overlong '/'
  EXPECT_EQ(Quote("\xed\xa0\x80"), R"("\xed\xa0\x80")");          // a surrogate
  EXPECT_EQ(Quote("\xf4\x90\x80\x80"), R"("\xf4\x90\x80\x80")");  // past U+10FFFF
  EXPECT_EQ(Quote("\xe2\x82x"), R"("\xe2\x82x")");
}

TEST(GoQuote, SingleQuotesEscapeTheirOwnQuote) {
  EXPECT_EQ(Quote("it's \"x\"", '\''), R"('it\'s "x"')");
}

}  // namespace
}  // namespace skidder::lang::go
