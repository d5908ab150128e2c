// SeriesSet: the series of one custom metric of the metrics stage, keyed by label set.
//
// Written by the pipeline thread (Get, Prune), rendered by the /metrics thread through the
// telemetry::Collector interface. Only the pipeline thread changes the set's structure, under
// mu_; it reads the structure without the lock (nobody else writes it), so the per-entry path
// takes no lock: a last-hit check, then one hash lookup of a 64-bit key.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/labels.h"
#include "telemetry/registry.h"

namespace skidder::pipeline::stages {

class SeriesSet final : public telemetry::Collector {
 public:
  struct Series {
    Labels labels;                                    // the entry's labels minus internal ones
    telemetry::Gauge value;                           // counters and gauges
    std::unique_ptr<telemetry::Histogram> histogram;  // histograms
    int64_t last_update_ns = 0;                       // pipeline thread only
  };

  // bounds are used when type is kHistogram.
  SeriesSet(telemetry::Type type, std::string help, std::vector<double> bounds,
            int64_t max_idle_ns);

  // The series for an entry's labels, created on first use and stamped with now_ns.
  Series* Get(const Labels& labels, int64_t now_ns);
  // Removes series idle for max_idle_ns or longer.
  void Prune(int64_t now_ns);
  size_t size() const { return owned_.size(); }

  telemetry::Type type() const override { return type_; }
  const std::string& help() const override { return help_; }
  void RenderSamples(const std::string& name, std::string& out) const override;

 private:
  Series* Create(const Labels& labels);

  const telemetry::Type type_;
  const std::string help_;
  const std::vector<double> bounds_;
  const int64_t max_idle_ns_;
  mutable std::mutex mu_;  // held by writers of owned_ and by RenderSamples
  std::unordered_map<uint64_t, std::unique_ptr<Series>> owned_;  // by hash of Series::labels
  std::unordered_map<uint64_t, Series*> index_;  // by hash of the entry's full label set
  uint64_t last_hash_ = 0;
  Series* last_ = nullptr;
};

}  // namespace skidder::pipeline::stages
