#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "lang/go/go_quote.h"
#include "lang/go/go_regexp.h"
#include "lang/go/go_time.h"
#include "lang/go/template_internal.h"

// The sprig functions the template engine offers (Promtail registers all of sprig's text
// functions; these are the ones Promtail users reach for).
namespace skidder::lang::go::tmpl {
namespace {

bool Empty(const Value& v) { return !Truth(v); }

bool FDefault(Call& c) {  // default(d, given)
  *c.result = c.args.size() < 2 || Empty(c.args[1]) ? std::move(c.args[0]) : std::move(c.args[1]);
  return true;
}
bool FEmpty(Call& c) { return SetBool(c, Empty(c.args[0])); }
bool FCoalesce(Call& c) {
  for (Value& v : c.args) {
    if (!Empty(v)) {
      *c.result = std::move(v);
      return true;
    }
  }
  *c.result = Value{};
  return true;
}
bool FContains(Call& c) {  // contains(substr, s)
  std::string_view sub, s;
  return c.Str(0, &sub) && c.Str(1, &s) && SetBool(c, s.find(sub) != std::string_view::npos);
}
bool FHasPrefix(Call& c) {  // hasPrefix(prefix, s)
  std::string_view p, s;
  return c.Str(0, &p) && c.Str(1, &s) && SetBool(c, s.starts_with(p));
}
bool FHasSuffix(Call& c) {
  std::string_view p, s;
  return c.Str(0, &p) && c.Str(1, &s) && SetBool(c, s.ends_with(p));
}
bool FTrimAll(Call& c) {  // trimAll(cutset, s)
  std::string_view cut, s;
  return c.Str(0, &cut) && c.Str(1, &s) && SetStr(c, std::string(TrimCut(s, cut, true, true)));
}
bool FSprigTrimPrefix(Call& c) {  // trimPrefix(prefix, s)
  std::string_view p, s;
  if (!c.Str(0, &p) || !c.Str(1, &s)) return false;
  if (s.starts_with(p)) s.remove_prefix(p.size());
  return SetStr(c, std::string(s));
}
bool FSprigTrimSuffix(Call& c) {  // trimSuffix(suffix, s)
  std::string_view p, s;
  if (!c.Str(0, &p) || !c.Str(1, &s)) return false;
  if (s.ends_with(p)) s.remove_suffix(p.size());
  return SetStr(c, std::string(s));
}
bool FSprigReplace(Call& c) {  // replace(old, new, src)
  std::string_view o, n, s;
  return c.Str(0, &o) && c.Str(1, &n) && c.Str(2, &s) &&
         SetStr(c, GoReplace(s, o, n, -1, c.max_bytes));
}
bool FSubstr(Call& c) {  // substr(start, end, s), in bytes as sprig
  int64_t start = 0, end = 0;
  std::string_view s;
  if (!c.Int(0, &start) || !c.Int(1, &end) || !c.Str(2, &s)) return false;
  const int64_t n = static_cast<int64_t>(s.size());
  if (start < 0)
    start = 0, end = std::min(end, n);
  else if (end < 0 || end > n)
    end = n;
  if (start > end) return c.Fail("slice bounds out of range");
  return SetStr(
      c, std::string(s.substr(static_cast<size_t>(start), static_cast<size_t>(end - start))));
}
bool FTrunc(Call& c) {  // trunc(n, s)
  int64_t n = 0;
  std::string_view s;
  if (!c.Int(0, &n) || !c.Str(1, &s)) return false;
  const int64_t len = static_cast<int64_t>(s.size());
  if (n < 0 && len + n > 0)
    s = s.substr(static_cast<size_t>(len + n));
  else if (n >= 0 && len > n)
    s = s.substr(0, static_cast<size_t>(n));
  return SetStr(c, std::string(s));
}
bool FRepeat(Call& c) {  // repeat(n, s)
  int64_t n = 0;
  std::string_view s;
  if (!c.Int(0, &n) || !c.Str(1, &s)) return false;
  if (n < 0 || (!s.empty() && static_cast<uint64_t>(n) > (1u << 20) / s.size()))
    return c.Fail("count out of range");
  if (s.empty()) return SetStr(c, std::string());  // n may be huge: no loop
  std::string out;
  // Build no more than SetStr accepts: one copy past the limit is enough for it to refuse.
  for (int64_t i = 0; i < n && out.size() <= c.max_bytes; ++i) out.append(s);
  return SetStr(c, std::move(out));
}
// quote is fmt's %q of each argument; squote is fmt.Sprintf("'%v'"): nothing escaped.
template <char kQuote>
bool FQuote(Call& c) {
  std::string out;
  for (const Value& v : c.args) {
    if (v.kind == Value::kNil) continue;
    if (!out.empty()) out.push_back(' ');
    if (kQuote == '"') {
      AppendGoQuoted(ToStr(v), kQuote, &out);
    } else {
      out.append(1, kQuote).append(ToStr(v)).append(1, kQuote);
    }
  }
  return SetStr(c, std::move(out));
}
bool FToString(Call& c) { return SetStr(c, ToStr(c.args[0])); }
// atoi: strconv.Atoi, decimal only ("010" is 10), 0 for anything else.
bool FAtoi(Call& c) {
  int64_t r = 0;
  if (c.args[0].kind == Value::kString) {
    std::string_view s = c.args[0].str();
    if (s.starts_with('+')) s.remove_prefix(1);
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), r);
    if (ec != std::errc() || p != s.data() + s.size()) r = 0;
  }
  *c.result = Value::Int(r);
  return true;
}
// sprig's int and int64 (cast.ToInt): a number, a boolean as 1 or 0, anything else 0.
bool FToInt(Call& c) {
  *c.result = Value::Int(ToInt64(c.args[0]));
  return true;
}
// Go's int64 arithmetic wraps around (two's complement) where C++'s overflows: the operands
// come from log lines, so add, sub and mul compute in uint64_t, and INT64_MIN / -1 (which traps
// on x86-64: SIGFPE) is INT64_MIN as in Go, its remainder 0.
int64_t Wrap(uint64_t v) { return static_cast<int64_t>(v); }
bool FAdd(Call& c) {
  uint64_t sum = 0;
  for (const Value& v : c.args) sum += static_cast<uint64_t>(ToInt64(v));
  *c.result = Value::Int(Wrap(sum));
  return true;
}
template <char kOp>
bool FArith(Call& c) {
  const int64_t a = ToInt64(c.args[0]), b = ToInt64(c.args[1]);
  const uint64_t ua = static_cast<uint64_t>(a), ub = static_cast<uint64_t>(b);
  if ((kOp == '/' || kOp == '%') && b == 0) return c.Fail("integer divide by zero");
  int64_t r = 0;
  if constexpr (kOp == '-') {
    r = Wrap(ua - ub);
  } else if constexpr (kOp == '*') {
    r = Wrap(ua * ub);
  } else if (b == -1) {
    r = kOp == '/' ? Wrap(0 - ua) : 0;
  } else {
    r = kOp == '/' ? a / b : a % b;
  }
  *c.result = Value::Int(r);
  return true;
}
bool FNow(Call& c) {
  const int64_t ns = c.data->NowNs();
  Value v;
  v.kind = Value::kTime;
  v.i = ns / 1'000'000'000 - (ns % 1'000'000'000 < 0);
  v.nsec = ns - v.i * 1'000'000'000;
  *c.result = v;
  return true;
}
bool FUnixEpoch(Call& c) {
  if (c.args[0].kind != Value::kTime) {
    return c.Fail(std::string("wrong type for value; expected time.Time; got ") +
                  KindName(c.args[0].kind));
  }
  return SetStr(c, std::to_string(c.args[0].i));
}
// A zone by name for dateInZone and toDate, remembered: a template runs per line. A name that
// does not load is UTC, as in sprig, and not remembered (a file that could not be opened once
// may open later); nor are names too long to be a zone's, as a line's text could be. The file
// is read outside the lock, which only guards the map.
std::shared_ptr<const Zone> ZoneNamed(std::string_view name) {
  thread_local std::string last_name;  // a template names the same zone line after line
  thread_local std::shared_ptr<const Zone> last;
  if (last != nullptr && name == last_name) return last;
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const Zone>, std::less<>> zones;
  {
    std::lock_guard lock(mu);
    if (auto it = zones.find(name); it != zones.end()) {
      last_name.assign(name);
      return last = it->second;
    }
  }
  auto loaded = LoadZone(name);
  if (!loaded) return Zone::Fixed("UTC", 0);
  std::lock_guard lock(mu);
  if (zones.size() < 256 && name.size() <= 64) {
    zones.emplace(std::string(name), *loaded);
    last_name.assign(name);
    last = *loaded;
  }
  return *loaded;
}

