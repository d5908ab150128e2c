#include "lang/go/go_time.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <string>
#include <utility>

namespace skidder::lang::go {

namespace {

using LayoutToken = GoLayout::Token;

constexpr std::array<std::string_view, 12> kLongMonths = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};
constexpr std::array<std::string_view, 12> kShortMonths = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::array<std::string_view, 7> kLongDays = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                       "Thursday", "Friday", "Saturday"};
constexpr std::array<std::string_view, 7> kShortDays = {"Sun", "Mon", "Tue", "Wed",
                                                        "Thu", "Fri", "Sat"};

bool IsDigitAt(std::string_view s, size_t i) { return i < s.size() && s[i] >= '0' && s[i] <= '9'; }
bool StartsLower(std::string_view s) { return !s.empty() && s[0] >= 'a' && s[0] <= 'z'; }
bool CommaOrPeriod(char c) { return c == '.' || c == ','; }

// Go's nextStdChunk: the std token starting at layout[i] and its length; kLiteral when none.
std::pair<LayoutToken::Kind, size_t> StdAt(std::string_view l, size_t i, int* digits) {
  auto at = [&](std::string_view w) { return l.substr(i, w.size()) == w; };
  switch (l[i]) {
    case 'J':
      if (at("January")) return {LayoutToken::kLongMonth, 7};
      if (at("Jan") && !StartsLower(l.substr(i + 3))) return {LayoutToken::kMonth, 3};
      break;
    case 'M':
      if (at("Monday")) return {LayoutToken::kLongWeekDay, 6};
      if (at("Mon") && !StartsLower(l.substr(i + 3))) return {LayoutToken::kWeekDay, 3};
      if (at("MST")) return {LayoutToken::kTZ, 3};
      break;
    case '0':
      if (i + 1 < l.size() && l[i + 1] >= '1' && l[i + 1] <= '6') {
        static constexpr LayoutToken::Kind k0x[] = {
            LayoutToken::kZeroMonth,  LayoutToken::kZeroDay,    LayoutToken::kZeroHour12,
            LayoutToken::kZeroMinute, LayoutToken::kZeroSecond, LayoutToken::kYear};
        return {k0x[l[i + 1] - '1'], 2};
      }
      if (at("002")) return {LayoutToken::kZeroYearDay, 3};
      break;
    case '1':
      if (at("15")) return {LayoutToken::kHour, 2};
      return {LayoutToken::kNumMonth, 1};
    case '2':
      if (at("2006")) return {LayoutToken::kLongYear, 4};
      return {LayoutToken::kDay, 1};
    case '_':
      if (at("_2")) {
        if (at("_2006")) return {LayoutToken::kLiteral, 0};  // a literal "_" then the year
        return {LayoutToken::kUnderDay, 2};
      }
      if (at("__2")) return {LayoutToken::kUnderYearDay, 3};
      break;
    case '3':
      return {LayoutToken::kHour12, 1};
    case '4':
      return {LayoutToken::kMinute, 1};
    case '5':
      return {LayoutToken::kSecond, 1};
    case 'P':
      if (at("PM")) return {LayoutToken::kPM, 2};
      break;
    case 'p':
      if (at("pm")) return {LayoutToken::kpm, 2};
      break;
    case '-':
      if (at("-070000")) return {LayoutToken::kNumSecondsTz, 7};
      if (at("-07:00:00")) return {LayoutToken::kNumColonSecondsTZ, 9};
      if (at("-0700")) return {LayoutToken::kNumTZ, 5};
      if (at("-07:00")) return {LayoutToken::kNumColonTZ, 6};
      if (at("-07")) return {LayoutToken::kNumShortTZ, 3};
      break;
    case 'Z':
      if (at("Z070000")) return {LayoutToken::kISO8601SecondsTZ, 7};
      if (at("Z07:00:00")) return {LayoutToken::kISO8601ColonSecondsTZ, 9};
      if (at("Z0700")) return {LayoutToken::kISO8601TZ, 5};
      if (at("Z07:00")) return {LayoutToken::kISO8601ColonTZ, 6};
      if (at("Z07")) return {LayoutToken::kISO8601ShortTZ, 3};
      break;
    case '.':
    case ',':
      if (i + 1 < l.size() && (l[i + 1] == '0' || l[i + 1] == '9')) {
        const char ch = l[i + 1];
        size_t j = i + 1;
        while (j < l.size() && l[j] == ch) ++j;
        if (!IsDigitAt(l, j)) {  // only a fraction when the digit run ends here
          *digits = static_cast<int>(j - (i + 1));
          return {ch == '0' ? LayoutToken::kFracSecond0 : LayoutToken::kFracSecond9, j - i};
        }
      }
      break;
    default:
      break;
  }
  return {LayoutToken::kLiteral, 0};
}

