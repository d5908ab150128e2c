// Inspector: what -inspect prints, the changes one stage made to one entry, as Promtail's
// inspector prints them:
//   [inspect: regex stage]:
//   {stages.Entry}.Extracted["level"]:
//   	+: info
//   [inspect: json stage]: none
// Paths follow Promtail's Go structs: {stages.Entry}.Extracted[k], {stages.Entry}.Entry.Labels[k],
// {stages.Entry}.Entry.Entry.Timestamp / .Line / .StructuredMetadata[k]. Coloured (bold stage,
// green added, red removed, yellow changed) only when the output is a terminal.
// Owned by a Pipeline, used from its thread; snapshots cost copies, paid only under -inspect.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pipeline/stage.h"

namespace skidder::pipeline {

class Inspector {
 public:
  // The state of an entry before a stage.
  struct Snapshot {
    Labels labels;
    std::vector<std::pair<std::string, std::string>> extracted;
    int64_t timestamp_ns = 0;
    std::string line;
    std::vector<Label> structured_metadata;
    bool emitted = false;  // the stage emitted at least one entry since the snapshot
  };

  Inspector(std::FILE* out, bool color) : out_(out), color_(color) {}
  // Colours when out is a terminal.
  explicit Inspector(std::FILE* out);

  static void Take(const PipelineEntry& e, Snapshot* s);
  // Prints what changed from `before` to `after` in stage `stage`.
  void Report(std::string_view stage, const Snapshot& before, const PipelineEntry& after);
  // Prints that the stage kept nothing (dropped it, or holds it for later, like multiline).
  void ReportNothingEmitted(std::string_view stage);

 private:
  std::FILE* out_;
  bool color_;
};

// Go's time.Time %v in UTC: "2024-05-01 10:00:00.5 +0000 UTC".
std::string GoTimeString(int64_t unix_ns);

}  // namespace skidder::pipeline