// sprig's dateInZone(layout, t, zone) and the functions made of it: t is a time, or Unix
// seconds; anything else is now, as in sprig.
bool FormatDate(Call& c, std::string_view layout, const Value& t, std::string_view zone) {
  int64_t sec = 0, nsec = 0;
  if (t.kind == Value::kTime) {
    sec = t.i;
    nsec = t.nsec;
  } else if (t.kind == Value::kInt) {
    sec = t.i;
  } else {
    const int64_t ns = c.data->NowNs();
    sec = ns / 1'000'000'000 - (ns % 1'000'000'000 < 0);
    nsec = ns - sec * 1'000'000'000;
  }
  // Held within ±2^62 s, where adding a zone's offset and the day arithmetic cannot overflow
  // (Go's own range ends near there too).
  constexpr int64_t kMaxSec = int64_t{1} << 62;
  sec = std::clamp(sec, -kMaxSec, kMaxSec);
  // The layout is split once per thread while it stays the same (a literal, line after line).
  thread_local std::optional<GoLayout> split;
  if (!split || split->layout() != layout) split.emplace(layout);
  std::string out;
  split->Format(sec, nsec, ZoneNamed(zone).get(), &out);
  return SetStr(c, std::move(out));
}
bool FDate(Call& c) {  // date(layout, t)
  std::string_view layout;
  return c.Str(0, &layout) && FormatDate(c, layout, c.args[1], "Local");
}
bool FDateInZone(Call& c) {  // dateInZone(layout, t, zone)
  std::string_view layout, zone;
  return c.Str(0, &layout) && c.Str(2, &zone) && FormatDate(c, layout, c.args[1], zone);
}
bool FHtmlDate(Call& c) { return FormatDate(c, "2006-01-02", c.args[0], "Local"); }
bool FHtmlDateInZone(Call& c) {  // htmlDateInZone(t, zone)
  std::string_view zone;
  return c.Str(1, &zone) && FormatDate(c, "2006-01-02", c.args[0], zone);
}

