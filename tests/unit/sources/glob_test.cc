#include "sources/file/glob.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <future>
#include <iterator>
#include <map>
#include <set>

#include "sources/file/file_util.h"
#include "sources/file/identity.h"
#include "support/test_util.h"

namespace skidder::sources {
namespace {

struct MatchCase {
  const char* pattern;
  const char* path;
  bool want;
};

TEST(Glob, MatchesLikePromtailDoublestar) {
  const MatchCase cases[] = {
      {"/var/log/*.log", "/var/log/syslog.log", true},
      {"/var/log/*.log", "/var/log/sub/x.log", false},   // * does not cross '/'
      {"/var/log/*.log", "/var/log/.hidden.log", true},  // dot files are not special
      {"/var/log/?.log", "/var/log/0.log", true},
      {"/var/log/?.log", "/var/log/10.log", false},
      {"/var/log/[0-9].log", "/var/log/7.log", true},
      {"/var/log/[!0-9].log", "/var/log/7.log", false},
      {"/var/log/**/*.log", "/var/log/a.log", true},  // ** matches zero directories
      {"/var/log/**/*.log", "/var/log/a/b/c.log", true},
      {"/var/log/**", "/var/log/a/b/c.txt", true},
      {"/var/log//x.log", "/var/log/x.log", true},
      {"/var/log/pods/*/*/*.log", "/var/log/pods/ns_pod_uid/app/0.log", true},
      {"/var/log/pods/*/*/*.log", "/var/log/pods/ns_pod_uid/app/0.log.20261124-104012", false},
      {"/var/log/pods/*uid1/app/*.log", "/var/log/pods/ns_pod_uid1/app/1.log", true},
      {"/var/log/pods/*uid1/app/*.log", "/var/log/pods/ns_pod_uid2/app/1.log", false},
      {"/var/log/*.gz", "/var/log/0.log.20261124.gz", true},
      {"/var/log/x.log", "/var/log/x.log", true},
      {"/var/log/x.log", "var/log/x.log", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Glob(c.pattern).Match(c.path), c.want) << c.pattern << " vs " << c.path;
  }
}

TEST(Glob, RootIsTheLongestFixedDirectory) {
  EXPECT_EQ(Glob("/var/log/pods/*/*/*.log").root(), "/var/log/pods");
  EXPECT_EQ(Glob("/var/log/x.log").root(), "/var/log");
  EXPECT_EQ(Glob("/var/**/x.log").root(), "/var");
  EXPECT_EQ(Glob("/*.log").root(), "/");
}

std::vector<std::string> WalkFiles(const Glob& g, std::vector<std::string>* dirs = nullptr) {
  std::vector<std::string> files;
  g.Walk(
      [&](const std::string& d) {
        if (dirs) dirs->push_back(d);
      },
      [&](const std::string& p, const WalkedFile&) { files.push_back(p); });
  std::sort(files.begin(), files.end());
  return files;
}

TEST(Glob, WalkFindsPodLogsAndOnlyDescendsWhereThePatternCanMatch) {
  skidder::testing::TempDir tmp;
  const std::string pods = tmp / "pods";
  for (const char* d : {"ns_a_1/app", "ns_a_1/sidecar", "ns_b_2/app", "other"}) {
    skidder::testing::MakeDirs(pods + "/" + d);
  }
  skidder::testing::WriteFile(pods + "/ns_a_1/app/0.log", "x\n");
  skidder::testing::WriteFile(pods + "/ns_a_1/app/0.log.20261124-104012", "x\n");
  skidder::testing::WriteFile(pods + "/ns_a_1/sidecar/0.log", "x\n");
  skidder::testing::WriteFile(pods + "/ns_b_2/app/1.log", "x\n");
  skidder::testing::WriteFile(pods + "/other/0.log", "x\n");
  std::vector<std::string> dirs;
  auto files = WalkFiles(Glob(pods + "/*_*/app/*.log"), &dirs);
  EXPECT_EQ(files,
            (std::vector<std::string>{pods + "/ns_a_1/app/0.log", pods + "/ns_b_2/app/1.log"}));
  EXPECT_EQ(std::count(dirs.begin(), dirs.end(), pods + "/ns_a_1/sidecar"), 0);
  EXPECT_EQ(std::count(dirs.begin(), dirs.end(), pods + "/other"), 0);
  EXPECT_EQ(std::count(dirs.begin(), dirs.end(), pods + "/ns_a_1/app"), 1);

  auto all = WalkFiles(Glob(pods + "/**/0.log"));
  EXPECT_EQ(all.size(), 3u);
}

// A discovery pass over files the reader holds open lists directories and stats nothing: the
// walk takes the caller's word for a regular file it knows by path and inode.
TEST(Glob, WalkTakesTheCallersWordForAFileItKnowsByInode) {
  skidder::testing::TempDir dir;
  const std::string known = dir / "known.log", other = dir / "other.log";
  skidder::testing::WriteFile(known, "k\n");
  skidder::testing::WriteFile(other, "o\n");
  struct stat ks;
  ASSERT_EQ(::stat(known.c_str(), &ks), 0);
  for (const std::string& pattern : {dir / "*.log", dir / "**/*.log"}) {
    std::map<std::string, WalkedFile> seen;
    Glob(pattern).Walk(
        [](const std::string&) {}, [&](const std::string& p, const WalkedFile& w) { seen[p] = w; },
        [&](const std::string& p, const Glob::Listed& at, WalkedFile* w) {
          if (p != known || at.ino != ks.st_ino) return false;
          *w = WalkedFile{12345, at.ino, false, false};  // what the caller says, unchecked
          return true;
        });
    EXPECT_EQ(seen[known].dev, 12345u) << pattern;
    EXPECT_FALSE(seen[known].exact) << pattern;
    EXPECT_TRUE(seen[other].exact) << pattern;  // unknown: stat'ed
    EXPECT_NE(seen[other].dev, 0u) << pattern;
  }
}

// Discovery opens a new file on the listed directory's descriptor (one name to look up, not the
// whole path): what the walk hands a KnownFn opens the very file the path names.
TEST(Glob, TheListingsDescriptorOpensTheFileByItsName) {
  skidder::testing::TempDir dir;
  skidder::testing::MakeDirs(dir / "pods/ns_a_1/app");
  const std::string file = dir / "pods/ns_a_1/app/0.log";
  skidder::testing::WriteFile(file, "x\n");
  struct stat want;
  ASSERT_EQ(::stat(file.c_str(), &want), 0);
  const auto check = [&](const std::string& p, const Glob::Listed& at, WalkedFile*) {
    EXPECT_EQ(p, file);
    EXPECT_EQ(at.ino, want.st_ino);
    EXPECT_STREQ(at.name, "0.log");
    const int fd = OpenAtNoAtime(at.dir_fd, at.name, O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0) << std::strerror(errno);
    struct stat got;
    EXPECT_EQ(::fstat(fd, &got), 0);
    EXPECT_EQ(got.st_ino, want.st_ino);
    ::close(fd);
    return false;
  };
  for (const std::string& pattern : {dir / "pods/*/*/*.log", dir / "pods/**/*.log"}) {
    std::vector<std::string> files;
    Glob(pattern).Walk([](const std::string&) {},
                       [&](const std::string& p, const WalkedFile&) { files.push_back(p); }, check);
    EXPECT_EQ(files, std::vector<std::string>{file}) << pattern;
  }
  std::vector<std::string> listed;
  Glob::ListFiles(
      dir / "pods/ns_a_1/app", [](const std::string&) { return true; },
      [&](const std::string& p, const WalkedFile&) { listed.push_back(p); }, check);
  EXPECT_EQ(listed, std::vector<std::string>{file});
}

TEST(Glob, DoubleStarWalkDoesNotFollowSymlinkLoops) {
  skidder::testing::TempDir tmp;
  skidder::testing::MakeDirs(tmp / "a/b");
  skidder::testing::WriteFile(tmp / "a/b/x.log", "x\n");
  ASSERT_EQ(::symlink((tmp / "a").c_str(), (tmp / "a/b/loop").c_str()), 0);
  EXPECT_EQ(WalkFiles(Glob(tmp / "**/*.log")), std::vector<std::string>{tmp / "a/b/x.log"});
}

TEST(Glob, BraceAlternativesMatchLikeDoublestar) {
  const MatchCase cases[] = {
      {"/var/log/{syslog,messages}", "/var/log/syslog", true},
      {"/var/log/{syslog,messages}", "/var/log/messages", true},
      {"/var/log/{syslog,messages}", "/var/log/auth.log", false},
      {"/var/log/{syslog,messages}", "/var/log/{syslog,messages}", false},
      {"/var/log/*.{log,txt}", "/var/log/a.txt", true},
      {"/var/log/*.{log,txt}", "/var/log/a.gz", false},
      {"/var/log/{app,web}/*.log", "/var/log/web/x.log", true},
      {"/var/log/{app,web}/*.log", "/var/log/db/x.log", false},
      {"/var/log/{a,b{1,2}}.log", "/var/log/b2.log", true},  // nested
      {"/var/log/{a,b{1,2}}.log", "/var/log/b.log", false},
      {"/var/log/{a,b{1,2}}.log", "/var/log/a.log", true},
      {"/var/{log/x,tmp/y}.log", "/var/tmp/y.log", true},     // an alternative spans '/'
      {"/var/log/{,old/}x.log", "/var/log/old/x.log", true},  // an empty alternative
      {"/var/log/{,old/}x.log", "/var/log/x.log", true},
      {"/var/log/{x.log", "/var/log/{x.log", true},            // unbalanced: literal
      {"/var/log/\\{a,b\\}.log", "/var/log/{a,b}.log", true},  // escaped: literal
      {"/var/log/\\{a,b\\}.log", "/var/log/a.log", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Glob(c.pattern).Match(c.path), c.want) << c.pattern << " vs " << c.path;
  }
}

TEST(Glob, ExpandsBracesInOrderAndBoundsTheirNumber) {
  EXPECT_EQ(
      ExpandBraces("/a/{x,y{1,2}}/{p,q}"),
      (std::vector<std::string>{"/a/x/p", "/a/x/q", "/a/y1/p", "/a/y1/q", "/a/y2/p", "/a/y2/q"}));
  EXPECT_EQ(ExpandBraces("/a/*.log"), std::vector<std::string>{"/a/*.log"});
  EXPECT_EQ(ExpandBraces("{a,b}{c,d}{e,f}", 5).size(), 5u);
}

TEST(Glob, BraceRootIsTheDirectoryAllAlternativesShare) {
  EXPECT_EQ(Glob("/var/log/{app,web}/*.log").root(), "/var/log");
  EXPECT_EQ(Glob("/var/log/{syslog,messages}").root(), "/var/log");
  EXPECT_EQ(Glob("/var/log/app/{a,b}.log").root(), "/var/log/app");
  EXPECT_EQ(Glob("/{var,srv}/log/*.log").root(), "/");
}

TEST(Glob, WalkFindsEachAlternativeOnceIncludingBracesInDirectories) {
  skidder::testing::TempDir tmp;
  for (const char* d : {"app", "web", "db"}) skidder::testing::MakeDirs(tmp / d);
  skidder::testing::WriteFile(tmp / "app/a.log", "x\n");
  skidder::testing::WriteFile(tmp / "web/w.log", "x\n");
  skidder::testing::WriteFile(tmp / "db/d.log", "x\n");
  skidder::testing::WriteFile(tmp / "syslog", "x\n");
  skidder::testing::WriteFile(tmp / "messages", "x\n");
  std::vector<std::string> dirs;
  EXPECT_EQ(WalkFiles(Glob(tmp / "{app,web}/*.log"), &dirs),
            (std::vector<std::string>{tmp / "app/a.log", tmp / "web/w.log"}));
  EXPECT_EQ(std::count(dirs.begin(), dirs.end(), tmp / "db"), 0);
  EXPECT_EQ(std::count(dirs.begin(), dirs.end(), tmp / "app"), 1);
  EXPECT_EQ(WalkFiles(Glob(tmp / "{syslog,messages,absent}")),
            (std::vector<std::string>{tmp / "messages", tmp / "syslog"}));
  // Overlapping alternatives report a file once.
  EXPECT_EQ(WalkFiles(Glob(tmp / "{app,ap*}/*.log")), std::vector<std::string>{tmp / "app/a.log"});
}

// A directory made since the last walk is walked alone: WalkUnder(d) finds, in every tree and
// pattern here, exactly what a whole walk finds at and below d, each once, and reports the
// directories a whole walk reports there (so each is watched).
TEST(Glob, WalkUnderADirectoryFindsWhatTheWholeWalkFindsThere) {
  skidder::testing::TempDir tmp;
  const std::string t = tmp.path();
  for (const char* d : {"pods/ns_a_1/app", "pods/ns_a_1/side", "pods/ns_b_2/app/deep/er",
                        "pods/x/app", "logs/dag=a/run=1/task=t", "logs/dag=b/run=2"}) {
    skidder::testing::MakeDirs(t + "/" + d);
  }
  for (const char* f : {"pods/ns_a_1/app/0.log", "pods/ns_a_1/side/0.log", "pods/ns_b_2/app/1.log",
                        "pods/ns_b_2/app/deep/2.log", "pods/ns_b_2/app/deep/er/3.log",
                        "pods/x/app/0.log", "logs/dag=a/run=1/task=t/1.log",
                        "logs/dag=a/run=1/x.log", "logs/dag=b/run=2/2.log", "logs/top.log"}) {
    skidder::testing::WriteFile(t + "/" + f, "x\n");
  }
  std::vector<std::string> all_dirs;
  for (const char* d : {"pods", "pods/ns_a_1", "pods/ns_a_1/app", "pods/ns_a_1/side", "pods/ns_b_2",
                        "pods/ns_b_2/app", "pods/ns_b_2/app/deep", "pods/ns_b_2/app/deep/er",
                        "pods/x", "pods/x/app", "logs", "logs/dag=a", "logs/dag=a/run=1",
                        "logs/dag=a/run=1/task=t", "logs/dag=b", "logs/dag=b/run=2"}) {
    all_dirs.push_back(t + "/" + d);
  }
  const auto under = [](const std::string& p, const std::string& d) {
    return p == d || p.starts_with(d + "/");
  };
  for (const char* pattern :
       {"pods/*/*/*.log", "pods/*_*/app/*.log", "pods/*/app/**/*.log", "pods/**", "logs/**/*.log",
        "logs/dag=*/**/task=*/*.log", "{pods/ns_a_1/*,pods/*/app}/*.log", "pods/*/{app,side}/*.log",
        "logs/*/run=1/**"}) {
    const Glob g(t + "/" + pattern);
    std::vector<std::string> walk_dirs;
    const std::vector<std::string> walk = WalkFiles(g, &walk_dirs);
    for (const std::string& d : all_dirs) {
      std::vector<std::string> want, got, got_dirs;
      std::copy_if(walk.begin(), walk.end(), std::back_inserter(want),
                   [&](const std::string& p) { return under(p, d); });
      g.WalkUnder(
          d, [&](const std::string& dir) { got_dirs.push_back(dir); },
          [&](const std::string& p, const WalkedFile&) { got.push_back(p); });
      std::sort(got.begin(), got.end());
      EXPECT_EQ(got, want) << pattern << " under " << d;
      std::set<std::string> want_dirs, seen;
      for (const std::string& w : walk_dirs) {
        if (under(w, d)) want_dirs.insert(w);
      }
      for (const std::string& w : got_dirs) seen.insert(w);
      EXPECT_EQ(seen, want_dirs) << pattern << " under " << d;
    }
  }
}

}  // namespace
}  // namespace skidder::sources

