// Pipeline: the ordered stages of one scrape config, built from its pipeline_stages.
//
// Owned and called by one thread (the one that reads that job's files). Entries leave through
// the Emitter given to Run()/Flush() (the batcher, or stdout under -dry-run).
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "model/line_buffers.h"
#include "model/sink.h"
#include "pipeline/stage.h"
#include "telemetry/agent_metrics.h"
#include "util/clock.h"
#include "util/status.h"

namespace skidder::pipeline {

class Inspector;

// What stages may need at construction.
struct StageContext {
  telemetry::AgentMetrics* metrics = nullptr;  // may be null in tests
  const config::LimitsConfig* limits = nullptr;
  std::string job_name;
  // The clock of Process(Entry&&, Emitter&), the one-entry convenience (stages themselves get
  // "now" with each entry), and of the metrics stage's start time; null means SystemClock.
  // Tests pass a FakeClock.
  const Clock* clock = nullptr;
  // Number of Loki clients, so a fanout stage can check the indices it routes to; 0 = unknown
  // (tests, -stdin without clients): any index below 64 is accepted.
  size_t clients = 0;
  // Where keys a stage of Promtail YAML does not know are reported, as warnings: Promtail
  // decodes a stage's body leniently (mapstructure), so a config it ran has to start here too.
  // Null (tests): such keys are refused, as they always are in an Alloy block.
  std::vector<std::string>* warnings = nullptr;
};

// The end of a source's pipeline: hands each entry to the sink (the Loki clients).
class SinkEmitter final : public Emitter {
 public:
  explicit SinkEmitter(EntrySink* sink) : sink_(sink) {}
  void Emit(PipelineEntry&& e) override { sink_->Push(std::move(e.entry)); }

 private:
  EntrySink* sink_;
};

// The end of a source's pipeline that batches: collects what one read produced and hands it to
// the sink at once (Flush), so the sink locks, reads its clock and finds its tenant batch once per
// read rather than per entry. The vector is reused: a read costs no allocation here.
class BatchEmitter final : public Emitter {
 public:
  explicit BatchEmitter(EntrySink* sink) : sink_(sink) {}
  ~BatchEmitter() override { Flush(); }
  void Emit(PipelineEntry&& e) override { batch_.push_back(std::move(e.entry)); }
  // The last entry collected since the last Flush, or nullptr.
  const Entry* last() const { return batch_.empty() ? nullptr : &batch_.back(); }
  void Flush() {
    if (batch_.empty()) return;
    sink_->PushBatch(batch_);
    line_buffers::GiveBack(batch_);  // the sinks kept copies: the next read reuses the buffers
    ReleaseRefs(batch_);  // labels, and the AckRefs of entries the sink refused: a run at a time
    batch_.clear();
  }

 private:
  EntrySink* sink_;
  std::vector<Entry> batch_;
};

class Pipeline {
 public:
  // Builds every stage; the first bad stage config is returned with file:line:column.
  static Result<std::unique_ptr<Pipeline>> Build(const std::vector<config::StageConfig>& stages,
                                                 const StageContext& ctx);
  // As above, naming stage i "<path_prefix>[i].<type>" in errors (the match stage's nested
  // stages: "pipeline_stages[3].match.stages"), or by its StageConfig::name when it has one.
  static Result<std::unique_ptr<Pipeline>> Build(const std::vector<config::StageConfig>& stages,
                                                 const StageContext& ctx,
                                                 const std::string& path_prefix);
  explicit Pipeline(std::vector<std::unique_ptr<Stage>> stages, const Clock* clock = nullptr);
  ~Pipeline();

  // One entry of a batch whose time the source read once (BatchTime::Of its clock).
  void Process(Entry&& e, const BatchTime& now, Emitter& out);
  // One entry on its own: reads the pipeline's clock (sources that hand on single entries, tests).
  void Process(Entry&& e, Emitter& out) { Process(std::move(e), BatchTime::Of(*clock_), out); }
  // An entry that already carries extracted values (the match stage runs its nested stages so).
  void Process(PipelineEntry&& e, Emitter& out);
  void Flush(int64_t now_ns, bool force, Emitter& out);
  // Stage::Hold on every stage; Holding: any stage's.
  void Hold(int64_t now_ns, const UnreadSources& unread);
  bool Holding() const;
  // The longest wait after steady_ns any stage asks for (Stage::ReadyInNs); 0 when all are ready.
  int64_t ReadyInNs(int64_t steady_ns) const;
  // The earliest Stage::NextFlushNs of its stages: kNoFlush when no stage waits for time.
  int64_t NextFlushNs() const;
  // The clients this pipeline's entries can go to (Stage::Routes of its last stage): every
  // client unless it ends in a fanout that names some.
  uint64_t Routes() const { return stages_.empty() ? ~uint64_t{0} : stages_.back()->Routes(); }
  size_t size() const { return stages_.size(); }

  // -inspect: from now on, prints to out what each stage changed in each entry (labels,
  // extracted values, timestamp, line), as Promtail's --inspect does; coloured when out is a
  // terminal. nullptr turns it off. Not owned; must outlive the pipeline or the next call.
  // Without an inspector the runner pays one branch per entry.
  void SetInspector(std::FILE* out);

 private:
  class Link;
  class InspectLink;
  std::unique_ptr<Inspector> inspector_;
  std::vector<std::unique_ptr<InspectLink>> inspect_links_;  // feed stages_[i], with a diff
  std::vector<std::unique_ptr<Stage>> stages_;
  std::vector<std::unique_ptr<Link>> links_;  // links_[i] feeds stages_[i]
  Emitter* out_ = nullptr;                    // the current caller's Emitter, after the last stage
  PipelineEntry scratch_;                     // reused by Process(Entry&&)
  const Clock* clock_;
  bool in_process_ = false;
};

}  // namespace skidder::pipeline
