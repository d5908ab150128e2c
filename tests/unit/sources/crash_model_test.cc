// The file source against a model of a kubelet node under stress: a seeded random sequence of
// appends (partial lines, lines over 16 KiB), rename rotations, gzip of older rotations, deletion
// beyond keep, copytruncate, container restarts (1.log beside 0.log), Loki outages with late and
// out-of-order acknowledgements, and agent crashes
// (positions as last saved, in-flight entries gone) with work going on while it is down.
// Invariant: every line written is delivered at least once, and nothing is counted lost. Files
// rotated *and* deleted while the agent is down are outside the promise (nothing on the node
// holds them any more) and outside the model. A failure prints its seed; rerun one with
// SKIDDER_CRASH_MODEL_SEED=<seed>; SKIDDER_CRASH_MODEL_SEEDS=<n> runs n fresh seeds (make soak).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>

#include "sources/file/file_source.h"
#include "unit/sources/fake_sink.h"

namespace skidder::sources {
namespace {

using skidder::testing::AppendFile;
using skidder::testing::ReadFile;
using skidder::testing::WaitFor;
using skidder::testing::WriteFile;

constexpr size_t kKeep = 3;  // rotated files kept, as containerLogMaxFiles - 1

class CrashModel {
 public:
  explicit CrashModel(testing::Harness& h) : h_(h), log_(h.dir / "0.log") { WriteFile(log_, ""); }

  FileSourceOptions Options() const {
    auto o = h_.DefaultOptions();
    o.held_dir = h_.dir / ".skidder-held";
    return o;
  }
  void Start() {
    h_.Start(h_.dir / "*.log", Options());
    // Its first discovery has run (a loaded record may already name 0.log's inode: inodes are
    // reused), so what it found on disk is open or held before the node moves on.
    ASSERT_TRUE(WaitFor([&] { return h_.source->ActiveFiles() > 0; }));
    WaitSeen();
  }

  void Step(std::mt19937& rng) {
    // The agent saves positions within 250 ms of a change: on disk they lag by about one action.
    if (up_) {
      h_.source->SyncPositions();
      ASSERT_TRUE(h_.positions->Save().ok());
    }
    const int roll = std::uniform_int_distribution<int>(0, 99)(rng);
    if (roll < 35) return WriteLines(1 + rng() % 30, rng);
    if (roll < 40) return WritePartial();
    if (roll < 50) return Rotate();
    if (roll < 58) return Compress();
    if (roll < 65) return DeleteBeyondKeep();
    if (roll < 73) return Outage(!outage_);
    if (roll < 78) return LateAcks(rng);
    if (roll < 87) return Crash(rng);
    if (roll < 89) return CopyTruncate();
    if (roll < 91) return ContainerRestart();
    return Recover();
  }

  // Ends any outage and downtime, then waits for every line.
  bool Finish() {
    Recover();
    Outage(false);
    return WaitFor([&] { return Missing().empty(); }, std::chrono::seconds(30));
  }
  std::vector<std::string> Missing() const {
    std::set<std::string> got;
    for (auto& l : h_.sink.Lines()) got.insert(l);
    std::vector<std::string> missing;
    for (const auto& l : want_) {
      if (!got.contains(l)) missing.push_back(l.substr(0, 40));
    }
    return missing;
  }
  std::string history;

