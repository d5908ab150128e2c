// A seeded random sequence of writes, partial writes, rotations, copytruncates, deletions and
// restarts against a temp dir; what reaches the sink must match a model: every complete line
// exactly once, in order per file generation. A failure prints its seed; rerun one with
// SKIDDER_TAILER_SEED=<seed>.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <map>
#include <random>
#include <set>

#include "sources/file/file_source.h"
#include "unit/sources/fake_sink.h"

namespace skidder::sources {
namespace {

using skidder::testing::AppendFile;
using skidder::testing::WaitFor;
using skidder::testing::WriteFile;

class Model {
 public:
  explicit Model(testing::Harness& h) : h_(h), log_(h.dir / "0.log") { WriteFile(log_, ""); }
  void Started() { WaitSeen(); }

  void Step(std::mt19937& rng) {
    history += std::string(last_action) + " ";
    switch (std::uniform_int_distribution<int>(0, 9)(rng)) {
      case 0:
      case 1:
      case 2:
      case 3:
        WriteLines(1 + rng() % 20);
        break;
      case 4:
        WritePartial();
        break;
      case 5:
        Rotate();
        break;
      case 6:
        CopyTruncate();
        break;
      case 7:
        DeleteRotated();
        break;
      case 8:
        Restart();
        break;
      default:
        WriteLines(1);
        break;
    }
  }
  bool AllDelivered() { return h_.sink.Count() >= want_.size(); }
  void Check() {
    std::map<std::string, std::vector<std::string>> got_by_gen, want_by_gen;
    for (const auto& l : h_.sink.Lines()) got_by_gen[l.substr(0, l.find('-'))].push_back(l);
    for (const auto& l : want_) want_by_gen[l.substr(0, l.find('-'))].push_back(l);
    for (auto& [gen, want] : want_by_gen) {
      const auto& got = got_by_gen[gen];
      if (got == want) continue;
      std::multiset<std::string> g(got.begin(), got.end()), w(want.begin(), want.end());
      std::vector<std::string> missing, extra;
      std::set_difference(w.begin(), w.end(), g.begin(), g.end(), std::back_inserter(missing));
      std::set_difference(g.begin(), g.end(), w.begin(), w.end(), std::back_inserter(extra));
      ADD_FAILURE() << gen << ": got " << got.size() << " want " << want.size() << "; missing "
                    << ::testing::PrintToString(missing) << "; extra "
                    << ::testing::PrintToString(extra) << "; actions: " << history;
    }
    for (auto& [gen, got] : got_by_gen) {
      if (!want_by_gen.contains(gen)) {
        ADD_FAILURE() << "unexpected lines " << ::testing::PrintToString(got);
      }
    }
  }
  const char* last_action = "";
  std::string history;

 private:
  std::string Line() { return "g" + std::to_string(gen_) + "-" + std::to_string(n_++); }
  void WriteLines(size_t k) {
    last_action = "write";
    std::string data;
    for (size_t i = 0; i < k; ++i) {
      std::string l = Line();
      if (!partial_.empty()) l = std::exchange(partial_, "") + l;
      data += l.substr(pending_tail_) + "\n";
      pending_tail_ = 0;
      want_.push_back(l);
    }
    AppendFile(log_, data);
  }
  void WritePartial() {
    last_action = "partial";
    if (!partial_.empty()) return;
    partial_ = Line() + "+";
    AppendFile(log_, partial_);
    pending_tail_ = partial_.size();  // already on disk
  }
  void CompletePartial() {
    if (partial_.empty()) return;
    AppendFile(log_, "\n");
    want_.push_back(std::exchange(partial_, ""));
    pending_tail_ = 0;
  }
  void Rotate() {
    last_action = "rotate";
    CompletePartial();
    std::string to = log_ + "." + std::to_string(rotations_++);
    ASSERT_EQ(std::rename(log_.c_str(), to.c_str()), 0);
    rotated_.push_back(to);
    ++gen_;
    WriteFile(log_, "");
    WaitSeen();
  }
  // "Nothing lost" holds for files that existed for at least one read interval: a file created
  // and rotated away before the agent ever looked (or while it was stopped) is not its to find.
  void WaitSeen() {
    struct stat st;
    ASSERT_EQ(::stat(log_.c_str(), &st), 0);
    ASSERT_TRUE(WaitFor([&] {
      auto r = h_.positions->FindByPath(log_);
      return r && r->identity.ino == st.st_ino;
    }));
  }
  void CopyTruncate() {
    last_action = "copytruncate";
    CompletePartial();
    // Lines not read before the truncation are only in the copy (not tailed): wait for them.
    EXPECT_TRUE(WaitFor([&] { return AllDelivered(); }, std::chrono::seconds(5)));
    ASSERT_EQ(::truncate(log_.c_str(), 0), 0);
    ++gen_;
  }
  void DeleteRotated() {
    last_action = "delete";
    if (rotated_.empty()) return;
    ::unlink(rotated_.front().c_str());  // may still be open and unread: must be drained
    rotated_.erase(rotated_.begin());
  }
  void Restart() {
    last_action = "restart";
    h_.Restart(h_.dir / "*.log", h_.DefaultOptions());
    // The first discovery has run (0.log always exists): rotated files are open again.
    ASSERT_TRUE(WaitFor([&] { return h_.source->ActiveFiles() > 0; }));
  }

  testing::Harness& h_;
  std::string log_;
  std::vector<std::string> want_;
  std::vector<std::string> rotated_;
  std::string partial_;
  size_t pending_tail_ = 0;
  int gen_ = 0, n_ = 0, rotations_ = 0;
};

TEST(TailerModel, RandomActionsDeliverEveryLineExactlyOnce) {
  std::vector<uint32_t> seeds = {1, 2, 3, std::random_device{}()};
  if (const char* s = std::getenv("SKIDDER_TAILER_SEED")) seeds = {uint32_t(std::stoul(s))};
  for (uint32_t seed : seeds) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " (SKIDDER_TAILER_SEED to rerun)");
    testing::Harness h;
    Model m(h);
    h.Start(h.dir / "*.log", h.DefaultOptions());
    m.Started();
    std::mt19937 rng(seed);
    for (int i = 0; i < 40 && !::testing::Test::HasFatalFailure(); ++i) m.Step(rng);
    EXPECT_TRUE(WaitFor([&] { return m.AllDelivered(); })) << "last action " << m.last_action;
    h.Stop();
    m.Check();
  }
}

}  // namespace
}  // namespace skidder::sources
