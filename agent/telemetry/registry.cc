#include "telemetry/registry.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace skidder::telemetry {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i] = 0;
}

void Histogram::Observe(double v) {
  // NaN compares false with every bound: lower_bound would put it in the first bucket, where
  // Prometheus counts it only in +Inf.
  const size_t i = std::isnan(v)
                       ? bounds_.size()
                       : static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) -
                                             bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t acc = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    acc += buckets_[i].load(std::memory_order_relaxed);
    out[i] = acc;
  }
  return out;
}

template <typename T>
T* Family<T>::With(const std::vector<std::string>& values) {
  std::lock_guard lock(mu_);
  auto it = children_.find(values);
  if (it != children_.end()) return it->second.get();
  std::unique_ptr<T> child;
  if constexpr (std::is_same_v<T, Histogram>) {
    child = std::make_unique<T>(bounds_);
  } else {
    child = std::make_unique<T>();
  }
  T* raw = child.get();
  children_.emplace(values, std::move(child));
  return raw;
}

template <typename T>
void Family<T>::Remove(const std::vector<std::string>& values) {
  std::lock_guard lock(mu_);
  children_.erase(values);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

namespace {

std::mutex& ShareMutex() {  // leaked with the map: usable whatever the order of exit
  static auto* mu = new std::mutex();
  return *mu;
}
// The shares of each shared gauge (a few: the clients of one host). Guarded by ShareMutex().
std::map<const Gauge*, std::vector<GaugeMaxShare*>>& Shares() {
  static auto* shares = new std::map<const Gauge*, std::vector<GaugeMaxShare*>>();
  return *shares;
}

}  // namespace

GaugeMaxShare::GaugeMaxShare(Gauge* gauge) : gauge_(gauge) {
  std::lock_guard lock(ShareMutex());
  Shares()[gauge_].push_back(this);
}

GaugeMaxShare::~GaugeMaxShare() {
  std::lock_guard lock(ShareMutex());
  auto it = Shares().find(gauge_);
  std::erase(it->second, this);
  if (it->second.empty()) {  // no client pushes to that host any more (a reload): no lag
    Shares().erase(it);
    gauge_->Set(0);
    return;
  }
  double max = it->second.front()->value_;
  for (const GaugeMaxShare* s : it->second) max = std::max(max, s->value_);
  gauge_->Set(max);
}

void GaugeMaxShare::Set(double v) {
  std::lock_guard lock(ShareMutex());
  value_ = v;
  double max = v;
  for (const GaugeMaxShare* s : Shares()[gauge_]) max = std::max(max, s->value_);
  gauge_->Set(max);
}

namespace {

template <typename T>
Family<T>& FindOrAdd(std::mutex& mu, std::map<std::string, std::pair<Type, void*>>& index,
                     std::vector<std::unique_ptr<Family<T>>>& store, Type type,
                     const std::string& name, const std::string& help,
                     std::vector<std::string> labels, std::vector<double> bounds = {}) {
  std::lock_guard lock(mu);
  auto it = index.find(name);
  if (it != index.end()) {
    if (it->second.first != type) throw std::logic_error("metric type clash: " + name);
    return *static_cast<Family<T>*>(it->second.second);
  }
  store.push_back(std::make_unique<Family<T>>(name, help, std::move(labels), std::move(bounds)));
  index.emplace(name, std::make_pair(type, store.back().get()));
  return *store.back();
}

std::string LabelBlock(const std::vector<std::string>& names,
                       const std::vector<std::string>& values, std::string_view extra_name = {},
                       std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return {};
  std::string out = "{";
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.append(names[i]).append("=\"");
    AppendLabelValue(out, values[i]);
    out.push_back('"');
  }
  if (!extra_name.empty()) {
    if (!names.empty()) out.push_back(',');
    out.append(extra_name).append("=\"").append(extra_value).append("\"");
  }
  out.push_back('}');
  return out;
}

}  // namespace

std::string FormatValue(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{}", v);
}

Family<Counter>& Registry::NewCounter(const std::string& name, const std::string& help,
                                      std::vector<std::string> labels) {
  return FindOrAdd(mu_, index_, counters_, Type::kCounter, name, help, std::move(labels));
}

