#include "chaos.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <random>
#include <thread>

#include "support/test_util.h"

namespace skidder::testing {
namespace {

std::string Tail(const std::string& s, size_t n = 3000) {
  return s.size() > n ? "..." + s.substr(s.size() - n) : s;
}

}  // namespace

std::string ChaosOutcome::Summary() const {
  return fmt::format(
      "chaos {} seed={}: written={} lost={} (in files the kubelet deleted: {}; written and "
      "deleted while the agent was down: {}) duplicates={} kills={} duplicates/kill={:.0f} "
      "unexpected={} rotations={} files_deleted={} skidder_lost_bytes_total={:.0f}",
      name, seed, written, lost, lost_in_deleted, lost_while_down, duplicates, kills,
      kills > 0 ? static_cast<double>(duplicates) / kills : 0.0, unexpected, rotations,
      files_deleted, reported_lost_bytes);
}

ChaosRun::ChaosRun(FakeLoki& loki, AgentProcess& agent, std::string logs, std::string config,
                   ChaosScenario scenario, uint32_t seed)
    : loki_(loki),
      agent_(agent),
      logs_(std::move(logs)),
      config_(std::move(config)),
      scenario_(std::move(scenario)),
      seed_(seed) {
  scenario_.writer.seed = seed;
}

std::vector<ChaosRun::Event> ChaosRun::Schedule() {
  std::mt19937 rng(seed_ ^ 0x9e3779b9u);
  std::vector<int64_t> kills = scenario_.kills_at;
  auto [a, b] = scenario_.kill_every;
  for (int64_t at = 0; a > 0;) {
    at += a + static_cast<int64_t>(rng() % static_cast<uint32_t>(b - a + 1));
    if (at >= scenario_.total_lines) break;
    kills.push_back(at);
  }
  std::vector<Event> events;
  for (int64_t k : kills) {
    events.push_back({k, Event::kKill});
    events.push_back({k + scenario_.down_for_lines, Event::kStart});
  }
  if (scenario_.outage.second > scenario_.outage.first) {
    events.push_back({scenario_.outage.first, Event::kOutageStart});
    events.push_back({scenario_.outage.second, Event::kOutageEnd});
  }
  // At equal counts a kill comes before its restart.
  std::stable_sort(events.begin(), events.end(),
                   [](const Event& x, const Event& y) { return x.at < y.at; });
  return events;
}

void ChaosRun::StartAgent() {
  ASSERT_TRUE(agent_.Start({"-config.file=" + config_}));
  ASSERT_TRUE(agent_.MetricsPort().has_value()) << Tail(agent_.Stderr());
  if (!down_.empty()) down_.back().second = Clock::now();
}

void ChaosRun::KillAgent() {
  if (!agent_.Running()) {
    ADD_FAILURE() << "the agent exited on its own; its stderr:\n" << Tail(agent_.Stderr());
    return;
  }
  // A scrape just before the kill; what the agent counts in its last instant is missed.
  reported_lost_bytes_ += agent_.Metric("skidder_lost_bytes_total");
  agent_.Kill();
  ++kills_;
  down_.push_back({Clock::now(), Clock::time_point::max()});
}

void ChaosRun::Apply(const Event& e) {
  switch (e.kind) {
    case Event::kKill:
      KillAgent();
      break;
    case Event::kStart:
      if (!agent_.Running()) StartAgent();
      break;
    case Event::kOutageStart:
      loki_.SetFailFor(std::chrono::hours(1), 503);
      break;
    case Event::kOutageEnd:
      loki_.SetFailFor(std::chrono::milliseconds(0), 0);
      if (scenario_.flaky_after_outage > 0) {
        loki_.SetFailureRate(scenario_.flaky_after_outage, 503, seed_);
      }
      break;
  }
}

ChaosOutcome ChaosRun::Go() {
  ChaosOutcome o{.name = scenario_.name, .seed = seed_};
  KubeletWriter writer(logs_, scenario_.writer);
  std::atomic<bool> stop{false};
  std::string writer_error;
  std::thread thread([&] {
    try {
      const auto start = Clock::now();
      while (!stop && writer.written() < scenario_.total_lines) {
        auto due = std::chrono::duration<double>(Clock::now() - start).count() *
                   scenario_.lines_per_second;
        if (static_cast<double>(writer.written()) < due) {
          writer.WriteLine();
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(2));  // pacing, not waiting
        }
      }
    } catch (const std::exception& e) {
      writer_error = e.what();
    }
    stop = true;
  });
  StartAgent();
  for (const Event& e : Schedule()) {
    if (::testing::Test::HasFatalFailure()) break;
    WaitFor([&] { return stop || writer.written() >= e.at; }, std::chrono::minutes(5));
    Apply(e);
  }
  WaitFor([&] { return stop.load(); }, std::chrono::minutes(5));
  stop = true;
  thread.join();
  EXPECT_EQ(writer_error, "");
  loki_.SetFailFor(std::chrono::milliseconds(0), 0);
  loki_.SetFailureRate(0, 0, 0);
  if (!agent_.Running()) {  // every kill was followed by a start: it exited on its own
    if (!::testing::Test::HasFailure()) {
      ADD_FAILURE() << "the agent exited: " << Tail(agent_.Stderr());
    }
    StartAgent();
  }
  std::vector<int> counts(static_cast<size_t>(writer.written()), 0);
  Drain(writer, counts, o);
  reported_lost_bytes_ += agent_.Metric("skidder_lost_bytes_total");
  Tally(counts, writer, o);
  return o;
}

