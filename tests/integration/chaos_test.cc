// Chaos against the real binary (issue 8, "How to prove it"): a kubelet-like writer rotates and
// gzips container logs while the agent is SIGKILLed and restarted and the fake Loki answers 503
// for a while, then flakily. Afterwards every line that was still on disk while the agent could
// see it must have arrived; duplicates are reported, per kill.
//
// Everything happens at points counted in lines written (kills, outages, restarts), so a seed
// gives the same files, names and fault schedule on every run; only the agent's timing varies.
// A run prints its seed; SKIDDER_CHAOS_SEED=<seed> repeats it.
//
// The ChaosIssue8 scenarios lose lines against the file source of today (a crash drops the
// rotated files it held open; positions pointing into a file the kubelet compressed are not
// resumed, rotated files never opened are not found), so they run only when SKIDDER_CHAOS=1
// (`make soak` sets it); drop the gate when issue 8 is fixed. Measured on the code of today
// (3-5 seeds each): kills+outage+flaky lost 781-1,828 of 12,500 (118-529 duplicates per kill), fast
// rotation 1,869-2,583 of 12,500, down across rotations 2,872-3,070 of 10,000.
#include "chaos.h"

#include <fmt/format.h>

#include <cstdlib>
#include <random>

#include "harness.h"

namespace skidder::testing {
namespace {

class Chaos : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    const char* s = std::getenv("SKIDDER_CHAOS_SEED");
    seed_ = s != nullptr ? static_cast<uint32_t>(std::stoul(s)) : std::random_device{}();
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

// The scenarios that lose lines today (issue 8) run only when asked.
class ChaosIssue8 : public Chaos {
 protected:
  void SetUp() override {
    if (std::getenv("SKIDDER_CHAOS") == nullptr) {
      GTEST_SKIP() << "loses lines until issue 8 is fixed; run with SKIDDER_CHAOS=1";
    }
    Chaos::SetUp();
  }
};

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
