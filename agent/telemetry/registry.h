// A small Prometheus metrics registry: counters, gauges and histograms with labels, rendered in
// the text exposition format on /metrics.
//
// Families are created once (at start) and live as long as the registry; a child for a label
// combination is looked up once and then updated lock-free, so hot paths keep a Counter* and
// call Add() per batch. Thread-safe.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace skidder::telemetry {

class Counter {
 public:
  void Add(double v = 1) { value_.fetch_add(v, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// One gauge several owners set, showing the largest of their values: clients pushing to one host
// share promtail_stream_lag_seconds{host} (Promtail's labels), and the last client to set it
// won, so a healthy client's 0 hid a blocked one's lag from the alert on it. The gauge must
// outlive its shares. Any thread.
class GaugeMaxShare {
 public:
  explicit GaugeMaxShare(Gauge* gauge);
  ~GaugeMaxShare();  // the gauge shows the largest value of the shares left (0: none left)
  GaugeMaxShare(const GaugeMaxShare&) = delete;
  GaugeMaxShare& operator=(const GaugeMaxShare&) = delete;

  void Set(double v);

 private:
  Gauge* gauge_;
  double value_ = 0;  // guarded by the shares' mutex (registry.cc)
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative counts per bound, then +Inf.
  std::vector<uint64_t> CumulativeCounts() const;
  double Sum() const { return sum_.load(std::memory_order_relaxed); }
  uint64_t Count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
  std::atomic<uint64_t> count_{0};
};

enum class Type { kCounter, kGauge, kHistogram };

// Series rendered by their owner, for metrics whose label names differ from series to series
// (the pipeline's metrics stage labels each series with an entry's whole label set, as Promtail
// does). The owner registers it with Registry::AddCollector and removes it before destroying it;
// RenderSamples is called from the /metrics thread while the owner keeps updating.
class Collector {
 public:
  virtual ~Collector() = default;
  virtual Type type() const = 0;
  virtual const std::string& help() const = 0;
  // Appends the sample lines (no # HELP / # TYPE) of the metric `name`.
  virtual void RenderSamples(const std::string& name, std::string& out) const = 0;
};

// A metric name with a fixed list of label names; children per label values.
template <typename T>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> bounds = {})
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        bounds_(std::move(bounds)) {}

  // Values must match label_names() in count. The pointer stays valid for the family's life.
  T* With(const std::vector<std::string>& values);
  // Removes a child, e.g. the per-file gauges of a file no longer tailed.
  void Remove(const std::vector<std::string>& values);

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  template <typename F>
  void ForEach(F&& f) const {
    std::lock_guard lock(mu_);
    for (const auto& [values, child] : children_) f(values, *child);
  }

 private:
  std::string name_, help_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_;
};

class Registry {
 public:
  Family<Counter>& NewCounter(const std::string& name, const std::string& help,
                              std::vector<std::string> labels = {});
  Family<Gauge>& NewGauge(const std::string& name, const std::string& help,
                          std::vector<std::string> labels = {});
  Family<Histogram>& NewHistogram(const std::string& name, const std::string& help,
                                  std::vector<std::string> labels, std::vector<double> bounds);
  // A family registered under the same name is returned again (same type required), so stages
  // re-created on reload keep their counts.
  // Text exposition format 0.0.4.
  std::string Render() const;

  // Renders c under name. Several collectors may share a name if their types agree (two scrape
  // configs defining the same custom metric); false when the name belongs to a family or to
  // collectors of another type. Remove before destroying c.
  bool AddCollector(const std::string& name, Collector* c);
  void RemoveCollector(Collector* c);

 private:
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family<Counter>>> counters_;
  std::vector<std::unique_ptr<Family<Gauge>>> gauges_;
  std::vector<std::unique_ptr<Family<Histogram>>> histograms_;
  std::map<std::string, std::pair<Type, void*>> index_;        // sorted: stable output
  std::map<std::string, std::vector<Collector*>> collectors_;  // rendered after the families
};

// Appends v escaped as a label value of the text exposition format (\\, \" and \n).
void AppendLabelValue(std::string& out, std::string_view v);
// A sample's value as the text format writes it (integers without a fraction, +Inf, NaN).
std::string FormatValue(double v);

// Buckets for request durations in seconds.
std::vector<double> DefaultDurationBuckets();

}  // namespace skidder::telemetry