bool FToDate(Call& c) {  // toDate(layout, s); unparsable: Go's zero time, as sprig
  std::string_view layout, s;
  if (!c.Str(0, &layout) || !c.Str(1, &s)) return false;
  Value v;
  v.kind = Value::kTime;
  v.i = -62135596800;  // 0001-01-01T00:00:00Z
  GoCivilTime civil;
  if (GoLayout(layout).ParseCivil(s, &civil)) {  // in Local, as sprig's ParseInLocation
    v.i = GoCivilToUnixSec(civil, ZoneNamed("Local").get());
    v.nsec = civil.nanos;
  }
  *c.result = v;
  return true;
}

bool FRegexMatch(Call& c) {  // sprig regexMatch(regex, s)
  std::unique_ptr<RE2> holder;
  const RE2* re = RegexArg(c, &holder);
  std::string_view s;
  std::string valid;
  return re != nullptr && c.Str(1, &s) &&
         SetBool(c, RE2::PartialMatch(GoRegexpInput(s, &valid), *re));
}

bool FRegexFind(Call& c) {  // regexFind(regex, s): the first match, or ""
  std::unique_ptr<RE2> holder;
  const RE2* re = RegexArg(c, &holder);
  std::string_view s;
  if (re == nullptr || !c.Str(1, &s)) return false;
  std::string valid;
  const std::string_view in = GoRegexpInput(s, &valid);
  re2::StringPiece m;
  if (!re->Match(in, 0, in.size(), RE2::UNANCHORED, &m, 1)) return SetStr(c, "");
  return SetStr(c, std::string(m.data(), m.size()));
}

bool IsWordByte(unsigned char ch) { return std::isalnum(ch) || ch == '_' || ch >= 0x80; }

bool FTitle(Call& c) {  // title(s): Go's strings.Title (each word's first ASCII letter upper)
  std::string_view s;
  if (!c.Str(0, &s)) return false;
  std::string out(s);
  for (size_t i = 0; i < out.size(); ++i) {
    const auto ch = static_cast<unsigned char>(out[i]);
    if ((i == 0 || !IsWordByte(static_cast<unsigned char>(out[i - 1]))) && std::islower(ch)) {
      out[i] = static_cast<char>(std::toupper(ch));
    }
  }
  return SetStr(c, std::move(out));
}