 private:
  void Did(const char* what) { history += std::string(what) + " "; }
  std::string Line(std::mt19937& rng) {
    std::string l = "g" + std::to_string(gen_) + "-" + std::to_string(n_++);
    if (rng() % 50 == 0) l += std::string(17 * 1024, 'x');  // over 16 KiB
    return l;
  }
  void WriteLines(size_t k, std::mt19937& rng) {
    Did("write");
    std::string data;
    for (size_t i = 0; i < k; ++i) {
      std::string l = Line(rng);
      if (!partial_.empty()) l = std::exchange(partial_, "") + l;
      data += l.substr(pending_tail_) + "\n";
      pending_tail_ = 0;
      want_.push_back(l);
    }
    AppendFile(log_, data);
  }
  void WritePartial() {
    Did("partial");
    if (!partial_.empty()) return;
    partial_ = "p" + std::to_string(n_++) + "+";
    AppendFile(log_, partial_);
    pending_tail_ = partial_.size();
  }
  void CompletePartial() {
    if (partial_.empty()) return;
    AppendFile(log_, "\n");
    want_.push_back(std::exchange(partial_, ""));
    pending_tail_ = 0;
  }
  void Rotate() {
    Did("rotate");
    CompletePartial();
    const std::string to = log_ + "." + std::to_string(100000 + rotations_++);  // sortable stamp
    ASSERT_EQ(std::rename(log_.c_str(), to.c_str()), 0);
    rotated_.push_back(to);
    ++gen_;
    WriteFile(log_, "");
    if (up_) WaitSeen();
  }
  // The kubelet compresses every rotated file but the newest: to a temporary name, then renamed.
  void Compress() {
    Did("gzip");
    for (size_t i = 0; i + 1 < rotated_.size(); ++i) {
      std::string& from = rotated_[i];
      if (from.ends_with(".gz")) continue;
      const std::string content = ReadFile(from);
      const std::string to = from + ".gz";
      gzFile gz = ::gzopen((to + ".tmp").c_str(), "wb1");
      ASSERT_NE(gz, nullptr);
      if (!content.empty()) {
        ASSERT_EQ(::gzwrite(gz, content.data(), static_cast<unsigned>(content.size())),
                  static_cast<int>(content.size()));
      }
      ::gzclose(gz);
      ASSERT_EQ(std::rename((to + ".tmp").c_str(), to.c_str()), 0);
      ASSERT_EQ(::unlink(from.c_str()), 0);
      from = to;
      return;
    }
  }
  // logrotate's copytruncate: lines not read before the truncation are only in the copy, which
  // is not tailed (Promtail and skidder alike): it waits until Loki has everything, as an
  // operator who chose copytruncate accepts.
  void CopyTruncate() {
    Did("copytruncate");
    if (!up_) return;
    CompletePartial();
    Outage(false);
    ASSERT_TRUE(WaitFor([&] { return Missing().empty(); }, std::chrono::seconds(30))) << history;
    h_.source->SyncPositions();
    ASSERT_TRUE(WaitFor([&] {
      auto r = h_.positions->FindByPath(log_);
      h_.source->SyncPositions();
      return r && r->offset == ReadFile(log_).size();
    })) << history;
    const std::string to = log_ + "." + std::to_string(100000 + rotations_++);
    WriteFile(to, ReadFile(log_));
    rotated_.push_back(to);
    ASSERT_EQ(::truncate(log_.c_str(), 0), 0);
    ++gen_;
  }
  // The container restarts: the runtime writes 1.log, 2.log, ... beside the old file.
  void ContainerRestart() {
    Did("container-restart");
    CompletePartial();
    log_ = h_.dir / (std::to_string(++restarts_) + ".log");
    WriteFile(log_, "");
    ++gen_;
    if (up_) WaitSeen();
  }
  void DeleteBeyondKeep() {
    Did("delete");
    if (!up_) return;  // see the file comment
    while (rotated_.size() > kKeep) {
      ::unlink(rotated_.front().c_str());
      rotated_.erase(rotated_.begin());
    }
  }
  void Outage(bool on) {
    Did(on ? "outage" : "recovered");
    outage_ = on;
    h_.sink.HoldAcks(on);
    if (!on) h_.sink.ReleaseAcks();
  }
  void LateAcks(std::mt19937& rng) {
    Did("late-acks");
    h_.sink.ReleaseSome(rng);
  }
  // SIGKILL: positions as last saved (before this action or, half the time, after it), entries
  // in flight gone.
  void Crash(std::mt19937& rng) {
    Did("crash");
    if (!up_) return;
    if (rng() % 2 == 0) {
      h_.source->SyncPositions();
      ASSERT_TRUE(h_.positions->Save().ok());
    }
    h_.Stop();
    h_.sink.DropUnacked();
    up_ = false;
  }
  void Recover() {
    Did("start");
    if (up_) return;
    h_.positions = std::make_unique<Positions>(h_.dir / "positions.json", false, &h_.metrics);
    Start();
    up_ = true;
  }
  void WaitSeen() {
    struct stat st;
    ASSERT_EQ(::stat(log_.c_str(), &st), 0);
    ASSERT_TRUE(WaitFor([&] {
      auto r = h_.positions->FindByPath(log_);
      return r && r->identity.ino == st.st_ino;
    })) << history;
  }

  testing::Harness& h_;
  std::string log_;
  std::vector<std::string> want_, rotated_;
  std::string partial_;
  size_t pending_tail_ = 0;
  int gen_ = 0, n_ = 0, rotations_ = 0, restarts_ = 0;
  bool up_ = true, outage_ = false;
};

std::vector<uint32_t> Seeds() {
  if (const char* s = std::getenv("SKIDDER_CRASH_MODEL_SEED")) return {uint32_t(std::stoul(s))};
  std::vector<uint32_t> seeds = {11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
  if (const char* n = std::getenv("SKIDDER_CRASH_MODEL_SEEDS")) {
    seeds.clear();
    std::random_device rd;
    for (int i = std::atoi(n); i > 0; --i) seeds.push_back(rd());
  }
  return seeds;
}

TEST(CrashModel, NothingOnTheNodeIsLostThroughCrashesRotationAndOutages) {
  for (uint32_t seed : Seeds()) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " (SKIDDER_CRASH_MODEL_SEED to rerun)");
    testing::Harness h;
    CrashModel m(h);
    m.Start();
    std::mt19937 rng(seed);
    for (int i = 0; i < 60 && !::testing::Test::HasFatalFailure(); ++i) m.Step(rng);
    const bool all = m.Finish();
    EXPECT_TRUE(all) << "missing " << ::testing::PrintToString(m.Missing())
                     << "\nactions: " << m.history;
    EXPECT_EQ(h.metrics.lost_bytes.With({telemetry::kReasonHeldBudget})->Value(), 0);
    EXPECT_EQ(h.metrics.lost_bytes.With({telemetry::kReasonRotatedAway})->Value(), 0) << m.history;
    h.Stop();
    if (::testing::Test::HasFailure()) break;
  }
}

}  // namespace
}  // namespace skidder::sources
