// DockerSource in-process against the fake Docker API: entries reach the sink, positions move
// only with acknowledgements, a saved position (ours or Promtail's) is where reading resumes,
// and a saturated sink stops the reading. Runs the reader threads under the sanitizers.
#include "sources/docker/docker_source.h"

#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "pipeline/pipeline.h"
#include "support/fake_clock.h"
#include "support/fake_docker_api.h"
#include "support/test_util.h"

namespace skidder::sources::docker {
namespace {

using testing::FakeDockerApi;
using testing::TempDir;
using testing::WaitFor;

constexpr int64_t kT0 = 1714557600'000000000;

// Holds what it gets, acknowledgements included, until Ack().
class HoldingSink final : public EntrySink {
 public:
  void PushBatch(std::span<Entry> batch) override {
    std::lock_guard lock(mu_);
    for (Entry& e : batch) entries_.push_back(std::move(e));
  }
  bool Saturated() const override { return saturated.load(); }
  size_t Size() const {
    std::lock_guard lock(mu_);
    return entries_.size();
  }
  std::vector<std::string> Lines() const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const Entry& e : entries_) out.push_back(e.line);
    return out;
  }
  void Ack() {
    std::lock_guard lock(mu_);
    for (Entry& e : entries_) e.ack.Reset();
  }
  void Clear() {
    std::lock_guard lock(mu_);
    entries_.clear();
  }
  std::atomic<bool> saturated{false};

 private:
  mutable std::mutex mu_;
  std::vector<Entry> entries_;
};

class DockerSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(api_.Start());
    api_.AddContainer({.id = "c1", .name = "/one"});
    for (int i = 0; i < 10; ++i) {
      api_.Log("c1", 1 + i % 2, kT0 + i * 1000, "line-" + std::to_string(i) + "\n");
    }
  }
  std::unique_ptr<DockerSource> Make(pipeline::Pipeline* pipeline = nullptr,
                                     const Clock* clock = &SystemClock::Get(), int configs = 1,
                                     bool sole_daemon = false) {
    DockerSourceOptions o;
    o.job_name = "docker";
    config::DockerSdConfig cfg;
    cfg.host = api_.host();
    cfg.refresh_interval = std::chrono::milliseconds(50);
    o.configs.assign(configs, cfg);
    o.pipeline = pipeline != nullptr ? pipeline : &pipeline_;
    o.sole_daemon = sole_daemon;
    return std::make_unique<DockerSource>(std::move(o), &positions_, &sink_, nullptr, clock);
  }

  TempDir dir_;
  FakeDockerApi api_{dir_ / "d.sock"};
  Positions positions_{nullptr};
  pipeline::Pipeline pipeline_{std::vector<std::unique_ptr<pipeline::Stage>>{}};
  HoldingSink sink_;
};

TEST_F(DockerSourceTest, PositionMovesOnlyWithAcknowledgements) {
  auto src = Make();
  src->Start();
  ASSERT_TRUE(WaitFor([&] { return sink_.Size() == 10; }));
  EXPECT_EQ(src->Targets(), 1u);
  src->SyncPositions();
  EXPECT_FALSE(positions_.GetCursor("docker-c1").has_value());  // nothing acknowledged yet
  sink_.Ack();
  // The reader may still hold its read's checkpoint just after handing the lines on (seen
  // under TSan): the position moves once it lets go.
  EXPECT_TRUE(WaitFor([&] {
    src->SyncPositions();
    // 100 ms before the last line, whose 10 lines are skipped when read again (Position).
    return positions_.GetCursor("docker-c1") ==
           std::optional<std::string>("1714557599.900009000+10");
  })) << positions_.GetCursor("docker-c1").value_or("(none)");
  src->Stop();
}

// A reconnection (a bad frame; the container still runs) reads its position's window again and
// skips it: those lines count once in the next position, not twice (a count too high would skip
// that many lines of the window after a restart, among them one written late with an earlier
// stamp).
TEST_F(DockerSourceTest, AReconnectionCountsTheLinesItReadsAgainOnce) {
  auto src = Make();
  src->Start();
  ASSERT_TRUE(WaitFor([&] { return sink_.Size() == 10; }));
  api_.InjectRaw("c1", std::string("\x07\x01\x02\x03\x00\x00\x00\x05junk!", 13));
  ASSERT_TRUE(WaitFor([&] { return api_.LogRequests("c1").size() >= 2; }));
  for (int i = 10; i < 20; ++i) {
    api_.Log("c1", 1 + i % 2, kT0 + i * 1000, "line-" + std::to_string(i) + "\n");
  }
  ASSERT_TRUE(WaitFor([&] { return sink_.Size() == 20; })) << sink_.Size();
  sink_.Ack();
  EXPECT_TRUE(WaitFor([&] {
    src->SyncPositions();
    return positions_.GetCursor("docker-c1") ==
           std::optional<std::string>("1714557599.900019000+20");
  })) << positions_.GetCursor("docker-c1").value_or("(none)");
  src->Stop();
}