bool FNospace(Call& c) {  // nospace(s): every space character removed
  std::string_view s;
  if (!c.Str(0, &s)) return false;
  std::string out;
  for (char ch : s) {
    if (!std::isspace(static_cast<unsigned char>(ch))) out.push_back(ch);
  }
  return SetStr(c, std::move(out));
}

bool FCat(Call& c) {  // cat(a, b, ...): the non-nil operands, space-separated
  std::string out;
  bool first = true;
  for (const Value& v : c.args) {
    if (v.kind == Value::kNil) continue;
    if (!first) out.push_back(' ');  // an empty operand keeps its place: `cat "" "a"` is " a"
    first = false;
    out += ToStr(v);
  }
  return SetStr(c, std::move(out));
}

bool FTernary(Call& c) {  // ternary(if_true, if_false, cond)
  *c.result = std::move(Truth(c.args[2]) ? c.args[0] : c.args[1]);
  return true;
}

// indent(n, s): each line of s after n spaces; nindent: the same after a newline.
template <bool kNewline>
bool FIndent(Call& c) {
  int64_t n = 0;
  std::string_view s;
  if (!c.Int(0, &n) || !c.Str(1, &s)) return false;
  if (n < 0 || static_cast<size_t>(n) > c.max_bytes) return c.Fail("indent out of range");
  const std::string pad(static_cast<size_t>(n), ' ');
  std::string out = kNewline ? "\n" + pad : pad;
  for (char ch : s) {
    out.push_back(ch);
    if (ch == '\n') out += pad;
    if (out.size() > c.max_bytes) break;  // refused by SetStr
  }
  return SetStr(c, std::move(out));
}

// join(sep, list): the list's non-nil elements as strings, joined; another value on its own.
bool FJoin(Call& c) {
  std::string_view sep;
  if (!c.Str(0, &sep)) return false;
  const Value& v = c.args[1];
  if (v.kind != Value::kList) return SetStr(c, v.kind == Value::kNil ? "" : ToStr(v));
  std::string out;
  bool first = true;
  for (const Value& e : *v.list) {
    if (e.kind == Value::kNil) continue;
    if (!first) out += sep;
    first = false;
    out += ToStr(e);
    if (out.size() > c.max_bytes) break;  // refused by SetStr
  }
  return SetStr(c, std::move(out));
}

// first(list) / last(list): an element, nil for an empty list (or anything else).
template <bool kFirst>
bool FEnd(Call& c) {
  const Value& v = c.args[0];
  if (v.kind != Value::kList || v.list->empty()) {
    *c.result = Value{};
  } else {
    *c.result = kFirst ? v.list->front() : v.list->back();
  }
  return true;
}

// Go's path.Clean: the shortest path naming the same file, by lexical processing alone.
std::string CleanPath(std::string_view path) {
  if (path.empty()) return ".";
  const bool rooted = path[0] == '/';
  const size_t n = path.size();
  std::string out;
  size_t r = 0, dotdot = 0;  // dotdot: where a ".." can no longer be backtracked over
  if (rooted) {
    out.push_back('/');
    r = dotdot = 1;
  }
  while (r < n) {
    if (path[r] == '/') {
      ++r;  // an empty element
    } else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
      ++r;  // "."
    } else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
      r += 2;  // "..": back to the last slash, when there is an element to take back
      if (out.size() > dotdot) {
        size_t w = out.size() - 1;
        while (w > dotdot && out[w] != '/') --w;
        out.resize(w);
      } else if (!rooted) {
        if (!out.empty()) out.push_back('/');
        out += "..";
        dotdot = out.size();
      }
    } else {
      if ((rooted && out.size() != 1) || (!rooted && !out.empty())) out.push_back('/');
      for (; r < n && path[r] != '/'; ++r) out.push_back(path[r]);
    }
  }
  return out.empty() ? "." : out;
}

std::string_view BasePath(std::string_view path) {  // Go's path.Base
  if (path.empty()) return ".";
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (size_t i = path.rfind('/'); i != std::string_view::npos) path.remove_prefix(i + 1);
  return path.empty() ? "/" : path;
}

