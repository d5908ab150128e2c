#include "sources/syslog/parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <climits>

namespace skidder::sources::syslog {
namespace {

// A cursor over the input; every read is bounds-checked, so no input can run past the end.
class Cursor {
 public:
  explicit Cursor(std::string_view in) : in_(in) {}
  bool AtEnd() const { return pos_ >= in_.size(); }
  char Peek() const { return AtEnd() ? '\0' : in_[pos_]; }
  bool Eat(char c) {
    if (AtEnd() || in_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  // Up to max digits (at least min) as a number; false if fewer than min.
  bool Digits(size_t min, size_t max, int64_t* out) {
    size_t n = 0;
    int64_t v = 0;
    while (n < max && !AtEnd() && in_[pos_] >= '0' && in_[pos_] <= '9') {
      v = v * 10 + (in_[pos_++] - '0');
      ++n;
    }
    *out = v;
    return n >= min;
  }
  // Bytes up to the next space (or the end); must be 1..max printable US-ASCII.
  bool Token(size_t max, std::string_view* out) {
    size_t start = pos_;
    while (!AtEnd() && in_[pos_] != ' ') {
      unsigned char c = static_cast<unsigned char>(in_[pos_]);
      if (c < 33 || c > 126) return false;
      ++pos_;
    }
    *out = in_.substr(start, pos_ - start);
    return !out->empty() && out->size() <= max;
  }
  std::string_view Rest() const { return AtEnd() ? std::string_view() : in_.substr(pos_); }
  size_t pos() const { return pos_; }
  void Skip(size_t n) { pos_ = std::min(in_.size(), pos_ + n); }
  std::string_view Slice(size_t n) const { return in_.substr(pos_, n); }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

Status Fail(const Cursor& c, std::string_view what) {
  return Status(StatusCode::kInvalidArgument,
                fmt::format("expecting {} at byte {}", what, c.pos()));
}

constexpr int64_t kNoTimestamp = INT64_MIN;

bool ReadPri(Cursor& c, int* out) {
  int64_t v = 0;
  if (!c.Eat('<') || !c.Digits(1, 3, &v) || !c.Eat('>') || v > 191) return false;
  *out = static_cast<int>(v);
  return true;
}

int64_t UnixSeconds(int64_t y, int64_t mo, int64_t d, int64_t h, int64_t mi, int64_t s) {
  using namespace std::chrono;
  const sys_days day{year{static_cast<int>(y)} / month{static_cast<unsigned>(mo)} /
                     std::chrono::day{static_cast<unsigned>(d)}};
  return day.time_since_epoch().count() * 86400 + h * 3600 + mi * 60 + s;
}

bool ValidDate(int64_t y, int64_t mo, int64_t d) {
  using namespace std::chrono;
  return mo >= 1 && mo <= 12 && d >= 1 &&
         year_month_day{year{static_cast<int>(y)}, month{static_cast<unsigned>(mo)},
                        std::chrono::day{static_cast<unsigned>(d)}}
             .ok();
}

// hh:mm:ss; false when out of range.
bool ReadClock(Cursor& c, int64_t* h, int64_t* mi, int64_t* s) {
  return c.Digits(2, 2, h) && c.Eat(':') && c.Digits(2, 2, mi) && c.Eat(':') && c.Digits(2, 2, s) &&
         *h < 24 && *mi < 60 && *s < 60;
}

// RFC 3339 as RFC 5424 restricts it: YYYY-MM-DDThh:mm:ss[.1-6 digits](Z|+hh:mm|-hh:mm).
bool ReadRfc3339(Cursor& c, int64_t* ns) {
  int64_t y, mo, d, h, mi, s, frac = 0, oh = 0, om = 0;
  if (!c.Digits(4, 4, &y) || !c.Eat('-') || !c.Digits(2, 2, &mo) || !c.Eat('-') ||
      !c.Digits(2, 2, &d) || !c.Eat('T') || !ReadClock(c, &h, &mi, &s) || !ValidDate(y, mo, d)) {
    return false;
  }
  if (c.Eat('.')) {
    size_t start = c.pos();
    if (!c.Digits(1, 6, &frac)) return false;
    for (size_t n = c.pos() - start; n < 9; ++n) frac *= 10;
  }
  int sign = 0;
  if (!c.Eat('Z')) {
    sign = c.Eat('+') ? 1 : (c.Eat('-') ? -1 : 0);
    if (sign == 0 || !c.Digits(2, 2, &oh) || !c.Eat(':') || !c.Digits(2, 2, &om) || oh > 23 ||
        om > 59) {
      return false;
    }
  }
  const int64_t secs = UnixSeconds(y, mo, d, h, mi, s) - sign * (oh * 3600 + om * 60);
  // Nanoseconds since 1970 in 64 bits span 1678..2262; a valid date outside them has no
  // timestamp (the receive time is used) rather than a wrapped one.
  constexpr int64_t kMaxSecs = INT64_MAX / 1'000'000'000 - 1;
  *ns = secs > kMaxSecs || secs < -kMaxSecs ? kNoTimestamp : secs * 1'000'000'000 + frac;
  return true;
}

// NILVALUE or a token of at most max bytes.
bool ReadField(Cursor& c, size_t max, std::optional<std::string_view>* out) {
  std::string_view tok;
  if (!c.Token(max, &tok)) return false;
  if (tok != "-") *out = tok;
  return true;
}

bool IsSdNameChar(char ch) {
  unsigned char u = static_cast<unsigned char>(ch);
  return u >= 33 && u <= 126 && ch != '=' && ch != ']' && ch != '"';
}

bool ReadSdName(Cursor& c, std::string_view* out) {
  std::string_view rest = c.Rest();
  size_t n = 0;
  while (n < rest.size() && n <= 32 && IsSdNameChar(rest[n])) ++n;
  if (n == 0 || n > 32) return false;
  *out = rest.substr(0, n);
  c.Skip(n);
  return true;
}

// A quoted PARAM-VALUE: '"' and ']' inside must be escaped with a backslash.
bool ReadSdValue(Cursor& c, std::string_view* out) {
  if (!c.Eat('"')) return false;
  std::string_view rest = c.Rest();
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '\\') {
      ++i;  // whatever follows is part of the value
    } else if (rest[i] == '"') {
      *out = rest.substr(0, i);
      c.Skip(i + 1);
      return true;
    } else if (rest[i] == ']') {
      return false;
    }
  }
  return false;
}

Status ReadStructuredData(Cursor& c, SyslogMessage* out) {
  if (c.Eat('-')) return Status::Ok();
  if (c.Peek() != '[') return Fail(c, "structured data ('-' or '[')");
  while (c.Eat('[')) {
    std::string_view id;
    if (!ReadSdName(c, &id)) return Fail(c, "an SD-ID");
    while (c.Eat(' ')) {
      SdParam p;
      p.id = id;
      if (!ReadSdName(c, &p.name) || !c.Eat('=')) return Fail(c, "PARAM-NAME=");
      if (!ReadSdValue(c, &p.value)) return Fail(c, "a quoted PARAM-VALUE");
      out->structured_data.push_back(std::move(p));
    }
    if (!c.Eat(']')) return Fail(c, "']'");
  }
  return Status::Ok();
}

}  // namespace

void SyslogMessage::Clear() {
  priority = -1;
  timestamp_ns.reset();
  hostname.reset();
  app_name.reset();
  proc_id.reset();
  msg_id.reset();
  structured_data.clear();
  message.reset();
}

Status ParseRfc5424(std::string_view in, SyslogMessage* out) {
  out->Clear();
  Cursor c(in);
  if (!ReadPri(c, &out->priority)) return Fail(c, "a priority <0-191>");
  int64_t version = 0;
  if (c.Peek() == '0' || !c.Digits(1, 3, &version)) return Fail(c, "a version (1-999)");
  if (!c.Eat(' ')) return Fail(c, "a space after the version");
  if (!c.Eat('-')) {
    int64_t ns = 0;
    if (!ReadRfc3339(c, &ns)) return Fail(c, "an RFC 3339 timestamp or '-'");
    if (ns != kNoTimestamp) out->timestamp_ns = ns;
  }
  if (!c.Eat(' ')) return Fail(c, "a space after the timestamp");
  if (!ReadField(c, 255, &out->hostname) || !c.Eat(' ')) return Fail(c, "a hostname");
  if (!ReadField(c, 48, &out->app_name) || !c.Eat(' ')) return Fail(c, "an app name");
  if (!ReadField(c, 128, &out->proc_id) || !c.Eat(' ')) return Fail(c, "a proc id");
  if (!ReadField(c, 32, &out->msg_id) || !c.Eat(' ')) return Fail(c, "a msg id");
  if (Status s = ReadStructuredData(c, out); !s.ok()) return s;
  if (c.AtEnd()) return Status::Ok();
  if (!c.Eat(' ')) return Fail(c, "a space before the message");
  if (!c.AtEnd()) out->message = c.Rest();
  return Status::Ok();
}

namespace {

constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// "Mmm dd hh:mm:ss" (day space-padded or not); the year is guessed from now (see the header).
bool ReadBsdStamp(Cursor& c, int64_t now_ns, int64_t* ns) {
  int64_t mo = 0, d = 0, h, mi, s;
  std::string_view name = c.Slice(3);
  for (size_t i = 0; i < 12; ++i) {
    if (name == kMonths[i]) mo = static_cast<int64_t>(i) + 1;
  }
  if (mo == 0) return false;
  c.Skip(3);
  if (!c.Eat(' ')) return false;
  c.Eat(' ');  // "Oct  5"
  if (!c.Digits(1, 2, &d) || !c.Eat(' ') || !ReadClock(c, &h, &mi, &s)) return false;
  using namespace std::chrono;
  const int64_t y = static_cast<int>(
      year_month_day{floor<days>(sys_time<nanoseconds>(nanoseconds(now_ns)))}.year());
  int64_t year = y;
  if (!ValidDate(year, mo, d)) return false;
  int64_t secs = UnixSeconds(year, mo, d, h, mi, s);
  if (secs * 1'000'000'000 > now_ns + int64_t{86400} * 1'000'000'000 && ValidDate(y - 1, mo, d)) {
    secs = UnixSeconds(y - 1, mo, d, h, mi, s);  // December's messages read in January
  }
  *ns = secs * 1'000'000'000;
  return true;
}

bool IsTagChar(char ch) {
  unsigned char u = static_cast<unsigned char>(ch);
  return u >= 33 && u <= 126 && ch != ':' && ch != '[' && ch != ']';
}

// "TAG:" or "TAG[PID]:" as a whole token. Not an IPv6 address ("fe80::1"), whose colons come
// before its end.
bool IsTagToken(std::string_view t) {
  if (t.size() < 2 || t.back() != ':') return false;
  t.remove_suffix(1);
  if (t.back() == ']') {
    const size_t open = t.find('[');
    if (open == std::string_view::npos || open == 0) return false;
    t = t.substr(0, open);
  }
  return std::all_of(t.begin(), t.end(), IsTagChar);
}

// "TAG[PID]: " or "TAG: "; when the rest does not start so, all of it is the message.
void ReadTagAndMessage(Cursor& c, SyslogMessage* out) {
  std::string_view rest = c.Rest();
  size_t n = 0;
  while (n < rest.size() && n < 48 && IsTagChar(rest[n])) ++n;
  std::optional<std::string_view> pid;
  size_t end = n;
  if (n > 0 && end < rest.size() && rest[end] == '[') {
    size_t close = rest.find(']', end);
    if (close != std::string_view::npos && close - end - 1 <= 128 && close > end + 1) {
      pid = rest.substr(end + 1, close - end - 1);
      end = close + 1;
    } else {
      n = 0;
    }
  }
  if (n > 0 && end < rest.size() && rest[end] == ':') {
    out->app_name = rest.substr(0, n);
    out->proc_id = pid;
    ++end;
    if (end < rest.size() && rest[end] == ' ') ++end;
    rest.remove_prefix(end);
  }
  if (!rest.empty()) out->message = rest;
}

}  // namespace

Status ParseRfc3164(std::string_view in, int64_t now_ns, SyslogMessage* out) {
  out->Clear();
  Cursor c(in);
  if (!ReadPri(c, &out->priority)) return Fail(c, "a priority <0-191>");
  int64_t ns = 0;
  const size_t start = c.pos();
  if (!ReadBsdStamp(c, now_ns, &ns)) {
    Cursor again(in);
    again.Skip(start);
    if (!ReadRfc3339(again, &ns)) return Fail(c, "a timestamp (Mmm dd hh:mm:ss)");
    c = again;
  }
  if (ns != kNoTimestamp) out->timestamp_ns = ns;
  if (!c.Eat(' ')) return Fail(c, "a space after the timestamp");
  const size_t host_at = c.pos();
  std::string_view host;
  if (!c.Token(255, &host)) return Fail(c, "a hostname");
  if (IsTagToken(host)) {
    // No hostname: "Jan  2 15:04:05 app[12]: msg" (Docker's syslog driver, BSD syslog, many
    // appliances). go-syslog allows no ':' in a hostname, so it takes the token as the tag.
    Cursor tag(in);
    tag.Skip(host_at);
    ReadTagAndMessage(tag, out);
    return Status::Ok();
  }
  out->hostname = host;
  if (c.AtEnd()) return Status::Ok();
  if (!c.Eat(' ')) return Fail(c, "a space after the hostname");
  ReadTagAndMessage(c, out);
  return Status::Ok();
}

Status ParseRaw(std::string_view in, SyslogMessage* out) {
  out->Clear();
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  const auto trim = [&](std::string_view s) {
    const size_t first = s.find_first_not_of(kSpace);
    if (first == std::string_view::npos) return std::string_view();
    return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
  };
  std::string_view text = trim(in);
  // "<PRI>": 1 to 3 digits, at most 191 (what the RFCs allow); anything else stays in the line.
  const size_t close = text.find('>');
  if (text.starts_with('<') && close >= 2 && close <= 4) {
    int pri = 0;
    bool digits = true;
    for (size_t i = 1; i < close; ++i) {
      digits = digits && text[i] >= '0' && text[i] <= '9';
      pri = pri * 10 + (text[i] - '0');
    }
    if (digits && pri <= 191) {
      out->priority = pri;
      text = trim(text.substr(close + 1));
    }
  }
  if (!text.empty()) out->message = text;
  return Status::Ok();
}

std::string SdUnescape(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size() &&
        (v[i + 1] == '"' || v[i + 1] == '\\' || v[i + 1] == ']')) {
      ++i;
    }
    out.push_back(v[i]);
  }
  return out;
}

std::string_view SeverityName(int s) {
  static constexpr std::string_view kNames[] = {"emergency", "alert",  "critical",      "error",
                                                "warning",   "notice", "informational", "debug"};
  return s >= 0 && s < 8 ? kNames[s] : std::string_view();
}

std::string_view FacilityName(int f) {
  static constexpr std::string_view kNames[] = {
      "kern",   "user",   "mail",     "daemon", "auth",   "syslog",   "lpr",     "news",
      "uucp",   "cron",   "authpriv", "ftp",    "ntp",    "security", "console", "cron2",
      "local0", "local1", "local2",   "local3", "local4", "local5",   "local6",  "local7"};
  return f >= 0 && f < 24 ? kNames[f] : std::string_view();
}

}  // namespace skidder::sources::syslog
