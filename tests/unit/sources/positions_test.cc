#include "sources/file/positions.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <thread>

#include "support/test_util.h"
#include "util/log.h"

namespace skidder::sources {
namespace {

using skidder::testing::ReadFile;
using skidder::testing::TempDir;
using skidder::testing::WriteFile;

class PositionsTest : public ::testing::Test {
 protected:
  PositionsTest() : metrics_(registry_) {}
  std::vector<std::string> Corrupt() {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir_.path())) {
      if (e.path().filename().string().find(".corrupt-") != std::string::npos) {
        out.push_back(e.path().string());
      }
    }
    return out;
  }
  TempDir dir_;
  telemetry::Registry registry_;
  telemetry::AgentMetrics metrics_;
};

TEST_F(PositionsTest, SaveAndLoadRoundTrip) {
  const std::string file = dir_ / "sub/positions.json";  // the directory is created on save
  PositionRecord a{"/var/log/a.log", {1, 2, 1024, 0xFFFFFFFFFFFFFFFFULL}, 12345, false};
  PositionRecord b{"/var/log/\"quoted\".log", {3, 4, 7, 99}, 7, false};
  {
    Positions p(file, false, &metrics_);
    p.Put(a);
    p.Put(b);
    ASSERT_TRUE(p.Save().ok());
  }
  Positions p(file, false, &metrics_);
  auto got = p.FindByPath(a.path);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->identity, a.identity);
  EXPECT_EQ(got->offset, 12345u);
  ASSERT_TRUE(p.FindByPath(b.path).has_value());
  auto by_id = p.FindByIdentity({3, 4, 0, 0});
  ASSERT_TRUE(by_id.has_value());
  EXPECT_EQ(by_id->path, b.path);
  EXPECT_EQ(p.All().size(), 2u);
  // No temp files are left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_ / "sub"),
                          std::filesystem::directory_iterator()),
            1);
}

// The reading thread (a held rotation) and the main loop (every 250 ms) save at once: each save
// installs a whole file and none fails. They used to share one temporary file, so one's rename
// could put the other's half-written file in place and the other's rename then failed.
TEST_F(PositionsTest, SavesFromTwoThreadsAtOnceEachInstallAWholeFile) {
  const std::string file = dir_ / "positions.json";
  Positions p(file, false, &metrics_);
  std::atomic<int> failures{0};
  auto saver = [&](int thread) {
    for (int i = 0; i < 300; ++i) {
      p.Put({"/var/log/t" + std::to_string(thread) + "-" + std::to_string(i) + ".log",
             {1, static_cast<uint64_t>(thread * 1000 + i), 0, 0},
             static_cast<uint64_t>(i),
             false});
      if (!p.Save().ok()) ++failures;
    }
  };
  std::thread a(saver, 1), b(saver, 2);
  for (int i = 0; i < 300; ++i) {  // meanwhile the file on disk is always a whole one
    Positions reader(file, false, &metrics_);
    EXPECT_FALSE(reader.lost()) << ReadFile(file);
  }
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(metrics_.positions_write_errors.With({})->Value(), 0);
  Positions reread(file, false, &metrics_);
  EXPECT_EQ(reread.All().size(), 600u);
}