// base, dir, ext, clean, isAbs: sprig's, Go's path package (slash-separated, as a filename
// label is): base "/var/log/app.log" is "app.log", dir "/var/log", ext ".log".
bool FBase(Call& c) {
  std::string_view p;
  return c.Str(0, &p) && SetStr(c, std::string(BasePath(p)));
}
bool FDir(Call& c) {
  std::string_view p;
  if (!c.Str(0, &p)) return false;
  const size_t slash = p.rfind('/');
  return SetStr(c, CleanPath(slash == std::string_view::npos ? "" : p.substr(0, slash + 1)));
}
bool FExt(Call& c) {
  std::string_view p;
  if (!c.Str(0, &p)) return false;
  for (size_t i = p.size(); i > 0 && p[i - 1] != '/'; --i) {
    if (p[i - 1] == '.') return SetStr(c, std::string(p.substr(i - 1)));
  }
  return SetStr(c, "");
}
bool FClean(Call& c) {
  std::string_view p;
  return c.Str(0, &p) && SetStr(c, CleanPath(p));
}
bool FIsAbs(Call& c) {
  std::string_view p;
  return c.Str(0, &p) && SetBool(c, p.starts_with('/'));
}

// max(a, b, ...) / min: sprig's, of the operands as int64 (cast.ToInt64, as int does).
template <bool kMax>
bool FExtreme(Call& c) {
  int64_t r = ToInt64(c.args[0]);
  for (size_t i = 1; i < c.args.size(); ++i) {
    const int64_t v = ToInt64(c.args[i]);
    r = kMax ? std::max(r, v) : std::min(r, v);
  }
  *c.result = Value::Int(r);
  return true;
}

constexpr FuncDef kSprig[] = {
    {"add", 1, -1, FAdd},
    {"atoi", 1, 1, FAtoi},
    {"base", 1, 1, FBase},
    {"cat", 0, -1, FCat},
    {"clean", 1, 1, FClean},
    {"coalesce", 1, -1, FCoalesce},
    {"contains", 2, 2, FContains},
    {"date", 2, 2, FDate},
    {"dateInZone", 3, 3, FDateInZone},
    {"default", 1, 2, FDefault},
    {"dir", 1, 1, FDir},
    {"div", 2, 2, FArith<'/'>},
    {"empty", 1, 1, FEmpty},
    {"ext", 1, 1, FExt},
    {"first", 1, 1, FEnd<true>},
    {"hasPrefix", 2, 2, FHasPrefix},
    {"hasSuffix", 2, 2, FHasSuffix},
    {"htmlDate", 1, 1, FHtmlDate},
    {"htmlDateInZone", 2, 2, FHtmlDateInZone},
    {"indent", 2, 2, FIndent<false>},
    {"int", 1, 1, FToInt},
    {"int64", 1, 1, FToInt},
    {"isAbs", 1, 1, FIsAbs},
    {"join", 2, 2, FJoin},
    {"last", 1, 1, FEnd<false>},
    {"max", 1, -1, FExtreme<true>},
    {"min", 1, -1, FExtreme<false>},
    {"mod", 2, 2, FArith<'%'>},
    {"mul", 2, 2, FArith<'*'>},
    {"nindent", 2, 2, FIndent<true>},
    {"nospace", 1, 1, FNospace},
    {"now", 0, 0, FNow},
    {"quote", 0, -1, FQuote<'"'>},
    {"regexFind", 2, 2, FRegexFind, true},
    {"regexMatch", 2, 2, FRegexMatch, true},
    {"repeat", 2, 2, FRepeat},
    {"replace", 3, 3, FSprigReplace},
    {"squote", 0, -1, FQuote<'\''>},
    {"sub", 2, 2, FArith<'-'>},
    {"ternary", 3, 3, FTernary},
    {"title", 1, 1, FTitle},
    {"substr", 3, 3, FSubstr},
    {"toDate", 2, 2, FToDate},
    {"toString", 1, 1, FToString},
    {"trimAll", 2, 2, FTrimAll},
    {"trimPrefix", 2, 2, FSprigTrimPrefix},
    {"trimSuffix", 2, 2, FSprigTrimSuffix},
    {"trunc", 2, 2, FTrunc},
    {"unixEpoch", 1, 1, FUnixEpoch},
};

}  // namespace

std::span<const FuncDef> SprigFuncs() { return kSprig; }

}  // namespace skidder::lang::go::tmpl
