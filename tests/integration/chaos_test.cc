// Chaos against the real binary (issue 8, "How to prove it"): a kubelet-like writer rotates and
// gzips container logs while the agent is SIGKILLed and restarted and the fake Loki answers 503
// for a while, then flakily. Afterwards every line that was still on disk while the agent could
// see it must have arrived; duplicates are reported, per kill.
//
// Everything happens at points counted in lines written (kills, outages, restarts), so a seed
// gives the same files, names and fault schedule on every run; only the agent's timing varies.
// A run prints its seed; SKIDDER_CHAOS_SEED=<seed> repeats it.
//
// The scenarios of issue 8 lost lines before rotated files were held by hard links and read
// inside compressed copies (measured on that code, 3-5 seeds each: kills+outage+flaky lost
// 781-1,828 of 12,500, fast rotation 1,869-2,583 of 12,500, down across rotations 2,872-3,070
// of 10,000). They lose none now, with 20-290 duplicates per kill (benchmarks/README.md).
// `make test` runs each with a fixed seed; `make soak` draws new ones.
#include "chaos.h"

#include <fmt/format.h>

#include <cstdlib>

#include "harness.h"

namespace skidder::testing {
namespace {

class Chaos : public IntegrationTest {
 protected:
  static constexpr uint32_t kFixedSeed = 20261201;  // make test; make soak sets SKIDDER_CHAOS_SEED

  void SetUp() override {
    IntegrationTest::SetUp();
    const char* s = std::getenv("SKIDDER_CHAOS_SEED");
    seed_ = s != nullptr ? static_cast<uint32_t>(std::stoul(s)) : kFixedSeed;
  }

  // The agent as a DaemonSet runs it: the kubelet's layout, the cri stage joining partial
  // records, positions saved every second.
  ChaosOutcome Run(const ChaosScenario& scenario) {
    std::string config = WriteConfig({.pipeline_stages = "[{cri: {}}]",
                                      .path_glob = logs() + "/*/*/*.log",
                                      .positions_sync = "1s",
                                      .batchwait = "200ms"});
    ChaosRun run(loki_, agent_, logs(), config, scenario, seed_);
    return run.Go();
  }

  void ExpectNothingLost(const ChaosOutcome& o) {
    SCOPED_TRACE(fmt::format("seed {} (SKIDDER_CHAOS_SEED={} to rerun)", seed_, seed_));
    std::fprintf(stderr, "%s\n", o.Summary().c_str());
    EXPECT_EQ(o.lost - o.lost_while_down, 0) << "first lost: " << o.first_lost;
    EXPECT_EQ(o.unexpected, 0) << "lines that were never written (or cut): " << o.first_unexpected;
    EXPECT_EQ(o.decode_errors, 0);
  }

  uint32_t seed_ = 0;
};

// The issue 8 scenarios: outages, kills and fast rotation together.
class ChaosIssue8 : public Chaos {};

// What already works, and shows the harness can pass: kubelet rotation with gzip and P/F
// partial lines, SIGKILLs every 2-6 s, Loki healthy. The agent keeps up, so a rotated file is
// read before it is compressed (one rotation later, about 3 s here, a margin for a loaded
// machine); today a restart cannot resume inside a .gz.
TEST_F(Chaos, KillsDuringRotationWithAHealthyLokiLoseNothing) {
  ChaosScenario s{.name = "kills+rotation",
                  .writer = {.containers = 4, .max_size = 256 * 1024, .max_files = 3},
                  .total_lines = 6000,
                  .kill_every = {1000, 3000}};
  ExpectNothingLost(Run(s));
}

// Rotation, a SIGKILL every 2-6 s, 9 s of 503, then 30 % of pushes refused: the scenario that
// lost 1,412 and 1,864 of 20,000 lines against a real Loki.
TEST_F(ChaosIssue8, KillsOutageAndFlakyLokiDuringRotationLoseNothing) {
  ChaosScenario s{.name = "kills+outage+flaky",
                  .writer = {.containers = 6, .max_size = 128 * 1024, .max_files = 5},
                  .total_lines = 12500,
                  .kill_every = {1000, 3000},
                  .outage = {3000, 7500},
                  .flaky_after_outage = 0.3};
  ExpectNothingLost(Run(s));
}

// Fast rotation (64 KiB, keep 3: a file is deleted two rotations after it was renamed), a long
// outage and one SIGKILL in its middle: everything unsent was rotated away by the restart.
TEST_F(ChaosIssue8, KillDuringLongOutageWithFastRotationLosesNothing) {
  ChaosScenario s{.name = "fast-rotation+outage+kill",
                  .writer = {.containers = 6, .max_size = 64 * 1024, .max_files = 3},
                  .total_lines = 12500,
                  .kills_at = {6000},
                  .outage = {2500, 10000}};
  ExpectNothingLost(Run(s));
}

// The agent is down while each container rotates twice: on restart its positions point into
// files that are compressed now, and newer rotated files were never opened at all.
TEST_F(ChaosIssue8, AgentDownAcrossRotationsReadsCompressedAndUnopenedRotations) {
  ChaosScenario s{.name = "down-across-rotations",
                  .writer = {.containers = 4, .max_size = 128 * 1024, .max_files = 5},
                  .total_lines = 10000,
                  .kills_at = {2500, 7000},
                  .down_for_lines = 2000};
  ExpectNothingLost(Run(s));
}

}  // namespace
}  // namespace skidder::testing