Family<Gauge>& Registry::NewGauge(const std::string& name, const std::string& help,
                                  std::vector<std::string> labels) {
  return FindOrAdd(mu_, index_, gauges_, Type::kGauge, name, help, std::move(labels));
}

Family<Histogram>& Registry::NewHistogram(const std::string& name, const std::string& help,
                                          std::vector<std::string> labels,
                                          std::vector<double> bounds) {
  return FindOrAdd(mu_, index_, histograms_, Type::kHistogram, name, help, std::move(labels),
                   std::move(bounds));
}

std::string Registry::Render() const {
  std::lock_guard lock(mu_);
  std::string out;
  out.reserve(4096);
  for (const auto& [name, entry] : index_) {
    switch (entry.first) {
      case Type::kCounter: {
        auto* f = static_cast<Family<Counter>*>(entry.second);
        out.append(fmt::format("# HELP {} {}\n# TYPE {} counter\n", name, f->help(), name));
        f->ForEach([&](const std::vector<std::string>& values, const Counter& c) {
          out.append(name).append(LabelBlock(f->label_names(), values)).push_back(' ');
          out.append(FormatValue(c.Value())).push_back('\n');
        });
        break;
      }
      case Type::kGauge: {
        auto* f = static_cast<Family<Gauge>*>(entry.second);
        out.append(fmt::format("# HELP {} {}\n# TYPE {} gauge\n", name, f->help(), name));
        f->ForEach([&](const std::vector<std::string>& values, const Gauge& g) {
          out.append(name).append(LabelBlock(f->label_names(), values)).push_back(' ');
          out.append(FormatValue(g.Value())).push_back('\n');
        });
        break;
      }
      case Type::kHistogram: {
        auto* f = static_cast<Family<Histogram>*>(entry.second);
        out.append(fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, f->help(), name));
        f->ForEach([&](const std::vector<std::string>& values, const Histogram& h) {
          auto counts = h.CumulativeCounts();
          for (size_t i = 0; i < counts.size(); ++i) {
            std::string le = i < h.bounds().size() ? FormatValue(h.bounds()[i]) : "+Inf";
            out.append(name).append("_bucket");
            out.append(LabelBlock(f->label_names(), values, "le", le));
            out.append(fmt::format(" {}\n", counts[i]));
          }
          out.append(name).append("_sum").append(LabelBlock(f->label_names(), values));
          out.append(" ").append(FormatValue(h.Sum())).push_back('\n');
          out.append(name).append("_count").append(LabelBlock(f->label_names(), values));
          out.append(fmt::format(" {}\n", h.Count()));
        });
        break;
      }
    }
  }
  for (const auto& [name, list] : collectors_) {
    if (list.empty()) continue;
    static constexpr const char* kTypeNames[] = {"counter", "gauge", "histogram"};
    out.append(fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, list.front()->help(), name,
                           kTypeNames[static_cast<int>(list.front()->type())]));
    for (const Collector* c : list) c->RenderSamples(name, out);
  }
  return out;
}

bool Registry::AddCollector(const std::string& name, Collector* c) {
  std::lock_guard lock(mu_);
  if (index_.contains(name)) return false;
  std::vector<Collector*>& list = collectors_[name];
  if (!list.empty() && list.front()->type() != c->type()) return false;
  list.push_back(c);
  return true;
}

void Registry::RemoveCollector(Collector* c) {
  std::lock_guard lock(mu_);
  for (auto it = collectors_.begin(); it != collectors_.end();) {
    std::erase(it->second, c);
    it = it->second.empty() ? collectors_.erase(it) : std::next(it);
  }
}

void AppendLabelValue(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\')
      out.append("\\\\");
    else if (c == '"')
      out.append("\\\"");
    else if (c == '\n')
      out.append("\\n");
    else
      out.push_back(c);
  }
}

// Prometheus' default buckets, as Promtail's request histogram: during a migration both agents'
// buckets sum into one histogram (extra bounds on one side made its quantiles wrong).
std::vector<double> DefaultDurationBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

}  // namespace skidder::telemetry