// Go's getnum: one or two digits (exactly two when fixed).
bool GetNum(std::string_view& v, bool fixed, int* out) {
  if (!IsDigitAt(v, 0)) return false;
  if (!IsDigitAt(v, 1)) {
    if (fixed) return false;
    *out = v[0] - '0';
    v.remove_prefix(1);
    return true;
  }
  *out = (v[0] - '0') * 10 + (v[1] - '0');
  v.remove_prefix(2);
  return true;
}

bool GetNum3(std::string_view& v, bool fixed, int* out) {
  int n = 0, i = 0;
  for (; i < 3 && IsDigitAt(v, static_cast<size_t>(i)); ++i)
    n = n * 10 + (v[static_cast<size_t>(i)] - '0');
  if (i == 0 || (fixed && i != 3)) return false;
  *out = n;
  v.remove_prefix(static_cast<size_t>(i));
  return true;
}

template <size_t N>
bool Lookup(const std::array<std::string_view, N>& table, std::string_view& v, int* index) {
  for (size_t i = 0; i < N; ++i) {
    std::string_view name = table[i];
    if (v.size() < name.size()) continue;
    bool eq = true;
    for (size_t k = 0; k < name.size() && eq; ++k) {
      eq = (v[k] | 0x20) == (name[k] | 0x20);  // Go's match(): ASCII case folding
    }
    if (eq) {
      *index = static_cast<int>(i);
      v.remove_prefix(name.size());
      return true;
    }
  }
  return false;
}

// Go's skip(): literal text, where a run of spaces matches a run of spaces.
bool SkipLiteral(std::string_view& v, std::string_view prefix) {
  while (!prefix.empty()) {
    if (prefix[0] == ' ') {
      if (!v.empty() && v[0] != ' ') return false;
      while (!prefix.empty() && prefix[0] == ' ') prefix.remove_prefix(1);
      while (!v.empty() && v[0] == ' ') v.remove_prefix(1);
      continue;
    }
    if (v.empty() || v[0] != prefix[0]) return false;
    prefix.remove_prefix(1);
    v.remove_prefix(1);
  }
  return true;
}

// Go's parseNanoseconds: v starts with '.' or ',' and n-1 digits follow.
bool ParseNanos(std::string_view v, size_t n, int64_t* out) {
  if (v.empty() || !CommaOrPeriod(v[0])) return false;
  if (n > 10) n = 10;  // at most nanoseconds
  int64_t ns = 0;
  size_t i = 1;
  for (; i < n; ++i) {
    if (!IsDigitAt(v, i)) return false;
    ns = ns * 10 + (v[i] - '0');
  }
  for (; i < 10; ++i) ns *= 10;
  *out = ns;
  return true;
}

// Go's parseSignedOffset: "+3", "-10" (|h| < 24); the length consumed, 0 when not an offset.
size_t SignedOffsetLen(std::string_view v) {
  if (v.empty() || (v[0] != '+' && v[0] != '-')) return 0;
  size_t i = 1;
  int n = 0;
  while (IsDigitAt(v, i) && i < 4) n = n * 10 + (v[i++] - '0');
  if (i == 1 || n > 23) return 0;
  return i;
}

// Go's parseTimeZone: the length of a zone abbreviation at the start of v, 0 when none.
size_t TimeZoneLen(std::string_view v) {
  if (v.size() < 3) return 0;
  if (v.substr(0, 4) == "ChST" || v.substr(0, 4) == "MeST") return 4;
  if (v.substr(0, 3) == "GMT") return 3 + SignedOffsetLen(v.substr(3));
  if (v[0] == '+' || v[0] == '-') return SignedOffsetLen(v);
  size_t upper = 0;
  while (upper < 6 && upper < v.size() && v[upper] >= 'A' && v[upper] <= 'Z') ++upper;
  if (upper == 3) return 3;
  if (upper == 4 && (v[3] == 'T' || v.substr(0, 4) == "WITA")) return 4;
  if (upper == 5 && v[4] == 'T') return 5;
  return 0;
}