// A container's position stays while the daemon has the container (stopped, it may start again
// and read on from it), and goes once the container is removed: a host running short-lived
// containers would otherwise add a position for each, forever.
TEST_F(DockerSourceTest, ARemovedContainersPositionIsForgotten) {
  api_.AddContainer({.id = "c2", .name = "/two"});
  api_.Log("c2", 1, kT0, "two\n");
  auto src = Make();
  src->Start();
  ASSERT_TRUE(WaitFor([&] { return sink_.Size() == 11; }));
  sink_.Ack();
  api_.StopContainer("c1");
  api_.StopContainer("c2");
  ASSERT_TRUE(WaitFor([&] { return src->Targets() == 0; }));  // both dropped, their reads taken
  EXPECT_TRUE(positions_.GetCursor("docker-c1").has_value());
  EXPECT_TRUE(positions_.GetCursor("docker-c2").has_value());

  api_.RemoveContainer("c2");
  EXPECT_TRUE(WaitFor([&] { return !positions_.GetCursor("docker-c2").has_value(); }));
  const size_t lists = api_.ListRequests();
  ASSERT_TRUE(WaitFor([&] { return api_.ListRequests() >= lists + 3; }));
  EXPECT_TRUE(positions_.GetCursor("docker-c1").has_value()) << "stopped, not removed";

  // Started again, c1 reads on from its position: nothing twice.
  api_.Log("c1", 1, kT0 + 50'000, "after the restart\n");
  api_.StartContainer("c1");
  ASSERT_TRUE(WaitFor([&] { return sink_.Size() == 12; })) << sink_.Size();
  EXPECT_EQ(sink_.Lines().back(), "after the restart");
  src->Stop();
  EXPECT_EQ(sink_.Size(), 12u);
}

// Positions of an earlier run: with the config's one Docker host, those of containers the daemon
// no longer has go (removed while the agent was down), also Promtail's imported ones; a stopped
// container's stays. With several hosts nothing tells whose they are: they stay.
TEST_F(DockerSourceTest, PositionsOfContainersRemovedWhileStoppedGoWithOneDockerHost) {
  const std::string gone(64, 'a'), promtail_gone(64, 'b');
  api_.AddContainer({.id = "stopped", .name = "/stopped"});
  api_.StopContainer("stopped");
  for (bool sole : {false, true}) {
    SCOPED_TRACE(sole ? "one Docker host" : "several Docker hosts");
    positions_.PutCursor("docker-stopped", "1714557599.000000000+1");
    positions_.PutCursor("docker-" + gone, "1714557599.000000000+1");
    positions_.PutCursor("journal-" + promtail_gone, "1714557599");
    positions_.PutCursor("journal-node", "s=journal cursor");  // the journal source's
    auto src = Make(nullptr, &SystemClock::Get(), 1, sole);
    src->Start();
    ASSERT_TRUE(WaitFor([&] { return sink_.Size() == 10; }));
    if (sole) {
      EXPECT_TRUE(WaitFor([&] {
        return !positions_.GetCursor("docker-" + gone) &&
               !positions_.GetCursor("journal-" + promtail_gone);
      }));
    }
    const size_t lists = api_.ListRequests();
    ASSERT_TRUE(WaitFor([&] { return api_.ListRequests() >= lists + 3; }));
    src->Stop();
    EXPECT_TRUE(positions_.GetCursor("docker-stopped").has_value());
    EXPECT_TRUE(positions_.GetCursor("journal-node").has_value());
    EXPECT_EQ(positions_.GetCursor("docker-" + gone).has_value(), !sole);
    EXPECT_EQ(positions_.GetCursor("journal-" + promtail_gone).has_value(), !sole);
    sink_.Ack();
    sink_.Clear();
  }
}

// Two docker_sd_configs of the job on one daemon (different filters that both match, or an
// Alloy array.concat of two discovery.docker): the container is read once.
TEST_F(DockerSourceTest, AContainerTwoConfigsOfOneDaemonListIsReadOnce) {
  auto src = Make(nullptr, &SystemClock::Get(), /*configs=*/2);
  src->Start();
  ASSERT_TRUE(WaitFor([&] { return sink_.Size() >= 10; }));
  const size_t lists = api_.ListRequests();
  ASSERT_TRUE(WaitFor([&] { return api_.ListRequests() >= lists + 6; }));  // refreshes of both
  EXPECT_EQ(sink_.Size(), 10u);
  EXPECT_EQ(src->Targets(), 1u);
  src->Stop();
}

// The config whose reader has the container refreshes rarely (or its listing fails for good):
// once the container restarted and that reader ended with everything taken, the other config
// of the daemon takes the container over from its position, rather than leaving it unread.
TEST_F(DockerSourceTest, AnEndedReaderOfAnotherConfigIsHandedOver) {
  DockerSourceOptions o;
  o.job_name = "docker";
  config::DockerSdConfig cfg;
  cfg.host = api_.host();
  cfg.refresh_interval = std::chrono::hours(1);
  o.configs.push_back(cfg);  // lists first, then not for an hour
  cfg.refresh_interval = std::chrono::milliseconds(50);
  o.configs.push_back(cfg);
  o.pipeline = &pipeline_;
  auto src = std::make_unique<DockerSource>(std::move(o), &positions_, &sink_, nullptr,
                                            &SystemClock::Get());
  src->Start();
  ASSERT_TRUE(WaitFor([&] { return sink_.Size() == 10; }));
  sink_.Ack();
  api_.StopContainer("c1");
  ASSERT_TRUE(WaitFor([&] { return api_.open_streams() == 0; }));  // the first reader ended
  api_.Log("c1", 1, kT0 + 20'000, "after-restart\n");
  api_.StartContainer("c1");
  ASSERT_TRUE(WaitFor([&] { return sink_.Size() >= 11; })) << sink_.Size();
  const size_t lists = api_.ListRequests();
  ASSERT_TRUE(WaitFor([&] { return api_.ListRequests() >= lists + 4; }));
  EXPECT_EQ(sink_.Size(), 11u);  // from where the first reader got to: nothing twice
  EXPECT_EQ(sink_.Lines().back(), "after-restart");
  EXPECT_EQ(src->Targets(), 1u);
  src->Stop();
}

TEST_F(DockerSourceTest, ResumesAfterTheSavedPosition) {
  positions_.PutCursor("docker-c1", "1714557600.000005000+1");  // line-5 was acknowledged
  auto src = Make();
  src->Start();
  ASSERT_TRUE(WaitFor([&] { return sink_.Size() == 4; }));
  EXPECT_EQ(sink_.Lines().front(), "line-6");
  EXPECT_EQ(api_.LogRequests("c1").at(0), "1714557600.000005000");
  src->Stop();
}

TEST_F(DockerSourceTest, ResumesAtPromtailsPosition) {
  positions_.PutCursor("journal-c1", "1714557600");  // Promtail's cursor-<id>, as imported
  auto src = Make();
  src->Start();
  ASSERT_TRUE(WaitFor([&] { return sink_.Size() == 10; }));
  EXPECT_EQ(api_.LogRequests("c1").at(0), "1714557600.000000000");
  src->Stop();
}

TEST_F(DockerSourceTest, SaturatedSinkStopsTheReading) {
  sink_.saturated = true;
  auto src = Make();
  src->Start();
  ASSERT_TRUE(WaitFor([&] { return api_.open_streams() == 1; }));
  EXPECT_FALSE(WaitFor([&] { return sink_.Size() > 0; }, std::chrono::milliseconds(300)));
  sink_.saturated = false;
  ASSERT_TRUE(WaitFor([&] { return sink_.Size() == 10; }));
  src->Stop();
}

// A limit stage with drop: false pauses reading (the daemon's log file holds the backlog) rather
// than being ignored: with the clock standing still, what comes after the first read waits.
TEST_F(DockerSourceTest, ALimitStageWithoutDropPausesTheReading) {
  FakeClock clock(kT0);
  auto limit = pipeline::Pipeline::Build(
      {config::StageConfig{"limit", YAML::Load("{rate: 1, burst: 1}"), "t.yaml"}}, {});
  ASSERT_TRUE(limit.has_value()) << limit.error().message();
  auto src = Make(limit->get(), &clock);
  src->Start();
  ASSERT_TRUE(WaitFor([&] { return sink_.Size() >= 1; }));  // one read passes, into debt
  for (int i = 10; i < 15; ++i) {
    api_.Log("c1", 1, kT0 + i * 1000, "line-" + std::to_string(i) + "\n");
  }
  // Later reads wait for tokens that never come while the clock stands still.
  EXPECT_FALSE(WaitFor([&] { return sink_.Size() == 15; }, std::chrono::milliseconds(500)));
  ASSERT_TRUE(WaitFor([&] {
    clock.Advance(std::chrono::seconds(1));  // a token a second pays the debt off
    return sink_.Size() == 15;
  }));
  src->Stop();
}

TEST_F(DockerSourceTest, StopsPromptlyWhileStreamsAreIdle) {
  auto src = Make();
  src->Start();
  ASSERT_TRUE(WaitFor([&] { return sink_.Size() == 10; }));
  auto t0 = std::chrono::steady_clock::now();
  src->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

}  // namespace
}  // namespace skidder::sources::docker