// FindByIdentity answers from an index by inode: the first record by path with that device and
// inode, imported records never, as a scan of every record in path order would. Checked against
// that scan over random puts (new paths, changed identities, imports), removals and a reload.
TEST_F(PositionsTest, FindByIdentityAgreesWithAScanInPathOrder) {
  const std::string file = dir_ / "positions.json";
  auto scan = [](const std::vector<PositionRecord>& all,
                 const FileIdentity& id) -> std::optional<std::string> {
    for (const PositionRecord& r : all) {  // All() is in path order
      if (!r.imported && r.identity.dev == id.dev && r.identity.ino == id.ino) return r.path;
    }
    return std::nullopt;
  };
  auto agree = [&](const Positions& p, const std::string& when) {
    const std::vector<PositionRecord> all = p.All();
    for (uint64_t dev = 1; dev <= 2; ++dev) {
      for (uint64_t ino = 1; ino <= 6; ++ino) {
        auto got = p.FindByIdentity({dev, ino, 0, 0});
        auto want = scan(all, {dev, ino, 0, 0});
        ASSERT_EQ(got.has_value(), want.has_value()) << when << " dev " << dev << " ino " << ino;
        if (got) {
          EXPECT_EQ(got->path, *want) << when;
        }
      }
    }
  };
  std::mt19937 rng(7);
  {
    Positions p(file, false, &metrics_);
    for (int step = 0; step < 2000; ++step) {
      const std::string path = "/var/log/f" + std::to_string(rng() % 12) + ".log";
      if (rng() % 4 == 0) {
        p.Remove(path);
      } else {
        PositionRecord r{
            path, {1 + rng() % 2, 1 + rng() % 6, 16, rng()}, rng() % 100, rng() % 5 == 0};
        p.Put(r);
      }
      agree(p, "step " + std::to_string(step));
      if (HasFatalFailure()) return;
    }
    ASSERT_TRUE(p.Save().ok());
    agree(p, "saved");
  }
  Positions loaded(file, false, &metrics_);
  agree(loaded, "loaded");
  EXPECT_GT(loaded.Size(), 0u);
}

// A pass over a few directories asks for their records alone: those directly in each, not
// those below it or in a directory whose name merely starts the same.
TEST_F(PositionsTest, SelectInTakesTheRecordsDirectlyInTheDirectories) {
  Positions p(dir_ / "positions.json", false, &metrics_);
  uint64_t ino = 1;
  for (const char* path : {"/p/a/0.log", "/p/a/1.log", "/p/a/sub/0.log", "/p/ab/0.log", "/p/a.log",
                           "/p/b/0.log", "/p/c/0.log", "/top.log", "rel.log", "sub/rel.log"}) {
    p.Put(PositionRecord{path, {1, ino++, 16, 0}, 0, false});
  }
  auto paths = [](const std::vector<PositionRecord>& rs) {
    std::vector<std::string> out;
    for (const PositionRecord& r : rs) out.push_back(r.path);
    return out;
  };
  const auto all = [](const PositionRecord&) { return true; };
  EXPECT_EQ(paths(p.SelectIn({"/p/a", "/p/b"}, all)),
            (std::vector<std::string>{"/p/a/0.log", "/p/a/1.log", "/p/b/0.log"}));
  EXPECT_EQ(paths(p.SelectIn({"/p/a", "/p/a/sub"}, all)),
            (std::vector<std::string>{"/p/a/0.log", "/p/a/1.log", "/p/a/sub/0.log"}));
  EXPECT_EQ(
      paths(p.SelectIn({"/p/a"}, [](const PositionRecord& r) { return r.identity.ino != 1; })),
      std::vector<std::string>{"/p/a/1.log"});
  EXPECT_TRUE(p.SelectIn({"/p/none", "/q"}, all).empty());
  // The root, and "." (DirName of a relative glob's path with no directory in it).
  EXPECT_EQ(paths(p.SelectIn({"/"}, all)), std::vector<std::string>{"/top.log"});
  EXPECT_EQ(paths(p.SelectIn({"."}, all)), std::vector<std::string>{"rel.log"});
}

