// Go's encoding/json and strconv float forms (lang/go/go_json.h), checked against values Go
// prints (go1.22: strconv.FormatFloat(v, 'f', -1, 64) and json.Marshal).
#include "lang/go/go_json.h"

#include <gtest/gtest.h>

#include <string>

namespace skidder::lang::go {
namespace {

std::string FloatF(double v) {
  std::string s;
  AppendGoFloatF(v, &s);
  return s;
}
std::string JsonFloat(double v) {
  std::string s;
  AppendGoJsonFloat(v, &s);
  return s;
}

TEST(GoFloatF, ShortestDigitsInFixedNotationPaddedWithZeros) {
  EXPECT_EQ(FloatF(0), "0");
  EXPECT_EQ(FloatF(-0.0), "-0");
  EXPECT_EQ(FloatF(0.25), "0.25");
  EXPECT_EQ(FloatF(-3.5), "-3.5");
  EXPECT_EQ(FloatF(100), "100");
  EXPECT_EQ(FloatF(1e21), "1000000000000000000000");
  EXPECT_EQ(FloatF(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(FloatF(1e-7), "0.0000001");
  EXPECT_EQ(FloatF(123456.789), "123456.789");
  EXPECT_EQ(FloatF(9007199254740993.0), "9007199254740992");
  EXPECT_EQ(FloatF(1.2345678901234568e29), "123456789012345680000000000000");
  EXPECT_EQ(FloatF(-1.2345678901234567e19), "-12345678901234567000");
  EXPECT_EQ(FloatF(5e-324), "0." + std::string(323, '0') + "5");
}

TEST(GoJsonFloat, FixedBetweenAMillionthAnd1e21ElseAnExponent) {
  EXPECT_EQ(JsonFloat(0), "0");
  EXPECT_EQ(JsonFloat(1e-6), "0.000001");
  EXPECT_EQ(JsonFloat(1e-7), "1e-7");
  EXPECT_EQ(JsonFloat(1.2345678901234568e20), "123456789012345680000");
  EXPECT_EQ(JsonFloat(1e21), "1e+21");
  EXPECT_EQ(JsonFloat(-2.5e-10), "-2.5e-10");
  EXPECT_EQ(JsonFloat(1.7976931348623157e308), "1.7976931348623157e+308");
}

}  // namespace
}  // namespace skidder::lang::go
