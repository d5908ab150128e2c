// Test helpers for the file source: a sink that records entries (and holds their acks until the
// test releases them), and a harness that runs a FileSource over a temp dir.
#pragma once

#include <dirent.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "app/pipeline_handler.h"
#include "model/sink.h"
#include "pipeline/pipeline.h"
#include "sources/file/file_source.h"
#include "sources/file/positions.h"
#include "sources/file/watcher.h"
#include "support/test_util.h"
#include "telemetry/agent_metrics.h"
#include "util/clock.h"

namespace skidder::sources::testing {

class FakeSink final : public EntrySink {
 public:
  void PushBatch(std::span<Entry> batch) override {
    std::lock_guard lock(mu_);
    if (room_.load() != kNoBudget) room_ -= static_cast<int64_t>(batch.size());
    for (Entry& e : batch) {
      if (!hold_acks_) e.ack.Reset();
      entries_.push_back(std::move(e));
    }
  }
  bool Saturated() const override {
    ++saturated_checks_;
    return saturated_.load() || room_.load() <= 0;
  }
  int SaturatedChecks() const { return saturated_checks_.load(); }

  void SetSaturated(bool s) { saturated_ = s; }
  // A budget, as a Loki client's: saturated once n more entries arrived (until the next call).
  void GrantRoom(int64_t n) { room_ = n; }
  void HoldAcks(bool hold) {
    std::lock_guard lock(mu_);
    hold_acks_ = hold;
  }
  void ReleaseAcks() {
    std::lock_guard lock(mu_);
    for (auto& e : entries_) e.ack.Reset();
  }
  // Only the n newest entries: a later file's entries acknowledged before an earlier one's.
  void ReleaseNewestAcks(size_t n) {
    std::lock_guard lock(mu_);
    for (auto e = entries_.rbegin(); e != entries_.rend() && n > 0; ++e, --n) e->ack.Reset();
  }
  // Acknowledges each held entry with probability 1/2: late and out-of-order acknowledgements.
  template <typename Rng>
  void ReleaseSome(Rng& rng) {
    std::lock_guard lock(mu_);
    for (auto& e : entries_) {
      if (rng() % 2 == 0) e.ack.Reset();
    }
  }
  // The agent dies: entries it had not delivered are gone, delivered ones stay recorded.
  void DropUnacked() {
    std::lock_guard lock(mu_);
    std::erase_if(entries_, [](const Entry& e) { return !e.ack.empty(); });
  }
  size_t Count() const {
    std::lock_guard lock(mu_);
    return entries_.size();
  }
  // Lines in arrival order, of one filename or of all.
  std::vector<std::string> Lines(const std::string& filename = "") const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& e : entries_) {
      const std::string* f = e.labels.Get(kFilenameLabel);
      if (filename.empty() || (f != nullptr && *f == filename)) out.push_back(e.line);
    }
    return out;
  }
  std::vector<Entry> Take() {
    std::lock_guard lock(mu_);
    return std::move(entries_);
  }

 private:
  mutable std::mutex mu_;
  std::vector<Entry> entries_;
  bool hold_acks_ = false;
  std::atomic<bool> saturated_{false};
  static constexpr int64_t kNoBudget = INT64_MAX;
  std::atomic<int64_t> room_{kNoBudget};
  mutable std::atomic<int> saturated_checks_{0};
};

inline size_t OpenFdCount() {
  size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d) != nullptr) ++n;
    ::closedir(d);
  }
  return n;
}

inline std::vector<std::string> Numbered(const std::string& prefix, int from, int to) {
  std::vector<std::string> v;
  for (int i = from; i < to; ++i) v.push_back(prefix + std::to_string(i));
  return v;
}

inline std::string Joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

// Writes text gzip-compressed to path (created, or truncated when it exists).
inline void WriteGzip(const std::string& path, const std::string& text) {
  gzFile gz = ::gzopen(path.c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  ASSERT_EQ(::gzwrite(gz, text.data(), static_cast<unsigned>(text.size())),
            static_cast<int>(text.size()));
  ::gzclose(gz);
}

// A FileSource tailing one glob in a temp dir, with a fast poll tick.
class Harness {
 public:
  Harness() : metrics(registry) {}
  ~Harness() { Stop(); }

  FileSourceOptions DefaultOptions() const {
    FileSourceOptions o;
    o.watch.min_poll_frequency = std::chrono::milliseconds(20);
    o.watch.max_poll_frequency = std::chrono::milliseconds(20);
    o.rescan_period = std::chrono::milliseconds(500);
    return o;
  }
  void Start(const std::string& glob, FileSourceOptions o, const std::string& exclude = "") {
    Start(glob, std::move(o), nullptr, exclude);
  }
  // With the given watcher (null: inotify or polling, as the agent).
  void Start(const std::string& glob, FileSourceOptions o, std::unique_ptr<Watcher> watcher,
             const std::string& exclude = "") {
    if (!positions)
      positions = std::make_unique<Positions>(dir / "positions.json", false, &metrics);
    source = std::make_unique<FileSource>(o, positions.get(), &sink, &metrics, &SystemClock::Get(),
                                          std::move(watcher));
    Labels labels{{kPathLabel, glob}, {"job", "test"}};
    if (!exclude.empty()) labels.Set(kPathExcludeLabel, exclude);
    source->SetTargets({FileTarget{"test", labels, &handler}});
    ASSERT_TRUE(source->Start().ok());
  }
  void Start(const std::string& glob) { Start(glob, DefaultOptions()); }
  void Stop() {
    if (source) source->Stop();
    source.reset();
  }
  // Stops, saves positions and starts again with fresh Positions read from disk.
  void Restart(const std::string& glob, FileSourceOptions o) {
    Stop();
    ASSERT_TRUE(positions->Save().ok());
    positions = std::make_unique<Positions>(dir / "positions.json", false, &metrics);
    Start(glob, o);
  }
  bool WaitLines(const std::string& filename, const std::vector<std::string>& want) {
    return skidder::testing::WaitFor([&] { return sink.Lines(filename).size() >= want.size(); }) &&
           sink.Lines(filename) == want;
  }
  double Metric(telemetry::Family<telemetry::Counter>& f, const std::vector<std::string>& v) {
    return f.With(v)->Value();
  }
  // promtail_read_lines_total{path}: 0 once no open file has that name.
  uint64_t ReadLines(const std::string& path) const {
    auto v = metrics.files.Get(path);
    return v ? v->read_lines : 0;
  }

  skidder::testing::TempDir dir;
  telemetry::Registry registry;
  telemetry::AgentMetrics metrics;
  std::unique_ptr<Positions> positions;
  FakeSink sink;
  pipeline::Pipeline pipe{std::vector<std::unique_ptr<pipeline::Stage>>{}};
  app::PipelineHandler handler{&pipe, &sink};  // the pipeline wrapping the sink, as the agent's
  std::unique_ptr<FileSource> source;
};

}  // namespace skidder::sources::testing