// A record whose size alone changed (a read of a growing file) is kept in memory at once, but
// written only by a save for any change: saves for what a restart resumes from skip it.
TEST_F(PositionsTest, ASizeAloneWaitsForASaveOfAnyChange) {
  const std::string file = dir_ / "positions.json";
  Positions p(file, false, &metrics_);
  PositionRecord a{"/var/log/a.log", {1, 2, 1024, 7}, 100, false};
  a.size = 100;
  p.Put(a);
  ASSERT_TRUE(p.Save(Positions::SaveWhen::kResumeChange).ok());  // a new record is written
  auto saved_size = [&] { return Positions(file, false, &metrics_).FindByPath(a.path)->size; };
  ASSERT_EQ(saved_size(), 100u);
  a.size = 150;
  p.Put(a);
  EXPECT_EQ(p.FindByPath(a.path)->size, 150u);
  ASSERT_TRUE(p.Save(Positions::SaveWhen::kResumeChange).ok());
  EXPECT_EQ(saved_size(), 100u);
  ASSERT_TRUE(p.Save(Positions::SaveWhen::kAnyChange).ok());
  EXPECT_EQ(saved_size(), 150u);
  // An offset moving is saved at once, with the size as it is then.
  a.size = 180;
  p.Put(a);
  a.offset = 150;
  p.Put(a);
  ASSERT_TRUE(p.Save(Positions::SaveWhen::kResumeChange).ok());
  Positions reloaded(file, false, &metrics_);
  EXPECT_EQ(reloaded.FindByPath(a.path)->offset, 150u);
  EXPECT_EQ(reloaded.FindByPath(a.path)->size, 180u);
}

// Paths are bytes, not text: whatever a file system holds (quotes, backslashes, control
// characters, bytes that are not UTF-8, long names) is written escaped where JSON needs it and
// read back byte for byte, and the text around a path that needed escaping stays well-formed.
TEST_F(PositionsTest, EveryByteOfAPathRoundTrips) {
  const std::string file = dir_ / "positions.json";
  std::vector<PositionRecord> records;
  std::string every_byte = "/var/log/";
  for (int c = 1; c < 256; ++c) every_byte.push_back(static_cast<char>(c));
  for (const std::string& path :
       {every_byte, std::string("/var/log/\\\"\n\t\x7f\xff\xfe.log"),
        std::string("/var/log/caf\xc3\xa9/\xe2\x82\xac.log"), std::string("/\"\""),
        "/var/log/" + std::string(70000, 'a'), "/var/log/" + std::string(5000, '"')}) {
    PositionRecord r{path, {1, records.size() + 2, 7, 99}, records.size() + 10, false};
    r.origin = path + "\x01origin";
    records.push_back(r);
  }
  {
    Positions p(file, false, &metrics_);
    for (const PositionRecord& r : records) p.Put(r);
    p.PutCursor("journal-\"job\"", "s=\x01\\;i=2");
    ASSERT_TRUE(p.Save().ok());
  }
  Positions p(file, false, &metrics_);
  ASSERT_EQ(p.Size(), records.size()) << "the file did not load whole";
  for (const PositionRecord& want : records) {
    auto got = p.FindByPath(want.path);
    ASSERT_TRUE(got.has_value()) << want.path.size() << " bytes: " << want.path.substr(0, 40);
    EXPECT_EQ(got->origin, want.origin);
    EXPECT_EQ(got->offset, want.offset);
    EXPECT_EQ(got->identity, want.identity);
  }
  EXPECT_EQ(p.GetCursor("journal-\"job\""), "s=\x01\\;i=2");
  EXPECT_TRUE(Corrupt().empty());
}

TEST_F(PositionsTest, CorruptFilesAreSetAsideAndStartEmpty) {
  const char* bad[] = {"",
                       "   \n",
                       "{\"version\":1,\"files\":[{\"path\":\"/x\",\"dev\":1",
                       "\x01\x02garbage\xff",
                       "{\"version\":2,\"files\":[]}",
                       "- just\n- a list\n"};
  for (const char* content : bad) {
    TempDir dir;
    const std::string file = dir / "positions.yaml";
    WriteFile(file, content);
    std::string log;
    log::CaptureForTest(&log);
    Positions p(file, false, &metrics_);
    log::CaptureForTest(nullptr);
    EXPECT_TRUE(p.All().empty()) << content;
    EXPECT_FALSE(std::filesystem::exists(file)) << content;
    size_t aside = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
      aside += e.path().filename().string().starts_with("positions.yaml.corrupt-");
    }
    EXPECT_EQ(aside, 1u) << content;
    EXPECT_NE(log.find("positions file is unreadable"), std::string::npos) << content;
  }
}

