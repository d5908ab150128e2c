#include "pipeline/stages/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <utility>
#include <vector>

#include "pipeline/stage_support.h"
#include "pipeline/stages/metrics_series.h"
#include "util/clock.h"

namespace skidder::pipeline::stages {

bool MetricValue(std::string_view s, double* out) {
  if (s == "true" || s == "false") {  // Promtail's json stage hands booleans over as bools
    *out = s == "true" ? 1 : 0;
    return true;
  }
  std::string_view num = s;
  if (!num.empty() && num[0] == '+') num.remove_prefix(1);
  double d = 0;
  auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), d);
  if (!num.empty() && ec == std::errc() && ptr == num.data() + num.size()) {
    *out = d;
    return true;
  }
  config::Duration dur{};
  if (!config::ParseDuration(s, &dur)) return false;
  *out = static_cast<double>(dur.count()) / 1e9;
  return true;
}

namespace {

enum class Action { kInc, kAdd, kSet, kDec, kSub, kObserve };

struct Metric {
  std::string name;  // with its prefix
  telemetry::Type type = telemetry::Type::kCounter;
  std::string description;
  std::string source;
  int64_t max_idle_ns = 5LL * 60 * 1'000'000'000;
  bool match_all = false;
  bool count_entry_bytes = false;
  std::optional<std::string> value;
  Action action = Action::kObserve;
  std::vector<double> buckets = {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};  // Prometheus'
  std::unique_ptr<SeriesSet> series;
};

bool IsMetricName(std::string_view n) {
  if (n.empty() || (n[0] >= '0' && n[0] <= '9')) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == ':';
  });
}

class MetricsStage final : public Stage {
 public:
  MetricsStage(std::vector<Metric> metrics, telemetry::Registry* registry, int64_t now_ns)
      : metrics_(std::move(metrics)), registry_(registry), now_ns_(now_ns) {}
  ~MetricsStage() override {
    if (registry_ == nullptr) return;
    for (const Metric& m : metrics_) registry_->RemoveCollector(m.series.get());
  }

  void Process(PipelineEntry&& e, Emitter& out) override {
    for (Metric& m : metrics_) Record(m, e);
    out.Emit(std::move(e));
  }

  // Idle series are pruned at most once a second of flush time: each prune walks every series.
  void Flush(int64_t now_ns, bool force, Emitter& out) override {
    now_ns_ = now_ns;
    if (now_ns - last_prune_ns_ < 1'000'000'000) return;
    last_prune_ns_ = now_ns;
    for (Metric& m : metrics_) m.series->Prune(now_ns);
  }

  // While any series exists it may go idle: pruned at the usual once a second. None: no timer.
  int64_t NextFlushNs() const override {
    for (const Metric& m : metrics_) {
      if (m.series->size() > 0) return last_prune_ns_ + 1'000'000'000;
    }
    return kNoFlush;
  }

  std::string_view Name() const override { return "metrics"; }

 private:
  void Record(Metric& m, const PipelineEntry& e) {
    const Labels& labels = e.entry.labels;
    if (m.match_all) {
      double n = m.count_entry_bytes ? static_cast<double>(e.entry.line.size()) : 1;
      m.series->Get(labels, now_ns_)->value.Add(n);
      return;
    }
    const std::string* v = e.extracted.Get(m.source, labels);
    // A json stage's null (nil) has no value, but is there: Promtail's inc and dec without a
    // `value` count it.
    const bool nil_counts = v == nullptr && !m.value &&
                            (m.action == Action::kInc || m.action == Action::kDec) &&
                            e.extracted.IsNil(m.source);
    if (!nil_counts && (v == nullptr || (m.value && *v != *m.value))) return;
    double f = 0;
    if (m.action != Action::kInc && m.action != Action::kDec && !MetricValue(*v, &f)) return;
    // Prometheus counters only go up; Promtail would panic on a negative add.
    if (m.type == telemetry::Type::kCounter && m.action == Action::kAdd && !(f >= 0)) return;
    SeriesSet::Series* s = m.series->Get(labels, now_ns_);
    switch (m.action) {
      case Action::kInc:
        s->value.Add(1);
        break;
      case Action::kDec:
        s->value.Add(-1);
        break;
      case Action::kAdd:
        s->value.Add(f);
        break;
      case Action::kSub:
        s->value.Add(-f);
        break;
      case Action::kSet:
        s->value.Set(f);
        break;
      case Action::kObserve:
        s->histogram->Observe(f);
        break;
    }
  }

  std::vector<Metric> metrics_;
  telemetry::Registry* registry_;
  int64_t now_ns_;
  int64_t last_prune_ns_ = 0;
};

void ReadAction(config::MapReader& r, telemetry::Type type, Action* out) {
  std::string action;
  r.Str("action", &action);
  std::transform(action.begin(), action.end(), action.begin(), ::tolower);
  static constexpr std::pair<std::string_view, Action> kActions[] = {{"inc", Action::kInc},
                                                                     {"add", Action::kAdd},
                                                                     {"set", Action::kSet},
                                                                     {"dec", Action::kDec},
                                                                     {"sub", Action::kSub}};
  const bool counter = type == telemetry::Type::kCounter;
  const size_t allowed = counter ? 2 : 5;
  for (size_t i = 0; i < allowed; ++i) {
    if (kActions[i].first == action) {
      *out = kActions[i].second;
      return;
    }
  }
  r.Fail("action", counter ? "counter action must be either inc or add"
                           : "gauge action must be one of set, inc, dec, add or sub");
}

void ReadBuckets(config::MapReader& r, std::vector<double>* out) {
  YAML::Node list = r.Node("buckets");
  if (!list.IsDefined() || list.IsNull()) return;
  if (!list.IsSequence() || list.size() == 0)
    return r.Fail("buckets", "expected a list of numbers");
  out->clear();
  for (size_t i = 0; i < list.size(); ++i) {
    double d = 0;
    const std::string s = list[i].IsScalar() ? list[i].Scalar() : std::string();
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) {
      return r.Fail("buckets", fmt::format("bucket {} is not a number", i));
    }
    if (!out->empty() && d <= out->back()) {
      return r.Fail("buckets", "buckets must be in increasing order");
    }
    out->push_back(d);
  }
}

