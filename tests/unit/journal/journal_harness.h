// Test harness for the journal source: a JournalSource over a temp directory of journal files
// made with systemd-journal-remote, feeding the recording FakeSink of the file source tests.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "kubernetes/relabel.h"
#include "sources/journal/journal_source.h"
#include "support/journal_writer.h"
#include "support/test_util.h"
#include "unit/sources/fake_sink.h"

namespace skidder::sources::journal::testing {

using skidder::testing::JournalEntry;
using skidder::testing::NowUs;
using skidder::testing::WaitFor;
using skidder::testing::WriteJournal;

inline JournalEntry Msg(std::string message, std::string unit = "app.service", uint64_t at_us = 0) {
  return {at_us != 0 ? at_us : NowUs(), {{"MESSAGE", std::move(message)}, {"_SYSTEMD_UNIT", unit}}};
}

inline std::vector<JournalEntry> Numbered(const std::string& prefix, int from, int to) {
  std::vector<JournalEntry> v;
  for (int i = from; i < to; ++i) v.push_back(Msg(prefix + std::to_string(i)));
  return v;
}

// The file source tests' recording sink, also counting how often readers ask Saturated().
class CountingSink final : public EntrySink {
 public:
  void PushBatch(std::span<Entry> batch) override { inner_.PushBatch(batch); }
  bool Saturated() const override {
    if (counting_) ++calls_;
    return inner_.Saturated();
  }
  void CountSaturatedCalls() { counting_ = true; }
  int saturated_calls() const { return calls_.load(); }
  void SetSaturated(bool s) { inner_.SetSaturated(s); }
  void HoldAcks(bool hold) { inner_.HoldAcks(hold); }
  size_t Count() const { return inner_.Count(); }
  std::vector<std::string> Lines() const { return inner_.Lines(); }
  std::vector<Entry> Take() { return inner_.Take(); }

 private:
  sources::testing::FakeSink inner_;
  std::atomic<bool> counting_{false};
  mutable std::atomic<int> calls_{0};
};

class JournalHarness {
 public:
  JournalHarness() : metrics(registry) {
    cfg.path = dir.path() + "/journal";
    skidder::testing::MakeDirs(cfg.path);
    rules.push_back({"[__journal__systemd_unit]", "unit"});
  }
  ~JournalHarness() { Stop(); }

  std::string File(const std::string& name) const { return cfg.path + "/" + name; }

  Status Start() {
    if (!positions)
      positions = std::make_unique<Positions>(dir / "positions.json", false, &metrics);
    auto compiled = kubernetes::CompileRelabel(RelabelConfigs());
    if (!compiled) return compiled.error();
    JournalSourceOptions o;
    o.job_name = "node";
    o.config = cfg;
    o.relabel = std::move(*compiled);
    o.pipeline = pipeline != nullptr ? pipeline : &pipe;
    o.batch_entries = batch_entries;
    o.max_field_bytes = max_field_bytes;
    o.local = local;
    source = std::make_unique<JournalSource>(std::move(o), positions.get(), &sink, &metrics, clock);
    return source->Start();
  }
  void Stop() {
    if (source) source->Stop();
    source.reset();
  }
  // Stops, saves the acknowledged cursor and starts again from the positions file.
  void Restart() {
    if (source) source->SyncPositions();
    Stop();
    ASSERT_TRUE(positions->Save().ok());
    positions = std::make_unique<Positions>(dir / "positions.json", false, &metrics);
    ASSERT_TRUE(Start().ok());
  }
  bool WaitCount(size_t n) {
    return WaitFor([&] { return sink.Count() >= n; });
  }
  std::vector<std::string> Lines() const { return sink.Lines(); }

  // relabel_configs as {source_label, target_label} pairs (action replace), or set `raw`.
  struct Rule {
    std::string source, target;
  };
  std::vector<config::RelabelConfig> RelabelConfigs() const {
    if (!raw.empty()) return raw;
    std::vector<config::RelabelConfig> out;
    for (const Rule& r : rules) {
      config::RelabelConfig rc;
      std::string s = r.source.substr(1, r.source.size() - 2);  // "[name]"
      rc.source_labels = {s};
      rc.target_label = r.target;
      out.push_back(rc);
    }
    return out;
  }

  skidder::testing::TempDir dir;
  telemetry::Registry registry;
  telemetry::AgentMetrics metrics;
  config::JournalConfig cfg;
  std::vector<Rule> rules;
  std::vector<config::RelabelConfig> raw;
  size_t batch_entries = 512;
  size_t max_field_bytes = 4 << 20;
  LocalJournal local;  // for cfg.path ""
  std::unique_ptr<Positions> positions;
  CountingSink sink;
  pipeline::Pipeline pipe{std::vector<std::unique_ptr<pipeline::Stage>>{}};
  pipeline::Pipeline* pipeline = nullptr;  // instead of pipe (no stages)
  const Clock* clock = &SystemClock::Get();
  std::unique_ptr<JournalSource> source;
};

}  // namespace skidder::sources::journal::testing