TEST_F(PositionsTest, IgnoreInvalidStartsEmptyQuietly) {
  const std::string file = dir_ / "positions.yaml";
  WriteFile(file, "{{{ not yaml");
  Positions p(file, true, &metrics_);
  EXPECT_TRUE(p.All().empty());
  EXPECT_TRUE(Corrupt().empty());
}

TEST_F(PositionsTest, ImportsPromtailYaml) {
  const std::string file = dir_ / "positions.yaml";
  WriteFile(file,
            "positions:\n"
            "  /var/log/pods/ns_p_u/app/0.log: \"4096\"\n"
            "  /var/log/syslog: \"17\"\n"
            "  journal-abc: \"s=deadbeef;i=1\"\n"
            "  cursor-node: \"s=cafe;i=2\"\n"
            "  cursor-4f1c2e: \"1714557600\"\n");
  Positions p(file, false, &metrics_);
  // Promtail's journal cursors (older "journal-<job>", newer "cursor-<job>") carry over, and so
  // does its Docker target's "cursor-<container id>" though its value (Unix seconds) is digits.
  EXPECT_EQ(p.GetCursor("journal-abc"), "s=deadbeef;i=1");
  EXPECT_EQ(p.GetCursor("journal-node"), "s=cafe;i=2");
  EXPECT_EQ(p.GetCursor("journal-4f1c2e"), "1714557600");
  EXPECT_FALSE(p.FindByPath("cursor-4f1c2e").has_value()) << "not a file position";
  auto r = p.FindByPath("/var/log/pods/ns_p_u/app/0.log");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->offset, 4096u);
  EXPECT_TRUE(r->imported);
  EXPECT_EQ(p.All().size(), 2u);  // the journal cursor is not a file position
  // Saving converts it to skidder's format.
  p.Put({"/var/log/syslog", {1, 2, 0, 0}, 20, false});
  ASSERT_TRUE(p.Save().ok());
  EXPECT_EQ(ReadFile(file).front(), '{');
  EXPECT_EQ(Positions(file, false, &metrics_).GetCursor("journal-node"), "s=cafe;i=2");
}

// Alloy's several legacy_positions_file: the first is the positions file, the others are
// imported into it, and only until skidder has written it once.
TEST_F(PositionsTest, FurtherPositionsFilesAreImportedUntilTheFirstSave) {
  const std::string main = dir_ / "a.yaml";
  const std::string other = dir_ / "b.yaml";
  WriteFile(main, "positions:\n  /logs/a.log: \"10\"\n  /logs/both.log: \"1\"\n");
  WriteFile(other,
            "positions:\n  /logs/b.log: \"20\"\n  /logs/both.log: \"2\"\n"
            "  cursor-node: \"s=b;i=1\"\n");
  {
    Positions p(main, false, &metrics_, {main, other, dir_ / "missing.yaml"});
    EXPECT_FALSE(p.lost());
    ASSERT_EQ(p.All().size(), 3u);
    EXPECT_EQ(p.FindByPath("/logs/a.log")->offset, 10u);
    EXPECT_EQ(p.FindByPath("/logs/b.log")->offset, 20u);
    EXPECT_TRUE(p.FindByPath("/logs/b.log")->imported);
    EXPECT_EQ(p.FindByPath("/logs/both.log")->offset, 1u) << "the first file naming a path wins";
    EXPECT_EQ(p.GetCursor("journal-node"), "s=b;i=1");
    ASSERT_TRUE(p.Save().ok()) << "an import alone is a change to save";
  }
  EXPECT_EQ(ReadFile(main).front(), '{');
  EXPECT_EQ(ReadFile(other).front(), 'p') << "an imported file is only read";
  // Later starts read skidder's file alone: a record since removed does not come back.
  {
    Positions p(main, false, &metrics_, {main, other});
    p.Remove("/logs/b.log");
    ASSERT_TRUE(p.Save().ok());
  }
  Positions p(main, false, &metrics_, {main, other});
  EXPECT_FALSE(p.FindByPath("/logs/b.log").has_value());
  EXPECT_EQ(p.All().size(), 2u);
}