bool IsLeap(int64_t y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

int DaysIn(int month, int64_t year) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeap(year) ? 29 : kDays[month - 1];
}

bool ParseOffset(LayoutToken::Kind k, std::string_view& v, GoCivilTime* c) {
  using T = LayoutToken;
  const bool iso = k == T::kISO8601TZ || k == T::kISO8601ShortTZ || k == T::kISO8601ColonTZ ||
                   k == T::kISO8601SecondsTZ || k == T::kISO8601ColonSecondsTZ;
  if (iso && !v.empty() && v[0] == 'Z') {
    v.remove_prefix(1);
    c->has_offset = true;
    c->offset_sec = 0;
    return true;
  }
  std::string_view hh, mm = "00", ss = "00";
  size_t len = 0;
  if (k == T::kISO8601ColonTZ || k == T::kNumColonTZ) {
    if (v.size() < 6 || v[3] != ':') return false;
    hh = v.substr(1, 2), mm = v.substr(4, 2), len = 6;
  } else if (k == T::kNumShortTZ || k == T::kISO8601ShortTZ) {
    if (v.size() < 3) return false;
    hh = v.substr(1, 2), len = 3;
  } else if (k == T::kISO8601ColonSecondsTZ || k == T::kNumColonSecondsTZ) {
    if (v.size() < 9 || v[3] != ':' || v[6] != ':') return false;
    hh = v.substr(1, 2), mm = v.substr(4, 2), ss = v.substr(7, 2), len = 9;
  } else if (k == T::kISO8601SecondsTZ || k == T::kNumSecondsTz) {
    if (v.size() < 7) return false;
    hh = v.substr(1, 2), mm = v.substr(3, 2), ss = v.substr(5, 2), len = 7;
  } else {
    if (v.size() < 5) return false;
    hh = v.substr(1, 2), mm = v.substr(3, 2), len = 5;
  }
  int h = 0, m = 0, s = 0;
  if (!GetNum(hh, true, &h) || !GetNum(mm, true, &m) || !GetNum(ss, true, &s)) return false;
  if (h > 24 || m > 60 || s > 60) return false;
  const char sign = v[0];
  if (sign != '+' && sign != '-') return false;
  c->has_offset = true;
  c->offset_sec = ((h * 60 + m) * 60 + s) * (sign == '-' ? -1 : 1);
  v.remove_prefix(len);
  return true;
}

}  // namespace

GoLayout::GoLayout(std::string_view layout) : layout_(layout) {
  std::string lit;
  size_t i = 0;
  while (i < layout.size()) {
    int digits = 0;
    auto [kind, len] = StdAt(layout, i, &digits);
    if (kind == LayoutToken::kLiteral) {
      lit.push_back(layout[i++]);
      continue;
    }
    if (!lit.empty())
      tokens_.push_back(LayoutToken{LayoutToken::kLiteral, std::exchange(lit, {}), 0, false});
    // A fraction keeps its separator ('.' or ','), which Format writes.
    const bool frac = kind == LayoutToken::kFracSecond0 || kind == LayoutToken::kFracSecond9;
    tokens_.push_back(
        LayoutToken{kind, frac ? std::string(1, layout[i]) : std::string(), digits, false});
    if (kind == LayoutToken::kLongYear || kind == LayoutToken::kYear) has_year_ = true;
    i += len;
  }
  if (!lit.empty()) tokens_.push_back(LayoutToken{LayoutToken::kLiteral, std::move(lit), 0, false});
  for (size_t t = 0; t < tokens_.size(); ++t) {
    if (tokens_[t].kind != LayoutToken::kSecond && tokens_[t].kind != LayoutToken::kZeroSecond)
      continue;
    size_t n = t + 1;
    while (n < tokens_.size() && tokens_[n].kind == LayoutToken::kLiteral) ++n;
    tokens_[t].next_is_frac = n < tokens_.size() && (tokens_[n].kind == LayoutToken::kFracSecond0 ||
                                                     tokens_[n].kind == LayoutToken::kFracSecond9);
  }
}

