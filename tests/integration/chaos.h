// One chaos run: a KubeletWriter on its own thread at a steady rate, and a fault schedule (agent
// SIGKILLs and restarts, a Loki outage, flaky pushes) applied at points counted in lines
// written. Afterwards, faults off, it waits until everything arrived (or nothing more arrives
// for a while) and counts what was lost and what was duplicated.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "kubelet_writer.h"
#include "support/agent_process.h"
#include "support/fake_loki.h"

namespace skidder::testing {

struct ChaosScenario {
  std::string name;
  KubeletWriterOptions writer;  // its seed is replaced by the run's seed
  int64_t total_lines = 10000;
  int lines_per_second = 500;
  std::pair<int64_t, int64_t> kill_every{0, 0};  // SIGKILL after a random count in [a, b]
  std::vector<int64_t> kills_at;                 // and/or at these counts
  int64_t down_for_lines = 0;                    // restart after this many more lines
  std::pair<int64_t, int64_t> outage{0, 0};      // every push gets 503 in [from, to)
  double flaky_after_outage = 0;                 // then this share of pushes gets 503
};

struct ChaosOutcome {
  std::string name;
  uint32_t seed = 0;
  int64_t written = 0;
  int64_t lost = 0;             // written, still on disk (or deleted) and never delivered
  int64_t lost_while_down = 0;  // of those, lines whose file was written and deleted while
                                // the agent was down: it never had a chance to see them
  int64_t lost_in_deleted = 0;  // of those, lines whose file the kubelet deleted (also while
                                // the agent was up: it should have held or read them)
  int64_t duplicates = 0;       // deliveries beyond the first
  int64_t unexpected = 0;       // delivered lines that were never written as such
  int64_t decode_errors = 0;
  int kills = 0, rotations = 0, files_deleted = 0;
  double reported_lost_bytes = 0;  // skidder_lost_bytes_total, summed over the agent's runs
  std::string first_lost, first_unexpected;
  std::string Summary() const;
};

class ChaosRun {
 public:
  // logs: the root the writer fills; config: an agent config tailing logs/*/*/*.log with cri.
  ChaosRun(FakeLoki& loki, AgentProcess& agent, std::string logs, std::string config,
           ChaosScenario scenario, uint32_t seed);
  ChaosOutcome Go();

 private:
  using Clock = std::chrono::steady_clock;
  struct Event {
    int64_t at;  // lines written
    enum Kind { kKill, kStart, kOutageStart, kOutageEnd } kind;
  };
  std::vector<Event> Schedule();
  void Apply(const Event& e);
  void StartAgent();
  void KillAgent();
  void Drain(const KubeletWriter& w, std::vector<int>& counts, ChaosOutcome& o);
  void Tally(const std::vector<int>& counts, const KubeletWriter& w, ChaosOutcome& o);
  bool DeletedWhileDown(const KubeletWriter& w, int64_t seq) const;

  FakeLoki& loki_;
  AgentProcess& agent_;
  std::string logs_, config_;
  ChaosScenario scenario_;
  uint32_t seed_;
  double reported_lost_bytes_ = 0;
  int kills_ = 0;
  std::vector<std::pair<Clock::time_point, Clock::time_point>> down_;  // kill .. ready
};

}  // namespace skidder::testing