TEST_F(PositionsTest, AnImportThatCannotBeReadReadsItsFilesFromTheStart) {
  const std::string main = dir_ / "positions.json";
  const std::string other = dir_ / "other.yaml";
  WriteFile(other, "{{{ not yaml");
  std::string log;
  log::CaptureForTest(&log);
  Positions p(main, false, &metrics_, {other});
  log::CaptureForTest(nullptr);
  EXPECT_TRUE(p.lost()) << "tail_from_end must not skip what that file's agent had not read";
  EXPECT_TRUE(p.All().empty());
  EXPECT_NE(log.find("cannot import positions file"), std::string::npos) << log;
  EXPECT_NE(log.find(other), std::string::npos) << log;
  EXPECT_EQ(ReadFile(other), "{{{ not yaml") << "never set aside: it is not ours";
  p.Put({"/var/log/a.log", {1, 2, 0, 0}, 5, false});
  EXPECT_TRUE(p.Save().ok()) << "a corrupt import is not worth stopping saves for";
}

// One that cannot be read (permissions) is logged and its files are read from their start;
// positions are still saved (a file that stays unreadable must not stop them being kept).
TEST_F(PositionsTest, AnUnreadableImportDoesNotStopSaves) {
  const std::string main = dir_ / "positions.json";
  const std::string other = dir_ / "a-directory.yaml";
  std::filesystem::create_directory(other);  // read() fails with EISDIR, for root too
  std::string log;
  log::CaptureForTest(&log);
  Positions p(main, false, &metrics_, {other});
  log::CaptureForTest(nullptr);
  EXPECT_TRUE(p.lost());
  EXPECT_NE(log.find("cannot import positions file"), std::string::npos) << log;
  p.Put({"/var/log/a.log", {1, 2, 0, 0}, 5, false});
  EXPECT_TRUE(p.Save().ok());
  EXPECT_TRUE(std::filesystem::exists(main));
}

// A corrupt Promtail file is set aside and the others are still imported; a corrupt file of
// skidder's own format is not replaced by old imports (an offset they hold may be for a file
// that has since been replaced at the same path).
TEST_F(PositionsTest, ImportsFollowACorruptPromtailFileButNotACorruptOwnFile) {
  const std::string other = dir_ / "other.yaml";
  WriteFile(other, "positions:\n  /logs/b.log: \"20\"\n");
  std::string log;
  log::CaptureForTest(&log);
  {
    const std::string main = dir_ / "promtail.yaml";
    WriteFile(main, "positions: [not, a, map\n");
    Positions p(main, false, &metrics_, {main, other});
    EXPECT_TRUE(p.lost());
    EXPECT_EQ(p.All().size(), 1u);
  }
  {
    const std::string main = dir_ / "positions.json";
    WriteFile(main, "{\"version\":1,\"files\":[{\"path\":");
    Positions p(main, false, &metrics_, {main, other});
    EXPECT_TRUE(p.lost());
    EXPECT_TRUE(p.All().empty());
  }
  log::CaptureForTest(nullptr);
  EXPECT_NE(log.find("not importing legacy positions files"), std::string::npos) << log;
}