namespace skidder::sources {
namespace {

// A path listed as a regular file can be a FIFO by the time it is opened (renamed into place by
// something hostile or broken). Opening a FIFO to read waits for a writer: every open of a log
// must return at once instead, for the type or inode check after it to turn the FIFO away.
TEST(OpenToRead, AFifoWhereALogWasOpensAtOnceAndIsTurnedAway) {
  skidder::testing::TempDir dir;
  const std::string fifo = dir / "0.log";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  const int dir_fd = ::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dir_fd, 0);
  const std::vector<std::pair<const char*, std::function<int()>>> openers = {
      {"OpenToRead", [&] { return OpenToRead(fifo); }},
      {"OpenToRead O_NOFOLLOW", [&] { return OpenToRead(fifo, O_NOFOLLOW); }},
      {"OpenNoAtime", [&] { return OpenNoAtime(fifo.c_str(), kOpenToReadFlags); }},
      {"OpenAtNoAtime", [&] { return OpenAtNoAtime(dir_fd, "0.log", kOpenToReadFlags); }},
      {"IsRecordedFile",
       [&] {
         return file_util::IsRecordedFile(fifo, FileIdentity{}) ? 1 : -2;  // -2: turned away
       }},
  };
  for (const auto& [name, open] : openers) {
    auto opened = std::async(std::launch::async, open);
    const bool at_once = opened.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
    if (!at_once) {  // let the blocked open go, so that the test ends and reports it
      const int w = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC);
      if (w >= 0) ::close(w);
    }
    EXPECT_TRUE(at_once) << name << " blocked on a FIFO";
    const int fd = opened.get();
    if (std::string_view(name) == "IsRecordedFile") {
      EXPECT_EQ(fd, -2);
      continue;
    }
    ASSERT_GE(fd, 0) << name << ": " << std::strerror(errno);
    struct stat st;
    ASSERT_EQ(::fstat(fd, &st), 0);
    EXPECT_FALSE(S_ISREG(st.st_mode)) << name;  // what every caller checks next
    ::close(fd);
  }
  ::close(dir_fd);
}

