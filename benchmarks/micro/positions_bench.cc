// Writing the positions file: while lines are in flight the agent saves it up to four times a
// second (every offset an acknowledgement moves), each time with a record per known file.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "sources/file/positions.h"
#include "telemetry/agent_metrics.h"

namespace {

using skidder::sources::PositionRecord;
using skidder::sources::Positions;

// On tmpfs when there is one, so the figure is the agent's work and not the disk's fsync.
std::string StateDir() {
  std::string dir = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  if (const char* tmp = std::getenv("TMPDIR"); tmp != nullptr) dir = tmp;
  dir += "/skidder-positions-bench-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) return {};
  return dir;
}

// Records of n pod logs (paths shaped as kubelet's, ~110 bytes, as most records are).
void PutPodLogs(Positions& positions, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) {
    PositionRecord r;
    r.path = "/var/log/pods/airflow_worker-task-" + std::to_string(i) +
             "_6f1c2d3e-8a9b-4c5d-9e0f-" + std::to_string(100000000000 + i) + "/base/0.log";
    r.identity = {2049, 1000000 + i, 1024, 0x9e3779b97f4a7c15ULL * (i + 1)};
    r.offset = 4096 + i;
    r.size = 8192 + i;
    positions.Put(r);
  }
}

// A save after one acknowledgement moved one offset, with state.range(0) pod logs known.
void BM_PositionsSave(benchmark::State& state) {
  const std::string dir = StateDir();
  if (dir.empty()) {
    state.SkipWithError("cannot make a state directory");
    return;
  }
  skidder::telemetry::Registry registry;
  skidder::telemetry::AgentMetrics metrics(registry);
  {
    Positions positions(dir + "/positions.json", false, &metrics);
    const auto files = static_cast<uint64_t>(state.range(0));
    PutPodLogs(positions, files);
    PositionRecord moving = positions.All().front();
    for (auto _ : state) {
      ++moving.offset;
      positions.Put(moving);
      if (!positions.Save().ok()) {
        state.SkipWithError("save failed");
        break;
      }
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * files));
    state.counters["file_bytes"] = static_cast<double>(positions.saved_bytes());
  }
  (void)std::system(("rm -rf " + dir).c_str());
}
BENCHMARK(BM_PositionsSave)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);

// What a newly found file asks the positions before its first read (StartOffset): its path (not
// known) and its inode (not recorded under another name either), with state.range(0) pod logs
// known. The cost a new pod's log pays on a node that keeps that many files.
void BM_PositionsLookUpNewFile(benchmark::State& state) {
  skidder::telemetry::Registry registry;
  skidder::telemetry::AgentMetrics metrics(registry);
  Positions positions(&metrics);  // in memory: lookups only
  PutPodLogs(positions, static_cast<uint64_t>(state.range(0)));
  const std::string path = "/var/log/pods/airflow_worker-task-new_0/base/0.log";
  uint64_t ino = 5000000;
  for (auto _ : state) {
    benchmark::DoNotOptimize(positions.FindByPath(path));
    benchmark::DoNotOptimize(positions.FindByIdentity({2049, ++ino, 1024, 1}));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_PositionsLookUpNewFile)->Arg(1000)->Arg(10000);

}  // namespace
