#include "pipeline/stages/metrics_series.h"

#include <fmt/format.h>

#include <cmath>

namespace skidder::pipeline::stages {
namespace {

bool HasInternal(const Labels& labels) {
  for (const Label& l : labels) {
    if (l.name.starts_with("__")) return true;
  }
  return false;
}

void AppendValue(std::string& out, double v) {
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else if (std::isnan(v)) {
    out += "NaN";
  } else if (v == std::floor(v) && std::fabs(v) < 1e15) {
    fmt::format_to(std::back_inserter(out), "{}", static_cast<int64_t>(v));
  } else {
    fmt::format_to(std::back_inserter(out), "{}", v);
  }
}

// name{a="1",b="2"[,le="0.5"]}
void AppendSeries(std::string& out, std::string_view name, const Labels& labels,
                  std::string_view le = {}) {
  out += name;
  if (labels.empty() && le.empty()) return;
  out += '{';
  bool first = true;
  for (const Label& l : labels) {
    if (!first) out += ',';
    first = false;
    out += l.name;
    out += "=\"";
    for (char c : l.value) {
      if (c == '\\')
        out += "\\\\";
      else if (c == '"')
        out += "\\\"";
      else if (c == '\n')
        out += "\\n";
      else
        out += c;
    }
    out += '"';
  }
  if (!le.empty()) {
    if (!first) out += ',';
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += '}';
}

}  // namespace

SeriesSet::SeriesSet(telemetry::Type type, std::string help, std::vector<double> bounds,
                     int64_t max_idle_ns)
    : type_(type), help_(std::move(help)), bounds_(std::move(bounds)), max_idle_ns_(max_idle_ns) {}

SeriesSet::Series* SeriesSet::Get(const Labels& labels, int64_t now_ns) {
  const uint64_t hash = labels.Hash();
  Series* s = nullptr;
  if (last_ != nullptr && hash == last_hash_) {
    s = last_;
  } else if (auto it = index_.find(hash); it != index_.end()) {
    s = it->second;
  } else {
    s = Create(labels);
    index_.emplace(hash, s);
  }
  last_hash_ = hash;
  last_ = s;
  s->last_update_ns = now_ns;
  return s;
}

// Entries whose label sets differ only in internal labels share one series: two series with
// the same visible labels would be a duplicate in the exposition.
SeriesSet::Series* SeriesSet::Create(const Labels& labels) {
  Labels visible = labels;
  if (HasInternal(visible)) visible.RemoveInternal();
  const uint64_t key = visible.Hash();
  if (auto it = owned_.find(key); it != owned_.end()) return it->second.get();
  auto s = std::make_unique<Series>();
  s->labels = std::move(visible);
  if (type_ == telemetry::Type::kHistogram) {
    s->histogram = std::make_unique<telemetry::Histogram>(bounds_);
  }
  Series* raw = s.get();
  std::lock_guard lock(mu_);
  owned_.emplace(key, std::move(s));
  return raw;
}

void SeriesSet::Prune(int64_t now_ns) {
  auto idle = [&](const Series& s) { return now_ns - s.last_update_ns >= max_idle_ns_; };
  bool any = false;
  for (const auto& [key, s] : owned_) any = any || idle(*s);
  if (!any) return;
  std::erase_if(index_, [&](const auto& kv) { return idle(*kv.second); });
  last_ = nullptr;
  std::lock_guard lock(mu_);
  std::erase_if(owned_, [&](const auto& kv) { return idle(*kv.second); });
}

void SeriesSet::RenderSamples(const std::string& name, std::string& out) const {
  std::lock_guard lock(mu_);
  for (const auto& [key, s] : owned_) {
    if (type_ != telemetry::Type::kHistogram) {
      AppendSeries(out, name, s->labels);
      out += ' ';
      AppendValue(out, s->value.Value());
      out += '\n';
      continue;
    }
    const telemetry::Histogram& h = *s->histogram;
    const std::vector<uint64_t> counts = h.CumulativeCounts();
    const std::string bucket = name + "_bucket";
    for (size_t i = 0; i < counts.size(); ++i) {
      std::string le = "+Inf";
      if (i < bounds_.size()) {
        le.clear();
        AppendValue(le, bounds_[i]);
      }
      AppendSeries(out, bucket, s->labels, le);
      fmt::format_to(std::back_inserter(out), " {}\n", counts[i]);
    }
    AppendSeries(out, name + "_sum", s->labels);
    out += ' ';
    AppendValue(out, h.Sum());
    out += '\n';
    AppendSeries(out, name + "_count", s->labels);
    fmt::format_to(std::back_inserter(out), " {}\n", h.Count());
  }
}

}  // namespace skidder::pipeline::stages
