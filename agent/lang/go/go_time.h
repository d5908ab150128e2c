// Go's time.Parse, for the timestamp stage and the template functions: a layout written with
// Go's reference time (Mon Jan 2 15:04:05 -0700 MST 2006) is split once, at config time, into a
// sequence of tokens; parsing walks the tokens over the value without strptime, locale or
// allocation. Behaviour follows Go's time package, including its quirks: runs of spaces match
// runs of spaces, fractional seconds may follow the seconds even when the layout has none, a
// zone abbreviation unknown to the location counts as UTC.
//
// A GoLayout is immutable after construction; Parse() may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lang/go/tzif.h"

namespace skidder::lang::go {

// The wall-clock fields of a parsed value, before they are placed in a zone.
struct GoCivilTime {
  int64_t year = 0;  // 0 when the layout has no year
  int month = 1, day = 1, hour = 0, minute = 0, second = 0;
  int64_t nanos = 0;
  bool has_offset = false;  // a numeric offset or "Z" was parsed
  int32_t offset_sec = 0;
  std::string_view zone_abbr;  // "MST"-style abbreviation, if the layout had one (into value)
};

class GoLayout {
 public:
  // One piece of a layout; kinds follow Go's std* constants (time/format.go).
  struct Token {
    enum Kind {
      kLiteral,
      kLongMonth,
      kMonth,
      kNumMonth,
      kZeroMonth,
      kLongWeekDay,
      kWeekDay,
      kDay,
      kUnderDay,
      kZeroDay,
      kUnderYearDay,
      kZeroYearDay,
      kHour,
      kHour12,
      kZeroHour12,
      kMinute,
      kZeroMinute,
      kSecond,
      kZeroSecond,
      kLongYear,
      kYear,
      kPM,
      kpm,
      kTZ,
      kISO8601TZ,
      kISO8601SecondsTZ,
      kISO8601ShortTZ,
      kISO8601ColonTZ,
      kISO8601ColonSecondsTZ,
      kNumTZ,
      kNumSecondsTz,
      kNumShortTZ,
      kNumColonTZ,
      kNumColonSecondsTZ,
      kFracSecond0,
      kFracSecond9,
    };
    Kind kind;
    std::string literal;        // kLiteral
    int digits = 0;             // kFracSecond*: digits in the layout
    bool next_is_frac = false;  // kSecond/kZeroSecond: a fraction token follows in the layout
  };

  explicit GoLayout(std::string_view layout);

  // Fills *civil from value; false (with a short reason in *error, if given) when it does not
  // match the layout or a field is out of range.
  bool ParseCivil(std::string_view value, GoCivilTime* civil, std::string* error = nullptr) const;
  // Go's time.ParseInLocation: civil fields placed in `zone` (nullptr = UTC) unless the value
  // carries an offset. Unix nanoseconds.
  bool Parse(std::string_view value, const Zone* zone, int64_t* unix_ns,
             std::string* error = nullptr) const;

  // Go's Time.Format: the instant unix_sec + nsec (0..999999999) in zone (nullptr = UTC),
  // appended to *out.
  void Format(int64_t unix_sec, int64_t nsec, const Zone* zone, std::string* out) const;

  bool has_year() const { return has_year_; }
  const std::string& layout() const { return layout_; }

 private:
  std::string layout_;
  std::vector<Token> tokens_;
  bool has_year_ = false;
};

// Unix seconds of the civil time in `zone` (nullptr = UTC), honouring civil.has_offset and
// civil.zone_abbr as Go does; days past the month's end roll over (used to move years).
int64_t GoCivilToUnixSec(const GoCivilTime& civil, const Zone* zone);
// The same in nanoseconds (plus civil.nanos); the caller keeps the year within 1678..2261.
inline int64_t GoCivilToUnixNs(const GoCivilTime& civil, const Zone* zone) {
  return GoCivilToUnixSec(civil, zone) * 1'000'000'000 + civil.nanos;
}

// The layout Go names (ANSIC, RFC3339, Kitchen, StampMilli, ...), or "" when not a name.
std::string_view GoNamedLayout(std::string_view name);

// Days since 1970-01-01 of a proleptic Gregorian date (month may be out of 1..12 and day out of
// the month: both roll over).
int64_t DaysFromCivil(int64_t year, int64_t month, int64_t day);
// The civil date of a day count (inverse of DaysFromCivil).
void CivilFromDays(int64_t days, int64_t* year, int* month, int* day);

}  // namespace skidder::lang::go
