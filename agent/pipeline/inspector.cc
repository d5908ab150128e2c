#include "pipeline/inspector.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <map>

namespace skidder::pipeline {
namespace {

constexpr std::string_view kBold = "\x1b[1m", kRed = "\x1b[31m", kGreen = "\x1b[32m",
                           kYellow = "\x1b[33m", kReset = "\x1b[0m";

// Collects go-cmp style difference lines.
class Diff {
 public:
  explicit Diff(bool color) : color_(color) {}

  // One value at path: absent before (added), absent after (removed), or changed.
  void Change(std::string_view path, const std::string* before, const std::string* after) {
    if (before != nullptr && after != nullptr && *before == *after) return;
    if (before == nullptr && after == nullptr) return;
    const bool mod = before != nullptr && after != nullptr;
    const std::string_view title = mod ? kYellow : (after == nullptr ? kRed : kGreen);
    Add(title, fmt::format("{}:", path));
    if (before != nullptr) Add(mod ? kYellow : kRed, fmt::format("\t-: {}", *before));
    if (after != nullptr) Add(kGreen, fmt::format("\t+: {}", *after));
  }

  // Two name-sorted lists of pairs, compared key by key.
  template <typename A, typename B>
  void Keyed(std::string_view prefix, const A& before, const B& after) {
    std::map<std::string_view, std::pair<const std::string*, const std::string*>> keys;
    for (const auto& [k, v] : before) keys[k].first = &v;
    for (const auto& [k, v] : after) keys[k].second = &v;
    for (const auto& [k, vals] : keys) {
      Change(fmt::format("{}[\"{}\"]", prefix, k), vals.first, vals.second);
    }
  }

  bool empty() const { return lines_.empty(); }
  std::string Join() const {
    std::string out;
    for (const std::string& l : lines_) out += "\n" + l;
    return out;
  }

 private:
  void Add(std::string_view color, std::string text) {
    lines_.push_back(color_ ? fmt::format("{}{}{}", color, text, kReset) : std::move(text));
  }

  bool color_;
  std::vector<std::string> lines_;
};

template <typename Pairs>
std::vector<std::pair<std::string, std::string>> AsPairs(const Pairs& in) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& l : in) out.emplace_back(l.name, l.value);
  return out;
}

}  // namespace

std::string GoTimeString(int64_t unix_ns) {
  int64_t secs = unix_ns / 1'000'000'000;
  int64_t nanos = unix_ns % 1'000'000'000;
  if (nanos < 0) {
    nanos += 1'000'000'000;
    --secs;
  }
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::string out = fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", tm.tm_year + 1900,
                                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (nanos != 0) {
    std::string frac = fmt::format("{:09}", nanos);
    while (frac.back() == '0') frac.pop_back();
    out += "." + frac;
  }
  return out + " +0000 UTC";
}

Inspector::Inspector(std::FILE* out) : out_(out), color_(isatty(fileno(out)) == 1) {}

void Inspector::Take(const PipelineEntry& e, Snapshot* s) {
  s->labels = e.entry.labels;
  s->extracted.assign(e.extracted.begin(), e.extracted.end());
  s->timestamp_ns = e.entry.timestamp_ns;
  s->line = e.entry.line;
  s->structured_metadata = e.entry.structured_metadata;
  s->emitted = false;
}

void Inspector::Report(std::string_view stage, const Snapshot& before, const PipelineEntry& after) {
  Diff d(color_);
  d.Keyed("{stages.Entry}.Extracted", before.extracted, after.extracted);
  d.Keyed("{stages.Entry}.Entry.Labels", AsPairs(before.labels), AsPairs(after.entry.labels));
  if (before.timestamp_ns != after.entry.timestamp_ns) {
    const std::string b = GoTimeString(before.timestamp_ns);
    const std::string a = GoTimeString(after.entry.timestamp_ns);
    d.Change("{stages.Entry}.Entry.Entry.Timestamp", &b, &a);
  }
  d.Change("{stages.Entry}.Entry.Entry.Line", &before.line, &after.entry.line);
  d.Keyed("{stages.Entry}.Entry.Entry.StructuredMetadata", AsPairs(before.structured_metadata),
          AsPairs(after.entry.structured_metadata));
  std::string name = color_ ? fmt::format("{}{}{}", kBold, stage, kReset) : std::string(stage);
  std::string body =
      d.empty() ? (color_ ? fmt::format("{}none{}", kRed, kReset) : "none") : d.Join();
  fmt::print(out_, "[inspect: {} stage]: {}\n", name, body);
}

void Inspector::ReportNothingEmitted(std::string_view stage) {
  std::string name = color_ ? fmt::format("{}{}{}", kBold, stage, kReset) : std::string(stage);
  fmt::print(out_, "[inspect: {} stage]: no entry emitted (dropped, or held for later)\n", name);
}

}  // namespace skidder::pipeline