// The time files are judged by (tail_from_end, rotations while stopped) is that of the oldest
// file whose records were taken: an old file that added nothing does not move it.
TEST_F(PositionsTest, OnlyAnImportThatAddedRecordsDatesTheStop) {
  const std::string main = dir_ / "a.yaml";
  const std::string same = dir_ / "b.yaml";
  WriteFile(main, "positions:\n  /logs/a.log: \"10\"\n");
  WriteFile(same, "positions:\n  /logs/a.log: \"5\"\n");
  const struct timespec old_times[2] = {{1'000'000'000, 0}, {1'000'000'000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, same.c_str(), old_times, 0), 0);
  Positions p(main, false, &metrics_, {main, same});
  EXPECT_GT(p.loaded_mtime_ns(), int64_t{1'000'000'000} * 1'000'000'000);
  EXPECT_EQ(p.FindByPath("/logs/a.log")->offset, 10u);
  WriteFile(dir_ / "c.yaml", "positions:\n  /logs/c.log: \"5\"\n");
  ASSERT_EQ(::utimensat(AT_FDCWD, (dir_ / "c.yaml").c_str(), old_times, 0), 0);
  Positions q(dir_ / "d.yaml", false, &metrics_, {dir_ / "c.yaml"});
  EXPECT_EQ(q.loaded_mtime_ns(), int64_t{1'000'000'000} * 1'000'000'000);
}

TEST_F(PositionsTest, JournalCursorsSurviveSaveAndLoad) {
  const std::string file = dir_ / "positions.json";
  Positions p(file, false, &metrics_);
  p.Put({"/var/log/a.log", {1, 2, 0, 0}, 5, false});
  p.PutCursor("journal-node", "s=1;i=2;b=3;m=4;t=5;x=6");
  ASSERT_TRUE(p.Save().ok());
  Positions q(file, false, &metrics_);
  EXPECT_EQ(q.GetCursor("journal-node"), "s=1;i=2;b=3;m=4;t=5;x=6");
  EXPECT_EQ(q.GetCursor("journal-other"), std::nullopt);
  EXPECT_EQ(q.All().size(), 1u);
}

TEST_F(PositionsTest, FilesWithoutCursorsStillLoad) {
  // Written by a skidder from before journal support.
  const std::string file = dir_ / "positions.json";
  WriteFile(file,
            "{\"version\":1,\"files\":[{\"path\":\"/a\",\"dev\":1,\"ino\":2,\"fp_len\":0,"
            "\"fp\":0,\"offset\":3}]}");
  Positions p(file, false, &metrics_);
  EXPECT_EQ(p.All().size(), 1u);
  EXPECT_TRUE(Corrupt().empty());
}

// A compressed record given up inside its stream says so, with the hash of its last compressed
// bytes ("cut"); records without the key load as not cut, and a cut that is not a hash (0, not
// a number) makes the file corrupt.
TEST_F(PositionsTest, CutArchivesAreKept) {
  const std::string file = dir_ / "positions.json";
  {
    Positions p(file, false, &metrics_);
    PositionRecord r{"/a.gz", {1, 2, 3, 4}, 10, false};
    r.compressed = r.done = r.cut = true;
    r.tail = 4'000'000'000;
    r.size = 77;
    p.Put(r);
    p.Put({"/b.log", {1, 5, 3, 4}, 10, false});
    ASSERT_TRUE(p.Save().ok());
  }
  EXPECT_EQ(ReadFile(file).find("\"cut\"", ReadFile(file).find("/b.log")), std::string::npos);
  Positions p(file, false, &metrics_);
  EXPECT_TRUE(p.FindByPath("/a.gz")->cut);
  EXPECT_EQ(p.FindByPath("/a.gz")->tail, 4'000'000'000u);
  EXPECT_EQ(p.FindByPath("/a.gz")->size, 77u);
  EXPECT_FALSE(p.FindByPath("/b.log")->cut);
  WriteFile(file,
            "{\"version\":1,\"files\":[{\"path\":\"/a\",\"dev\":1,\"ino\":2,\"fp_len\":0,"
            "\"fp\":0,\"offset\":3,\"cut\":true}]}");
  Positions bad(file, false, &metrics_);
  EXPECT_EQ(bad.All().size(), 0u);
  EXPECT_EQ(Corrupt().size(), 1u);
}

// A record's birth time (what tells a new file on a reused inode from the recorded one) is kept
// across a restart; records written without one load with none (unknown: not compared).
TEST_F(PositionsTest, BirthTimesAreKeptAndRecordsWithoutOneStillLoad) {
  const std::string file = dir_ / "positions.json";
  {
    Positions p(file, false, &metrics_);
    p.Put({"/a.log", {1, 2, 3, 4, 1'700'000'000'123'456'789}, 10, false});
    p.Put({"/b.log", {1, 5, 3, 4}, 10, false});
    ASSERT_TRUE(p.Save().ok());
  }
  EXPECT_EQ(ReadFile(file).find("\"born\"", ReadFile(file).find("/b.log")), std::string::npos)
      << "a record without a birth time writes none";
  Positions p(file, false, &metrics_);
  EXPECT_EQ(p.FindByPath("/a.log")->identity.born_ns, 1'700'000'000'123'456'789);
  EXPECT_EQ(p.FindByPath("/b.log")->identity.born_ns, 0);
  WriteFile(file,
            "{\"version\":1,\"files\":[{\"path\":\"/a\",\"dev\":1,\"ino\":2,\"fp_len\":0,"
            "\"fp\":0,\"offset\":3,\"born\":\"yesterday\"}]}");
  Positions bad(file, false, &metrics_);
  EXPECT_EQ(bad.All().size(), 0u);
  EXPECT_EQ(Corrupt().size(), 1u);
}

// Records of two files on one inode (the first deleted, the second made on its inode): a lookup
// by identity with a birth time finds the record of that file only; without one, the first by
// path, as before birth times were kept.
TEST_F(PositionsTest, FindByIdentitySkipsRecordsOfFilesBornAtAnotherTime) {
  Positions p(&metrics_);
  p.Put({"/logs/a.log", {1, 2, 3, 4, 100}, 10, false});
  p.Put({"/logs/b.log", {1, 2, 5, 6, 200}, 20, false});
  p.Put({"/logs/c.log", {1, 2, 7, 8}, 30, false});  // no birth time known: may be anyone's
  EXPECT_EQ(p.FindByIdentity({1, 2, 0, 0, 200})->path, "/logs/b.log");
  EXPECT_EQ(p.FindByIdentity({1, 2, 0, 0, 100})->path, "/logs/a.log");
  EXPECT_EQ(p.FindByIdentity({1, 2, 0, 0, 300})->path, "/logs/c.log");
  EXPECT_EQ(p.FindByIdentity({1, 2, 0, 0})->path, "/logs/a.log");
  p.Remove("/logs/c.log");
  EXPECT_FALSE(p.FindByIdentity({1, 2, 0, 0, 300}).has_value());
}

// A record naming no birth time (written before skidder kept them, or imported from Promtail)
// may be a deleted file's: it does not hide the record naming the birth time of the file asked
// about, even when its path sorts first.
TEST_F(PositionsTest, FindByIdentityPrefersTheRecordNamingTheBirthTime) {
  Positions p(&metrics_);
  p.Put({"/logs/0-old.log", {1, 2, 7, 8}, 30, false});
  p.Put({"/logs/b.log", {1, 2, 5, 6, 200}, 20, false});
  EXPECT_EQ(p.FindByIdentity({1, 2, 0, 0, 200})->path, "/logs/b.log");
  EXPECT_EQ(p.FindByIdentity({1, 2, 0, 0, 300})->path, "/logs/0-old.log");
  EXPECT_EQ(p.FindByIdentity({1, 2, 0, 0})->path, "/logs/0-old.log") << "the first by path";
}

TEST_F(PositionsTest, WriteErrorIsCountedAndStateKeptUntilALaterSaveSucceeds) {
  // Like a full disk, whoever runs the test (root ignores permissions): the directory of the
  // positions file is a regular file, so the temp file cannot be created.
  const std::string sub = dir_ / "vol";
  WriteFile(sub, "not a directory");
  Positions p(sub + "/positions.json", false, &metrics_);
  p.Put({"/a.log", {1, 2, 3, 4}, 10, false});
  std::string log;
  log::CaptureForTest(&log);
  Status st = p.Save();
  log::CaptureForTest(nullptr);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(metrics_.positions_write_errors.With({})->Value(), 1);
  EXPECT_NE(log.find("cannot write positions file"), std::string::npos);
  EXPECT_EQ(p.FindByPath("/a.log")->offset, 10u);
  std::filesystem::remove(sub);  // the volume has room again
  ASSERT_TRUE(p.Save().ok());    // still dirty: written now
  Positions reloaded(sub + "/positions.json", false, &metrics_);
  EXPECT_EQ(reloaded.FindByPath("/a.log")->offset, 10u);
}

TEST_F(PositionsTest, ReadOnlyNeverWrites) {
  const std::string file = dir_ / "positions.json";
  Positions p(file, false, &metrics_);
  p.SetReadOnly(true);
  p.Put({"/a.log", {1, 2, 3, 4}, 10, false});
  ASSERT_TRUE(p.Save().ok());
  EXPECT_FALSE(std::filesystem::exists(file));
}

}  // namespace
}  // namespace skidder::sources

namespace skidder::sources {
namespace {

class PositionsSafety : public PositionsTest {};

TEST_F(PositionsSafety, APlantedSymlinkAtTheTemporaryNameIsNotFollowed) {
  const std::string file = dir_ / "positions.json";
  const std::string victim = dir_ / "victim";
  WriteFile(victim, "precious\n");
  // A local user plants the temporary name the agent (root) will write.
  ASSERT_EQ(::symlink(victim.c_str(), (file + ".tmp-" + std::to_string(::getpid())).c_str()), 0);
  Positions p(file, false, &metrics_);
  p.Put({"/var/log/a.log", {1, 2, 3, 4}, 5, false});
  ASSERT_TRUE(p.Save().ok());
  EXPECT_EQ(ReadFile(victim), "precious\n");
  Positions again(file, false, &metrics_);
  EXPECT_TRUE(again.FindByPath("/var/log/a.log").has_value());
}

TEST_F(PositionsSafety, StateDirectoryIsPrivateWhateverTheUmask) {
  const mode_t old = ::umask(0);
  Positions p(dir_ / "state/sub/positions.json", false, &metrics_);
  p.Put({"/var/log/a.log", {1, 2, 3, 4}, 5, false});
  Status st = p.Save();
  ::umask(old);
  ASSERT_TRUE(st.ok()) << st.ToString();
  struct stat s;
  ASSERT_EQ(::stat((dir_ / "state/sub").c_str(), &s), 0);
  EXPECT_EQ(s.st_mode & 0777, 0750u);
  ASSERT_EQ(::stat((dir_ / "state/sub/positions.json").c_str(), &s), 0);
  EXPECT_EQ(s.st_mode & 0077, 0u);
}

TEST_F(PositionsSafety, AFileThatCannotBeReadIsNeverOverwritten) {
  // A directory where the file should be: it exists, and reading it fails (EISDIR).
  const std::string file = dir_ / "positions.json";
  std::filesystem::create_directory(file);
  Positions p(file, false, &metrics_);
  p.Put({"/var/log/a.log", {1, 2, 3, 4}, 5, false});
  Status st = p.Save();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("not overwriting"), std::string::npos) << st.message();
  EXPECT_TRUE(std::filesystem::is_directory(file));
}

TEST_F(PositionsSafety, CompressedRecordsRoundTrip) {
  const std::string file = dir_ / "positions.json";
  PositionRecord r{"/var/log/0.log.1.gz", {1, 2, 3, 4}, 5, false};
  r.compressed = true;
  r.done = true;
  r.origin = "/var/log/0.log";
  {
    Positions p(file, false, &metrics_);
    p.Put(r);
    ASSERT_TRUE(p.Save().ok());
  }
  Positions p(file, false, &metrics_);
  auto got = p.FindByPath(r.path);
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(got->compressed);
  EXPECT_TRUE(got->done);
  EXPECT_EQ(got->origin, "/var/log/0.log");
  EXPECT_GT(p.loaded_mtime_ns(), 0);
}

}  // namespace
}  // namespace skidder::sources