Status ReadSettings(const YAML::Node& node, const config::StageConfig& cfg, const std::string& path,
                    Metric* m) {
  config::MapReader r = ReaderAt(cfg, node, path);
  const bool counter = m->type == telemetry::Type::kCounter;
  if (m->type == telemetry::Type::kHistogram) {
    ReadBuckets(r, &m->buckets);
  } else {
    if (counter) {
      r.Bool("match_all", &m->match_all);
      r.Bool("count_entry_bytes", &m->count_entry_bytes);
    }
    if (!r.Has("action")) r.Fail("action", "action is required");
    ReadAction(r, m->type, &m->action);
  }
  if (r.Has("value")) r.Str("value", &m->value.emplace());
  if (m->match_all && m->value) r.Fail("value", "match_all: true cannot be combined with value");
  if (m->count_entry_bytes && !m->match_all) {
    r.Fail("count_entry_bytes", "count_entry_bytes: true can only be set with match_all: true");
  }
  if (m->count_entry_bytes && m->action != Action::kAdd) {
    r.Fail("count_entry_bytes", "count_entry_bytes: true can only be used with action: add");
  }
  return r.Finish();
}

Status ReadMetric(const YAML::Node& node, const config::StageConfig& cfg, const std::string& path,
                  const std::string& name, Metric* m) {
  config::MapReader r = ReaderAt(cfg, node, path);
  std::string type, prefix = "promtail_custom_";
  r.Str("type", &type);
  std::transform(type.begin(), type.end(), type.begin(), ::tolower);
  if (type == "counter")
    m->type = telemetry::Type::kCounter;
  else if (type == "gauge")
    m->type = telemetry::Type::kGauge;
  else if (type == "histogram")
    m->type = telemetry::Type::kHistogram;
  else
    r.Fail("type", "metric type must be one of Counter, Gauge or Histogram");
  r.Str("description", &m->description);
  r.Str("prefix", &prefix);
  if (prefix.empty()) prefix = "promtail_custom_";  // Promtail treats "" as unset
  m->name = prefix + name;
  if (!IsMetricName(m->name)) r.Fail("prefix", "\"" + m->name + "\" is not a valid metric name");
  m->source = name;
  r.Str("source", &m->source);
  if (m->source.empty()) r.Fail("source", "must not be empty");
  config::Duration idle = std::chrono::minutes(5);
  r.Dur("max_idle_duration", &idle);
  if (idle < std::chrono::seconds(1)) {
    r.Fail("max_idle_duration", "max_idle_duration less than 1s not allowed");
  }
  m->max_idle_ns = idle.count();
  YAML::Node settings = r.Node("config");
  if (Status s = r.Finish(); !s.ok()) return s;
  if (m->type != telemetry::Type::kHistogram && !settings.IsDefined()) {
    return config::ErrorAt(cfg.file, node, path + ".config", "config with an action is required");
  }
  return ReadSettings(settings, cfg, path + ".config", m);
}

}  // namespace

Result<std::unique_ptr<Stage>> NewMetricsStage(const config::StageConfig& cfg,
                                               const StageContext& ctx, const std::string& path) {
  if (!cfg.body.IsMap() || cfg.body.size() == 0) {
    return Err(config::ErrorAt(cfg.file, cfg.body, path, "at least one metric is required"));
  }
  std::vector<Metric> metrics;
  for (auto it = cfg.body.begin(); it != cfg.body.end(); ++it) {
    const std::string name = it->first.Scalar();
    const std::string sub = path + "." + name;
    Metric m;
    if (Status s = ReadMetric(it->second, cfg, sub, name, &m); !s.ok()) return Err(s);
    m.series = std::make_unique<SeriesSet>(m.type, m.description, m.buckets, m.max_idle_ns);
    metrics.push_back(std::move(m));
  }
  telemetry::Registry* registry = ctx.metrics != nullptr ? &ctx.metrics->registry : nullptr;
  for (size_t i = 0; registry != nullptr && i < metrics.size(); ++i) {
    if (registry->AddCollector(metrics[i].name, metrics[i].series.get())) continue;
    for (size_t j = 0; j < i; ++j) registry->RemoveCollector(metrics[j].series.get());
    return Err(config::ErrorAt(
        cfg.file, cfg.body, path,
        fmt::format("metric {} is already registered with another type", metrics[i].name)));
  }
  const Clock* clock = ctx.clock != nullptr ? ctx.clock : &SystemClock::Get();
  return std::make_unique<MetricsStage>(std::move(metrics), registry, clock->NowNs());
}

}  // namespace skidder::pipeline::stages