bool GoLayout::ParseCivil(std::string_view v, GoCivilTime* c, std::string* error) const {
  auto fail = [&](const char* why) {
    if (error != nullptr) *error = why;
    return false;
  };
  *c = GoCivilTime{};
  int month = -1, day = -1, yday = -1, n = 0;
  bool pm = false, am = false;
  for (const LayoutToken& t : tokens_) {
    switch (t.kind) {
      case LayoutToken::kLiteral:
        if (!SkipLiteral(v, t.literal)) return fail("does not match the layout");
        break;
      case LayoutToken::kYear:
        if (!IsDigitAt(v, 0) || !IsDigitAt(v, 1)) return fail("bad year");
        n = (v[0] - '0') * 10 + (v[1] - '0');
        c->year = n >= 69 ? 1900 + n : 2000 + n;
        v.remove_prefix(2);
        break;
      case LayoutToken::kLongYear:
        if (v.size() < 4) return fail("bad year");
        c->year = 0;
        for (size_t i = 0; i < 4; ++i) {
          if (!IsDigitAt(v, i)) return fail("bad year");
          c->year = c->year * 10 + (v[i] - '0');
        }
        v.remove_prefix(4);
        break;
      case LayoutToken::kMonth:
        if (!Lookup(kShortMonths, v, &month)) return fail("bad month");
        ++month;
        break;
      case LayoutToken::kLongMonth:
        if (!Lookup(kLongMonths, v, &month)) return fail("bad month");
        ++month;
        break;
      case LayoutToken::kNumMonth:
      case LayoutToken::kZeroMonth:
        if (!GetNum(v, t.kind == LayoutToken::kZeroMonth, &month)) return fail("bad month");
        if (month <= 0 || month > 12) return fail("month out of range");
        break;
      case LayoutToken::kWeekDay:  // parsed, then ignored, as in Go
        if (!Lookup(kShortDays, v, &n)) return fail("bad day of week");
        break;
      case LayoutToken::kLongWeekDay:
        if (!Lookup(kLongDays, v, &n)) return fail("bad day of week");
        break;
      case LayoutToken::kDay:
      case LayoutToken::kUnderDay:
      case LayoutToken::kZeroDay:
        if (t.kind == LayoutToken::kUnderDay && !v.empty() && v[0] == ' ') v.remove_prefix(1);
        if (!GetNum(v, t.kind == LayoutToken::kZeroDay, &day)) return fail("bad day");
        break;
      case LayoutToken::kUnderYearDay:
      case LayoutToken::kZeroYearDay:
        for (int i = 0; i < 2; ++i) {
          if (t.kind == LayoutToken::kUnderYearDay && !v.empty() && v[0] == ' ') v.remove_prefix(1);
        }
        if (!GetNum3(v, t.kind == LayoutToken::kZeroYearDay, &yday)) return fail("bad day of year");
        break;
      case LayoutToken::kHour:
        if (!GetNum(v, false, &c->hour)) return fail("bad hour");
        if (c->hour >= 24) return fail("hour out of range");
        break;
      case LayoutToken::kHour12:
      case LayoutToken::kZeroHour12:
        if (!GetNum(v, t.kind == LayoutToken::kZeroHour12, &c->hour)) return fail("bad hour");
        if (c->hour > 12) return fail("hour out of range");
        break;
      case LayoutToken::kMinute:
      case LayoutToken::kZeroMinute:
        if (!GetNum(v, t.kind == LayoutToken::kZeroMinute, &c->minute)) return fail("bad minute");
        if (c->minute >= 60) return fail("minute out of range");
        break;
      case LayoutToken::kSecond:
      case LayoutToken::kZeroSecond:
        if (!GetNum(v, t.kind == LayoutToken::kZeroSecond, &c->second)) return fail("bad second");
        if (c->second >= 60) return fail("second out of range");
        // Go accepts a fraction after the seconds even when the layout has none.
        if (!t.next_is_frac && v.size() >= 2 && CommaOrPeriod(v[0]) && IsDigitAt(v, 1)) {
          size_t k = 2;
          while (IsDigitAt(v, k)) ++k;
          if (!ParseNanos(v, k, &c->nanos)) return fail("bad fractional second");
          v.remove_prefix(k);
        }
        break;
      case LayoutToken::kPM:
      case LayoutToken::kpm: {
        if (v.size() < 2) return fail("bad AM/PM");
        const std::string_view p = v.substr(0, 2);
        const bool upper = t.kind == LayoutToken::kPM;
        if (p == (upper ? "PM" : "pm"))
          pm = true;
        else if (p == (upper ? "AM" : "am"))
          am = true;
        else
          return fail("bad AM/PM");
        v.remove_prefix(2);
        break;
      }
      case LayoutToken::kTZ:
        if (v.substr(0, 3) == "UTC") {
          c->has_offset = true;
          c->offset_sec = 0;
          v.remove_prefix(3);
          break;
        }
        n = static_cast<int>(TimeZoneLen(v));
        if (n == 0) return fail("bad time zone");
        c->zone_abbr = v.substr(0, static_cast<size_t>(n));
        v.remove_prefix(static_cast<size_t>(n));
        break;
      case LayoutToken::kFracSecond0: {
        const size_t nd = 1 + static_cast<size_t>(t.digits);
        if (v.size() < nd || !ParseNanos(v, nd, &c->nanos)) return fail("bad fractional second");
        v.remove_prefix(nd);
        break;
      }
      case LayoutToken::kFracSecond9: {
        if (v.size() < 2 || !CommaOrPeriod(v[0]) || !IsDigitAt(v, 1)) break;  // omitted
        size_t k = 1;
        while (IsDigitAt(v, k)) ++k;
        if (!ParseNanos(v, k, &c->nanos)) return fail("bad fractional second");
        v.remove_prefix(k);
        break;
      }
      default:
        if (!ParseOffset(t.kind, v, c)) return fail("bad time zone offset");
        break;
    }
  }
  if (!v.empty()) return fail("extra text after the layout");
  if (pm && c->hour < 12)
    c->hour += 12;
  else if (am && c->hour == 12)
    c->hour = 0;
  if (yday >= 0) {
    int64_t y = 0;
    int m = 0, d = 0;
    if (yday < 1 || yday > (IsLeap(c->year) ? 366 : 365)) return fail("day-of-year out of range");
    CivilFromDays(DaysFromCivil(c->year, 1, 1) + yday - 1, &y, &m, &d);
    if (month >= 0 && month != m) return fail("day-of-year does not match month");
    if (day >= 0 && day != d) return fail("day-of-year does not match day");
    month = m, day = d;
  }
  c->month = month < 0 ? 1 : month;
  c->day = day < 0 ? 1 : day;
  if (c->day < 1 || c->day > DaysIn(c->month, c->year)) return fail("day out of range");
  return true;
}

