#include <utility>

#include "lang/go/go_time.h"

// go_time.h's calendar half: civil dates to Unix time and back, zones, and Go's named layouts.
namespace skidder::lang::go {

int64_t GoCivilToUnixSec(const GoCivilTime& c, const Zone* zone) {
  const int64_t local =
      DaysFromCivil(c.year, c.month, c.day) * 86400 + c.hour * 3600 + c.minute * 60 + c.second;
  int64_t unix = local;
  if (c.has_offset) {
    unix = local - c.offset_sec;
  } else if (!c.zone_abbr.empty()) {
    // Go: an abbreviation the location knows (near that time) gives its offset; "GMT+h" gives
    // h hours; anything else is taken as UTC.
    int32_t off = 0;
    if (zone == nullptr || !zone->OffsetOfAbbr(c.zone_abbr, local, &off)) {
      off = 0;
      if (c.zone_abbr.size() > 3 && c.zone_abbr.substr(0, 3) == "GMT") {
        std::string_view h = c.zone_abbr.substr(4);
        int n = 0;
        for (char ch : h) n = n * 10 + (ch - '0');
        off = (c.zone_abbr[3] == '-' ? -n : n) * 3600;
      }
    }
    unix = local - off;
  } else if (zone != nullptr) {
    unix = zone->LocalToUnix(local);
  }
  return unix;
}

std::string_view GoNamedLayout(std::string_view name) {
  static constexpr std::pair<std::string_view, std::string_view> kNamed[] = {
      {"ANSIC", "Mon Jan _2 15:04:05 2006"},
      {"UnixDate", "Mon Jan _2 15:04:05 MST 2006"},
      {"RubyDate", "Mon Jan 02 15:04:05 -0700 2006"},
      {"RFC822", "02 Jan 06 15:04 MST"},
      {"RFC822Z", "02 Jan 06 15:04 -0700"},
      {"RFC850", "Monday, 02-Jan-06 15:04:05 MST"},
      {"RFC1123", "Mon, 02 Jan 2006 15:04:05 MST"},
      {"RFC1123Z", "Mon, 02 Jan 2006 15:04:05 -0700"},
      {"RFC3339", "2006-01-02T15:04:05Z07:00"},
      {"RFC3339Nano", "2006-01-02T15:04:05.999999999Z07:00"},
      {"Kitchen", "3:04PM"},
      {"Stamp", "Jan _2 15:04:05"},
      {"StampMilli", "Jan _2 15:04:05.000"},
      {"StampMicro", "Jan _2 15:04:05.000000"},
      {"StampNano", "Jan _2 15:04:05.000000000"},
  };
  for (const auto& [n, layout] : kNamed) {
    if (n == name) return layout;
  }
  return {};
}

// Howard Hinnant's days_from_civil / civil_from_days.
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  // Normalise the month first so callers can pass month 13 or 0.
  y += (m - 1) >= 0 ? (m - 1) / 12 : -((12 - m) / 12);
  m = ((m - 1) % 12 + 12) % 12 + 1;
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5;  // day 1 of the month
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468 + (d - 1);
}

void CivilFromDays(int64_t z, int64_t* year, int* month, int* day) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *year = yoe + era * 400 + (*month <= 2);
}

}  // namespace skidder::lang::go