// O_NONBLOCK must not make a file under another process's write lease (Samba, an NFS server)
// look gone: its open waits for the lease, as opens did before the flag.
TEST(OpenToRead, AFileUnderAWriteLeaseIsOpenedOnceTheLeaseGoes) {
  skidder::testing::TempDir dir;
  const std::string file = dir / "0.log";
  skidder::testing::WriteFile(file, "x\n");
  const int holder = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(holder, 0);
  struct sigaction ignore = {}, old_action = {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGIO, &ignore, &old_action);  // the lease break's notice; its default kills
  if (::fcntl(holder, F_SETLEASE, F_WRLCK) != 0) {
    const int err = errno;
    ::close(holder);
    ::sigaction(SIGIO, &old_action, nullptr);
    GTEST_SKIP() << "no write lease on this filesystem: " << std::strerror(err);
  }
  for (bool at : {false, true}) {
    auto opened = std::async(std::launch::async, [&] {
      return at ? OpenAtNoAtime(AT_FDCWD, file.c_str(), kOpenToReadFlags) : OpenToRead(file);
    });
    // The open has asked for the lease to be broken: let it go, as its holder would.
    EXPECT_TRUE(skidder::testing::WaitFor([&] { return ::fcntl(holder, F_GETLEASE) != F_WRLCK; }));
    ASSERT_EQ(::fcntl(holder, F_SETLEASE, F_UNLCK), 0);
    const int fd = opened.get();
    EXPECT_GE(fd, 0) << (at ? "OpenAtNoAtime: " : "OpenToRead: ") << std::strerror(errno);
    if (fd >= 0) ::close(fd);
    if (!at) {  // again, for the second opener
      ASSERT_EQ(::fcntl(holder, F_SETLEASE, F_WRLCK), 0);
    }
  }
  ::close(holder);
  ::sigaction(SIGIO, &old_action, nullptr);
}

}  // namespace
}  // namespace skidder::sources
