// ProcessMetrics: the process_* series every Prometheus client library exports (and Promtail's,
// through Go's), read from /proc/self at scrape time, so memory and CPU panels built for
// Promtail keep working: process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds, process_start_time_seconds.
#pragma once

#include <memory>
#include <vector>

#include "telemetry/registry.h"

namespace skidder::telemetry {

class ProcessMetrics {
 public:
  // Registers the series in r, which must outlive this object.
  explicit ProcessMetrics(Registry& r);
  ~ProcessMetrics();
  ProcessMetrics(const ProcessMetrics&) = delete;
  ProcessMetrics& operator=(const ProcessMetrics&) = delete;

  class Series;  // one metric, its value read when rendered

 private:
  Registry& registry_;
  std::vector<std::unique_ptr<Series>> series_;
};

}  // namespace skidder::telemetry
