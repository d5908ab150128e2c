// Go time layouts and TZif zones on their own; the timestamp stage's tests are in
// tests/unit/pipeline.
#include "lang/go/go_time.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <iterator>
#include <optional>
#include <random>
#include <string>

#include "lang/go/tzif.h"

namespace skidder::lang::go {
namespace {

// Seeded random layouts and values: parsing never crashes and never reads past the value.
TEST(GoLayout, SurvivesRandomLayoutsAndValues) {
  const char* pieces[] = {"2006", "06",   "01",     "1",    "Jan",   "January", "02",     "_2",
                          "2",    "__2",  "002",    "15",   "03",    "3",       "04",     "05",
                          ".000", ".999", ",0",     "PM",   "pm",    "MST",     "Z07:00", "-0700",
                          "-07",  "Mon",  "Monday", " ",    "-",     ":",       "T",      "Z",
                          "+",    "9",    "0",      "CEST", "GMT+3", "x"};
  std::mt19937 rng(42);
  auto random_text = [&](int max) {
    std::string s;
    const int n = static_cast<int>(rng() % static_cast<unsigned>(max));
    for (int k = 0; k < n; ++k) s += pieces[rng() % std::size(pieces)];
    return s;
  };
  auto zone = LoadZone("Europe/Berlin");
  ASSERT_TRUE(zone.has_value());
  for (int i = 0; i < 5000; ++i) {
    GoLayout layout(random_text(8));
    const std::string value = random_text(10);
    int64_t ns = 0;
    layout.Parse(value, zone->get(), &ns);
    GoLayout same(layout.layout());
    layout.Parse(same.layout(), nullptr, &ns);  // a layout parses as its own value, often
  }
}

}  // namespace
// Go's time.Local: $TZ when set ("" is UTC, ":" before a name is dropped, an absolute path is
// that file, a name that does not load is UTC), else /etc/localtime.
TEST(LoadZone, LocalFollowsTzAsGoDoes) {
  const char* was = std::getenv("TZ");
  const std::optional<std::string> saved =
      was != nullptr ? std::optional<std::string>(was) : std::nullopt;
  const auto offset = [](const char* tz) {
    ::setenv("TZ", tz, 1);
    auto zone = LoadZone("Local");
    return zone ? (*zone)->At(1667865600).type->offset_sec : -1;  // 2022-11-08
  };
  EXPECT_EQ(offset("America/New_York"), -5 * 3600);
  EXPECT_EQ(offset(":Europe/Berlin"), 3600);
  EXPECT_EQ(offset("/usr/share/zoneinfo/Asia/Tokyo"), 9 * 3600);
  EXPECT_EQ(offset(""), 0);
  EXPECT_EQ(offset("No/Such_Zone"), 0);
  if (saved) {
    ::setenv("TZ", saved->c_str(), 1);
  } else {
    ::unsetenv("TZ");
  }
}

}  // namespace skidder::lang::go