bool GoLayout::Parse(std::string_view value, const Zone* zone, int64_t* unix_ns,
                     std::string* error) const {
  GoCivilTime c;
  if (!ParseCivil(value, &c, error)) return false;
  if (c.year < 1678 || c.year > 2261) {  // outside int64 nanoseconds
    if (error != nullptr) *error = "year out of range";
    return false;
  }
  *unix_ns = GoCivilToUnixNs(c, zone);
  return true;
}

// Go's Time.AppendFormat (time/format.go), token by token.
void GoLayout::Format(int64_t unix_sec, int64_t nsec, const Zone* zone, std::string* out) const {
  int32_t offset = 0;
  std::string_view abbr = "UTC";
  if (zone != nullptr) {
    const Zone::Lookup at = zone->At(unix_sec);
    offset = at.type->offset_sec;
    abbr = at.type->abbr;
  }
  const int64_t local = unix_sec + offset;
  const int64_t days = local / 86400 - (local % 86400 < 0);
  const int64_t secs = local - days * 86400;
  int64_t year = 0;
  int month = 0, day = 0;
  CivilFromDays(days, &year, &month, &day);
  const int hour = static_cast<int>(secs / 3600), minute = static_cast<int>(secs / 60 % 60),
            second = static_cast<int>(secs % 60);
  const auto num = [out](int64_t v, int width, char pad = '0') {  // Go's appendInt
    if (v < 0) {
      out->push_back('-');
      v = -v;
    }
    char digits[24];
    const size_t n =
        static_cast<size_t>(std::to_chars(digits, digits + sizeof(digits), v).ptr - digits);
    if (n < static_cast<size_t>(width)) out->append(static_cast<size_t>(width) - n, pad);
    out->append(digits, n);
  };
  const auto zone_offset = [&](LayoutToken::Kind k) {
    const bool iso = k == LayoutToken::kISO8601TZ || k == LayoutToken::kISO8601ColonTZ ||
                     k == LayoutToken::kISO8601SecondsTZ || k == LayoutToken::kISO8601ShortTZ ||
                     k == LayoutToken::kISO8601ColonSecondsTZ;
    if (iso && offset == 0) {
      out->push_back('Z');
      return;
    }
    const int32_t abs = offset < 0 ? -offset : offset;
    out->push_back(offset < 0 ? '-' : '+');
    num(abs / 3600, 2);
    const bool colon = k == LayoutToken::kISO8601ColonTZ || k == LayoutToken::kNumColonTZ ||
                       k == LayoutToken::kISO8601ColonSecondsTZ ||
                       k == LayoutToken::kNumColonSecondsTZ;
    if (k == LayoutToken::kISO8601ShortTZ || k == LayoutToken::kNumShortTZ) return;
    if (colon) out->push_back(':');
    num(abs / 60 % 60, 2);
    if (k == LayoutToken::kISO8601SecondsTZ || k == LayoutToken::kNumSecondsTz ||
        k == LayoutToken::kISO8601ColonSecondsTZ || k == LayoutToken::kNumColonSecondsTZ) {
      if (colon) out->push_back(':');
      num(abs % 60, 2);
    }
  };
  for (const LayoutToken& t : tokens_) {
    switch (t.kind) {
      case LayoutToken::kLiteral:
        out->append(t.literal);
        break;
      case LayoutToken::kYear:
        num((year < 0 ? -year : year) % 100, 2);  // Go: the year's absolute value
        break;
      case LayoutToken::kLongYear:
        num(year, 4);
        break;
      case LayoutToken::kMonth:
        out->append(kShortMonths[static_cast<size_t>(month - 1)]);
        break;
      case LayoutToken::kLongMonth:
        out->append(kLongMonths[static_cast<size_t>(month - 1)]);
        break;
      case LayoutToken::kNumMonth:
        num(month, 0);
        break;
      case LayoutToken::kZeroMonth:
        num(month, 2);
        break;
      case LayoutToken::kWeekDay:
      case LayoutToken::kLongWeekDay: {
        const size_t wd = static_cast<size_t>(((days % 7) + 7 + 4) % 7);  // 1970-01-01: Thursday
        out->append(t.kind == LayoutToken::kWeekDay ? kShortDays[wd] : kLongDays[wd]);
        break;
      }
      case LayoutToken::kDay:
        num(day, 0);
        break;
      case LayoutToken::kUnderDay:
        num(day, 2, ' ');
        break;
      case LayoutToken::kZeroDay:
        num(day, 2);
        break;
      case LayoutToken::kUnderYearDay:
      case LayoutToken::kZeroYearDay:
        num(days - DaysFromCivil(year, 1, 1) + 1, 3,
            t.kind == LayoutToken::kUnderYearDay ? ' ' : '0');
        break;
      case LayoutToken::kHour:
        num(hour, 2);
        break;
      case LayoutToken::kHour12:
      case LayoutToken::kZeroHour12:
        num(hour % 12 == 0 ? 12 : hour % 12, t.kind == LayoutToken::kZeroHour12 ? 2 : 0);
        break;
      case LayoutToken::kMinute:
        num(minute, 0);
        break;
      case LayoutToken::kZeroMinute:
        num(minute, 2);
        break;
      case LayoutToken::kSecond:
        num(second, 0);
        break;
      case LayoutToken::kZeroSecond:
        num(second, 2);
        break;
      case LayoutToken::kPM:
        out->append(hour >= 12 ? "PM" : "AM");
        break;
      case LayoutToken::kpm:
        out->append(hour >= 12 ? "pm" : "am");
        break;
      case LayoutToken::kTZ:
        if (!abbr.empty()) {
          out->append(abbr);
        } else {  // Go: the offset as -0700 when the zone has no name
          zone_offset(LayoutToken::kNumTZ);
        }
        break;
      case LayoutToken::kFracSecond0:
      case LayoutToken::kFracSecond9: {
        std::string frac = std::to_string(nsec);
        frac.insert(0, 9 - std::min<size_t>(frac.size(), 9), '0');
        frac.resize(static_cast<size_t>(std::min(t.digits, 9)));
        if (t.kind == LayoutToken::kFracSecond9) {
          while (!frac.empty() && frac.back() == '0') frac.pop_back();
          if (frac.empty()) break;
        }
        out->append(t.literal);
        out->append(frac);
        break;
      }
      default:
        zone_offset(t.kind);
        break;
    }
  }
}

}  // namespace skidder::lang::go
