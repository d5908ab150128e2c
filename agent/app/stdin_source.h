// StdinSource: -stdin reads lines from standard input through one pipeline into the sink, like
// Promtail's stdin mode (`cat app.log | skidder -stdin -dry-run -config.file=...`), and asks the
// process to shut down (SIGTERM to itself) at end of input, so the normal shutdown flushes the
// clients before exit.
//
// Owns one reading thread. Entries carry no AckRef: there is no file position to keep.
#pragma once

#include <atomic>
#include <thread>

#include "model/labels.h"
#include "model/sink.h"
#include "pipeline/pipeline.h"
#include "util/arrival_stamps.h"
#include "util/clock.h"

namespace skidder::app {

class StdinSource {
 public:
  StdinSource(pipeline::Pipeline* pipeline, Labels labels, EntrySink* sink, Clock* clock,
              int fd = 0);
  ~StdinSource() { Stop(); }
  void Start();
  // Stops reading (within ~100 ms if input is idle) and joins.
  void Stop();

 private:
  void Run();
  void Emit(std::string_view line, pipeline::Emitter& out);

  pipeline::Pipeline* pipeline_;
  Labels labels_;
  EntrySink* sink_;
  Clock* clock_;
  ArrivalStamps stamps_;  // the reading thread's
  int fd_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Labels of stdin entries: {job="stdin", hostname=<host>} overridden by the first static_config's
// labels of the first scrape config (internal "__" labels left out).
Labels StdinLabels(const std::vector<Labels>& static_targets);

}  // namespace skidder::app
