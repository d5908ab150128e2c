#include "formats/timestamp.h"

#include <cstring>

namespace skidder::formats {
namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;

// Reads n ASCII digits at p; false on any non-digit.
inline bool Digits(const char* p, int n, int* out) {
  int v = 0;
  for (int i = 0; i < n; ++i) {
    unsigned d = static_cast<unsigned char>(p[i]) - '0';
    if (d > 9) return false;
    v = v * 10 + static_cast<int>(d);
  }
  *out = v;
  return true;
}

constexpr bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// The lines of a file are mostly stamped within the same second as the line before: the seconds
// part, "YYYY-MM-DDTHH:MM:SS" (19 bytes), once checked and converted is remembered per thread and
// the next line's compared with it as bytes. The twelve digit checks, the range checks and the
// calendar arithmetic were more than half of the parse. Only a valid part is remembered.
constexpr size_t kSecondsLen = 19;
struct SecondsMemo {
  char text[kSecondsLen] = {};
  int64_t secs = 0;  // of text, before the zone offset
  bool valid = false;
};
thread_local SecondsMemo t_seconds;

// Checks and converts the seconds part at p (kSecondsLen bytes); false with *why on error.
bool ParseSeconds(const char* p, int64_t* secs, const char** why) {
  int year, month, day, hour, minute, second;
  if (!Digits(p, 4, &year) || p[4] != '-' || !Digits(p + 5, 2, &month) || p[7] != '-' ||
      !Digits(p + 8, 2, &day) || (p[10] != 'T' && p[10] != 't') || !Digits(p + 11, 2, &hour) ||
      p[13] != ':' || !Digits(p + 14, 2, &minute) || p[16] != ':' || !Digits(p + 17, 2, &second)) {
    *why = "timestamp is not YYYY-MM-DDTHH:MM:SS";
    return false;
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 ||
      minute > 59 || second > 59) {
    *why = "timestamp field out of range";
    return false;
  }
  // int64 nanoseconds span 1677-09-21 to 2262-04-11; stay well inside.
  if (year < 1678 || year > 2261) {
    *why = "timestamp year outside 1678..2261";
    return false;
  }
  const int64_t days =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  *secs = days * 86400 + hour * 3600 + minute * 60 + second;
  return true;
}

}  // namespace

bool ParseRfc3339Nano(std::string_view s, int64_t* out_ns, const char** why) {
  // The fixed part "YYYY-MM-DDTHH:MM:SS" is 19 bytes; the shortest zone is "Z".
  if (s.size() < 20) {
    *why = "timestamp too short";
    return false;
  }
  const char* p = s.data();
  SecondsMemo& memo = t_seconds;
  int64_t secs;
  if (memo.valid && std::memcmp(p, memo.text, kSecondsLen) == 0) {
    secs = memo.secs;
  } else {
    if (!ParseSeconds(p, &secs, why)) return false;
    std::memcpy(memo.text, p, kSecondsLen);
    memo.secs = secs;
    memo.valid = true;
  }
  size_t i = kSecondsLen;
  int64_t frac = 0;
  if (s[i] == '.') {
    ++i;
    size_t start = i;
    while (i < s.size() && static_cast<unsigned>(s[i] - '0') <= 9) {
      if (i - start >= 9) {
        *why = "more than 9 fraction digits";
        return false;
      }
      frac = frac * 10 + (s[i] - '0');
      ++i;
    }
    if (i == start) {
      *why = "no digits after the decimal point";
      return false;
    }
    for (size_t n = i - start; n < 9; ++n) frac *= 10;
  }
  int64_t offset_s = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i + 6 <= s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (!Digits(s.data() + i + 1, 2, &oh) || s[i + 3] != ':' || !Digits(s.data() + i + 4, 2, &om) ||
        oh > 23 || om > 59) {
      *why = "bad zone offset";
      return false;
    }
    offset_s = (oh * 3600 + om * 60) * (s[i] == '+' ? 1 : -1);
    i += 6;
  } else {
    *why = "missing zone (Z or +hh:mm)";
    return false;
  }
  if (i != s.size()) {
    *why = "trailing characters after the zone";
    return false;
  }
  *out_ns = (secs - offset_s) * kNsPerSecond + frac;
  return true;
}

}  // namespace skidder::formats
