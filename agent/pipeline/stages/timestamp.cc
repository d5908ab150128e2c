#include "pipeline/stages/timestamp.h"

#include <charconv>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lang/go/go_time.h"
#include "lang/go/tzif.h"
#include "pipeline/stage_support.h"
#include "util/clock.h"

namespace skidder::pipeline::stages {

using lang::go::CivilFromDays;
using lang::go::GoCivilTime;
using lang::go::GoCivilToUnixNs;
using lang::go::GoLayout;
using lang::go::GoNamedLayout;
using lang::go::LoadZone;
using lang::go::Zone;

namespace {

constexpr size_t kMaxStreamsRemembered = 10000;  // Promtail's LRU size for fudging

bool ParseInt64(std::string_view s, int64_t* out) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

bool MulNs(int64_t v, int64_t unit, int64_t* out) { return !__builtin_mul_overflow(v, unit, out); }

// One way to read a value: a Unix number or a Go layout.
class TimeFormat {
 public:
  enum class Kind { kUnix, kUnixMs, kUnixUs, kUnixNs, kNamed, kCustom };

  TimeFormat(std::string_view spec, std::shared_ptr<const Zone> zone) : layout_(spec) {
    if (spec == "Unix")
      kind_ = Kind::kUnix;
    else if (spec == "UnixMs")
      kind_ = Kind::kUnixMs;
    else if (spec == "UnixUs")
      kind_ = Kind::kUnixUs;
    else if (spec == "UnixNs")
      kind_ = Kind::kUnixNs;
    else if (std::string_view named = GoNamedLayout(spec); !named.empty()) {
      layout_ = GoLayout(named);
      // Go's own named layouts are parsed with time.Parse (UTC), Promtail's convention; the
      // year-less ones skidder adds (Kitchen, Stamp*) behave like custom layouts.
      kind_ = layout_.has_year() ? Kind::kNamed : Kind::kCustom;
    } else {
      kind_ = Kind::kCustom;
    }
    if (kind_ == Kind::kCustom) zone_ = std::move(zone);
  }

