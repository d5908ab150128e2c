#include "pipeline/stages/pack.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "lang/go/go_json.h"
#include "pipeline/stage_support.h"
#include "util/arrival_stamps.h"

namespace skidder::pipeline::stages {
namespace {

constexpr std::string_view kEntryKey = "_entry";

class PackStage final : public Stage {
 public:
  PackStage(std::vector<std::string> names, bool ingest_timestamp)
      : names_(std::move(names)), ingest_timestamp_(ingest_timestamp) {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    // Promtail's Packed.MarshalJSON: the names sorted, each value and the line through Go's
    // json.Marshal, `_entry` last.
    buffer_.assign("{");
    found_.clear();
    for (size_t i = 0; i < names_.size(); ++i) {
      const std::string* v = e.extracted.Get(names_[i], e.entry.labels);
      if (v == nullptr) continue;
      lang::go::AppendGoJsonString(names_[i], &buffer_);
      buffer_.push_back(':');
      lang::go::AppendGoJsonString(*v, &buffer_);
      buffer_.push_back(',');
      found_.push_back(i);
    }
    lang::go::AppendGoJsonString(kEntryKey, &buffer_);
    buffer_.push_back(':');
    lang::go::AppendGoJsonString(e.entry.line, &buffer_);
    buffer_.push_back('}');
    // Labels go only once the line is packed, as in Promtail.
    for (size_t i : found_) e.entry.labels.Remove(names_[i]);
    e.entry.line.assign(buffer_);
    // Entries of one batch share its time: each gets its own (ArrivalStamps), or Loki would keep
    // one of two equal packed lines.
    if (ingest_timestamp_) e.entry.timestamp_ns = ingest_stamps_.Next(e.now.wall_ns);
    out.Emit(std::move(e));
  }

  std::string_view Name() const override { return "pack"; }

 private:
  std::vector<std::string> names_;  // sorted, unique
  bool ingest_timestamp_;
  ArrivalStamps ingest_stamps_;
  std::string buffer_;  // reused per entry
  std::vector<size_t> found_;
};

}  // namespace

Result<std::unique_ptr<Stage>> NewPackStage(const config::StageConfig& cfg, const StageContext& ctx,
                                            const std::string& path) {
  config::MapReader r = ReaderFor(cfg, path);
  std::vector<std::string> names;
  bool ingest_timestamp = true;
  r.StrList("labels", &names);
  r.Bool("ingest_timestamp", &ingest_timestamp);
  if (names.empty()) r.Fail("labels", "pack stage requires at least one label");
  if (Status s = r.Finish(); !s.ok()) return Err(std::move(s));
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return std::make_unique<PackStage>(std::move(names), ingest_timestamp);
}

}  // namespace skidder::pipeline::stages