// Until every line arrived, or nothing new arrived for 20 s (the agent retries every 200 ms at
// most, so a silence that long means it has nothing more to send), or 3 minutes passed.
void ChaosRun::Drain(const KubeletWriter& w, std::vector<int>& counts, ChaosOutcome& o) {
  size_t consumed = 0;
  int64_t missing = static_cast<int64_t>(counts.size());
  auto last_progress = Clock::now();
  WaitFor(
      [&] {
        for (const std::string& line : loki_.LinesFrom(consumed)) {
          ++consumed;
          last_progress = Clock::now();
          auto seq = KubeletWriter::SequenceOf(line);
          if (!seq || *seq < 0 || *seq >= static_cast<int64_t>(counts.size()) ||
              line.size() != w.lines()[static_cast<size_t>(*seq)].bytes) {
            if (o.unexpected++ == 0) o.first_unexpected = line.substr(0, 80);
            continue;
          }
          if (counts[static_cast<size_t>(*seq)]++ == 0) --missing;
        }
        return missing == 0 || Clock::now() - last_progress > std::chrono::seconds(20);
      },
      std::chrono::minutes(3), std::chrono::milliseconds(100));
}

// A line the agent never had a chance to see: written while it was down, and its file deleted
// before it came back. Anything else was on disk (or held) while the agent ran.
bool ChaosRun::DeletedWhileDown(const KubeletWriter& w, int64_t seq) const {
  const KubeletWriter::Line& line = w.lines()[static_cast<size_t>(seq)];
  const auto& deleted = w.files()[static_cast<size_t>(line.file)].deleted;
  if (!deleted) return false;
  return std::any_of(down_.begin(), down_.end(), [&](const auto& d) {
    return d.first <= line.written && *deleted <= d.second;
  });
}

void ChaosRun::Tally(const std::vector<int>& counts, const KubeletWriter& w, ChaosOutcome& o) {
  o.written = static_cast<int64_t>(counts.size());
  for (size_t seq = 0; seq < counts.size(); ++seq) {
    if (counts[seq] > 1) o.duplicates += counts[seq] - 1;
    if (counts[seq] > 0) continue;
    const KubeletWriter::File& file = w.files()[static_cast<size_t>(w.lines()[seq].file)];
    if (o.lost++ == 0) {
      o.first_lost = fmt::format("{:08} in {}{}", seq, file.path, file.deleted ? " (deleted)" : "");
    }
    if (file.deleted) ++o.lost_in_deleted;
    if (DeletedWhileDown(w, static_cast<int64_t>(seq))) ++o.lost_while_down;
  }
  o.decode_errors = static_cast<int64_t>(loki_.DecodeErrors());
  o.kills = kills_;
  o.rotations = w.rotations();
  o.files_deleted = static_cast<int>(std::count_if(
      w.files().begin(), w.files().end(), [](const auto& f) { return f.deleted.has_value(); }));
  o.reported_lost_bytes = reported_lost_bytes_;
}

}  // namespace skidder::testing
