// TZif data that lies about its sizes (found by fuzzing, tests/testdata/fuzz/tzif/crash-*).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "lang/go/tzif.h"

namespace skidder::lang::go {
namespace {

// A version-1 TZif header with the given transition count and one type, followed by `body`.
std::string Header(uint32_t timecnt, const std::string& body) {
  std::string h = "TZif";
  h.append(16, '\0');  // version 1, reserved
  auto be32 = [&](uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) h.push_back(static_cast<char>(v >> shift));
  };
  for (uint32_t v : {0u, 0u, 0u, timecnt, 1u, 4u}) be32(v);  // isut isstd leap time type chars
  return h + body;
}

TEST(Tzif, NegativeOrHugeCountsAreAnErrorNotAnAllocation) {
  const std::string body(64, '\0');
  for (uint32_t count : {0xffffff00u, 0x80000000u, 0x7fffffffu, 1000u}) {
    auto zone = Zone::FromTzif("Bad/Zone", Header(count, body));
    ASSERT_FALSE(zone.has_value()) << count;
    EXPECT_NE(zone.error().message().find("not a valid TZif file"), std::string::npos);
  }
}

TEST(Tzif, HonestSmallFileStillLoads) {
  // No transitions, one type (UTC+1, "ABC").
  std::string body = std::string("\0\0\x0e\x10\0\0", 6) + std::string("ABC\0", 4);
  auto zone = Zone::FromTzif("Ok/Zone", Header(0, body));
  ASSERT_TRUE(zone.has_value()) << zone.error().message();
  EXPECT_EQ((*zone)->At(0).type->offset_sec, 3600);
  EXPECT_EQ((*zone)->At(0).type->abbr, "ABC");
}

}  // namespace
}  // namespace skidder::lang::go
