// Helpers shared by the stage implementations in pipeline/stages/: strict reading of a stage's
// config body, the `source` text a stage works on, drop and truncation counters and the output
// cap. Not used outside agent/pipeline/.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/yaml_reader.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "telemetry/registry.h"
#include "util/assoc_cache.h"

namespace skidder::pipeline::stages {

// The text a stage with an optional `source` key works on: the extracted value named by source
// (copied into *copy, since Set() on the extracted map may move its storage), or the line when
// there is no source. nullopt when source names nothing: the stage passes the entry on as it is.
std::optional<std::string_view> SourceText(const PipelineEntry& e,
                                           const std::optional<std::string>& source,
                                           std::string* copy);

// MapReader over a stage's body, for strict key reading with file:line:column errors.
// A reader of a mapping inside the stage's body (a metric of the metrics stage): unknown keys
// are the stage's (see StageConfig::unknown_keys).
inline config::MapReader ReaderAt(const config::StageConfig& cfg, const YAML::Node& node,
                                  const std::string& path) {
  config::MapReader r(node, cfg.file, path);
  if (cfg.unknown_keys != nullptr) r.CollectUnknownKeys(cfg.unknown_keys);
  return r;
}

inline config::MapReader ReaderFor(const config::StageConfig& cfg, const std::string& path) {
  return ReaderAt(cfg, cfg.body, path);
}

// A stage without options: `name: {}` or `name:`; a key in the body is the reader's error.
inline Status CheckNoOptions(const config::StageConfig& cfg, const std::string& path) {
  if (cfg.body.IsNull()) return Status::Ok();
  return ReaderFor(cfg, path).Finish();
}

// logentry_dropped_lines_total{reason}; nullptr when the context has no metrics.
telemetry::Counter* DropCounter(const StageContext& ctx, std::string_view reason);

// A nested list of stages (match's `stages`, fanout's branches), read as pipeline_stages is.
// Each takes its parent's file, or its own place and name from the parent's origins.
Status ReadNestedStages(const YAML::Node& list, const config::StageConfig& parent,
                        const std::string& path, std::vector<config::StageConfig>* out);

// The longest text a template or replace stage builds for one entry: limits_config.max_line_size,
// else 4 MiB. A template can repeat its input and a replace can match between every character,
// so without a bound one 200 KB line could become gigabytes. Longer results are cut (or, for a
// template function, refused) and counted in TruncatedCounter.
inline constexpr size_t kMaxStageOutputBytes = 4 << 20;
size_t StageOutputCap(const StageContext& ctx);
telemetry::Counter* TruncatedCounter(const StageContext& ctx);  // nullptr without metrics

// What a stage made of the label sets it saw last. Every entry of a file carries that file's
// label set (shared, copy-on-write), so a stage that adds or changes labels would copy the set
// for every line; remembering the result lets the next entry of the file take a shared copy
// instead (no allocation). Keyed by the input set's identity (Labels::SameAs; the memo holds a
// reference, so the identity cannot be reused) and a key the stage builds from whatever else
// the result depends on (the extracted values it reads; empty when nothing). An AssocCache: a
// pipeline's thread interleaves reads of many files (a node following a thousand files that each
// grow a line now and then sees a different input set on every read; eight slots searched in
// turn missed on every line, and each miss made a new set that also missed the Loki client's
// memo of final labels). A set no other Labels
// shares (made by an earlier stage for this entry alone) is not worth remembering: Use() says
// so, and the stage changes it in place.
class LabelsMemo {
 public:
  static bool Use(const Labels& in) { return in.empty() || in.Shared(); }
  // Gives `labels` what change(labels) makes of them: from memory when (labels, key) was seen
  // before, else by calling change and remembering the result.
  template <typename F>
  void Apply(Labels& labels, std::string_view key, F&& change) {
    if (!Use(labels)) return change(labels);
    if (const Labels* done = Find(labels, key)) {
      labels = *done;
      return;
    }
    const Labels in = labels;
    change(labels);
    Store(in, key, labels);
  }

 private:
  // The remembered result for (in, key), or nullptr.
  const Labels* Find(const Labels& in, std::string_view key) const;
  // Remembers out as the result for (in, key).
  void Store(const Labels& in, std::string_view key, const Labels& out);

  struct Slot {
    bool used = false;
    Labels in, out;
    std::string key;
  };
  static uint64_t Hash(const Labels& in, std::string_view key);
  // At most 1024 slots (~56 KB, and the sets they hold) per stage that grew that far: the
  // 10,000-file backlog keeps the table full, and 2048 slots here and in the client's memo
  // raised its peak RSS by 2.7 MB (to 40.5).
  mutable AssocCache<Slot> slots_{1024};
};

// Sets the `stream` label (cri, docker) through memo: consecutive entries of a file share the
// result instead of copying their label set per line.
void SetStreamLabel(Labels& labels, std::string_view stream, LabelsMemo& memo);

inline void Inc(telemetry::Counter* c, double n = 1) {
  if (c != nullptr) c->Add(n);
}

}  // namespace skidder::pipeline::stages
