// RFC 3339 timestamps as container runtimes write them, parsed without strptime or allocation.
//
// Pure functions, callable from any thread. Used by the CRI and docker json-file parsers, which
// run once per log line, so this is written for speed: fixed-position digits and Howard
// Hinnant's days-from-civil instead of the C library's locale- and timezone-aware machinery.
#pragma once

#include <cstdint>
#include <string_view>

namespace skidder::formats {

// Parses "YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+hh:mm|-hh:mm)" (also lower-case t/z) into Unix
// nanoseconds. On failure returns false and sets *why to a static description.
bool ParseRfc3339Nano(std::string_view text, int64_t* out_ns, const char** why);

// Days since 1970-01-01 of a proleptic Gregorian date (no range checks).
constexpr int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace skidder::formats