  bool Parse(std::string_view v, int64_t now_ns, int64_t* out) const {
    int64_t n = 0;
    switch (kind_) {
      case Kind::kUnix:
        return ParseUnix(v, out);
      case Kind::kUnixMs:
        return ParseInt64(v, &n) && MulNs(n, 1'000'000, out);
      case Kind::kUnixUs:
        return ParseInt64(v, &n) && MulNs(n, 1'000, out);
      case Kind::kUnixNs:
        return ParseInt64(v, out);
      case Kind::kNamed:
        return layout_.Parse(v, nullptr, out);
      case Kind::kCustom:
        break;
    }
    if (layout_.has_year()) return layout_.Parse(v, zone_.get(), out);
    return ParseWithoutYear(v, now_ns, out);
  }

 private:
  // "1562708916" or "1562708916.000000123" (at most 9 fraction digits).
  static bool ParseUnix(std::string_view v, int64_t* out) {
    const size_t dot = v.find('.');
    int64_t sec = 0, frac = 0;
    if (dot == std::string_view::npos) return ParseInt64(v, &sec) && MulNs(sec, 1'000'000'000, out);
    std::string_view f = v.substr(dot + 1);
    if (f.find('.') != std::string_view::npos || f.size() > 9) return false;
    if (!ParseInt64(v.substr(0, dot), &sec) || !ParseInt64(f, &frac) || frac < 0) return false;
    for (size_t i = f.size(); i < 9; ++i) frac *= 10;
    int64_t ns = 0;
    return MulNs(sec, 1'000'000'000, &ns) && !__builtin_add_overflow(ns, frac, out);
  }

  // Promtail's parseTimestampWithoutYear: the current year, with the new year's eve cases.
  bool ParseWithoutYear(std::string_view v, int64_t now_ns, int64_t* out) const {
    GoCivilTime c;
    if (!layout_.ParseCivil(v, &c)) return false;
    int64_t now_year = 0;
    int now_month = 0, now_day = 0;
    CivilFromDays((now_ns / 1'000'000'000 - (now_ns < 0)) / 86400, &now_year, &now_month, &now_day);
    c.year = now_year;
    if (c.month == 12 && now_month == 1) c.year = now_year - 1;
    if (c.month == 1 && now_month == 12) c.year = now_year + 1;
    *out = GoCivilToUnixNs(c, zone_.get());  // Feb 29 of a common year rolls to Mar 1, as Go
    return true;
  }

  Kind kind_ = Kind::kCustom;
  GoLayout layout_;
  std::shared_ptr<const Zone> zone_;  // custom layouts only; null = UTC
};

class TimestampStage final : public Stage {
 public:
  TimestampStage(std::string source, std::vector<TimeFormat> formats, bool fudge)
      : source_(std::move(source)), formats_(std::move(formats)), fudge_(fudge) {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    int64_t ts = 0;
    if (const std::string* v = e.extracted.Get(source_, e.entry.labels);
        v && Parse(*v, e.now.wall_ns, &ts)) {
      e.entry.timestamp_ns = ts;
      if (fudge_) Remember(e.entry.labels.Hash(), ts);
    } else if (fudge_) {
      auto it = last_.find(e.entry.labels.Hash());
      // Saturated: a line's timestamp at the last nanosecond int64 holds must not overflow.
      if (it != last_.end()) {
        if (it->second < INT64_MAX) ++it->second;
        e.entry.timestamp_ns = it->second;
      }
    }
    out.Emit(std::move(e));
  }

  std::string_view Name() const override { return "timestamp"; }

 private:
  // now_ns: the year of year-less layouts is the one that puts the time closest to now.
  bool Parse(std::string_view v, int64_t now_ns, int64_t* ts) const {
    for (const TimeFormat& f : formats_) {
      if (f.Parse(v, now_ns, ts)) return true;
    }
    return false;
  }

  void Remember(uint64_t stream, int64_t ts) {
    // Promtail keeps an LRU of 10000 streams; forgetting them all at once is close enough and
    // needs no bookkeeping per entry.
    if (last_.size() >= kMaxStreamsRemembered && !last_.contains(stream)) last_.clear();
    last_[stream] = ts;
  }

  std::string source_;
  std::vector<TimeFormat> formats_;  // format, then fallback_formats
  bool fudge_;
  std::unordered_map<uint64_t, int64_t> last_;  // label-set hash -> last timestamp set
};

}  // namespace

Result<std::unique_ptr<Stage>> NewTimestampStage(const config::StageConfig& cfg,
                                                 const StageContext& ctx, const std::string& path) {
  config::MapReader r = ReaderFor(cfg, path);
  std::string source, format, location, action = "fudge";
  std::vector<std::string> fallback;
  r.Str("source", &source);
  r.Str("format", &format);
  r.StrList("fallback_formats", &fallback);
  r.Str("location", &location);
  r.Str("action_on_failure", &action);
  if (source.empty()) r.Fail("source", "timestamp source value is required");
  if (format.empty()) r.Fail("format", "timestamp format is required");
  if (action != "fudge" && action != "skip") {
    r.Fail("action_on_failure", "invalid action on failure (supported values are skip, fudge)");
  }
  std::shared_ptr<const Zone> zone;
  if (r.Has("location")) {
    auto z = LoadZone(location);
    if (z)
      zone = std::move(*z);
    else
      r.Fail("location", "invalid location specified: " + z.error().message());
  }
  if (Status s = r.Finish(); !s.ok()) return Err(std::move(s));
  std::vector<TimeFormat> formats;
  formats.emplace_back(format, zone);
  for (const std::string& f : fallback) formats.emplace_back(f, zone);
  return std::make_unique<TimestampStage>(std::move(source), std::move(formats), action == "fudge");
}

}  // namespace skidder::pipeline::stages
