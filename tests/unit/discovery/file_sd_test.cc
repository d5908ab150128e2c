// file_sd_configs: target files in JSON and YAML become label sets; a discovery re-reads them on
// change (inotify) and on refresh_interval, and a broken file keeps its previous targets.
#include "discovery/file_sd.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <mutex>

#include "config/target_groups.h"
#include "support/test_util.h"

namespace skidder::discovery {
namespace {

using namespace std::chrono_literals;
using config::ParseTargetGroups;
using testing::TempDir;
using testing::WaitFor;
using testing::WriteFile;

TEST(TargetGroups, JsonGroupsGiveOneLabelSetPerTargetWithAddressAndFilepath) {
  auto got = ParseTargetGroups(
      R"([{"targets": ["localhost", "h2:9"], "labels": {"job": "a", "__path__": "/x/*.log"}},
          {"targets": [], "labels": {"job": "empty"}}])",
      "/sd/t.json");
  ASSERT_TRUE(got.has_value()) << got.error().message();
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ(
      (*got)[0].ToString(),
      R"({__address__="localhost", __meta_filepath="/sd/t.json", __path__="/x/*.log", job="a"})");
  EXPECT_EQ(*(*got)[1].Get("__address__"), "h2:9");
}

TEST(TargetGroups, YamlGroupsAndAnEmptyFileAreRead) {
  auto got = ParseTargetGroups("- targets: [localhost]\n  labels:\n    job: y\n", "/sd/t.yaml");
  ASSERT_TRUE(got.has_value()) << got.error().message();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ(*(*got)[0].Get("job"), "y");
  auto empty = ParseTargetGroups("", "/sd/e.yaml");
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->empty());
}

TEST(TargetGroups, ErrorsNameFileLineAndColumn) {
  auto syntax = ParseTargetGroups("- targets: [a\n", "/sd/bad.yaml");
  ASSERT_FALSE(syntax.has_value());
  EXPECT_TRUE(syntax.error().message().starts_with("/sd/bad.yaml:2:1: "))
      << syntax.error().message();

  auto key = ParseTargetGroups("- targets: [a]\n  lables: {job: x}\n", "/sd/k.yaml");
  ASSERT_FALSE(key.has_value());
  EXPECT_NE(key.error().message().find("/sd/k.yaml:2:3: "), std::string::npos)
      << key.error().message();
  EXPECT_NE(key.error().message().find("unknown key \"lables\""), std::string::npos);

  auto name = ParseTargetGroups(R"([{"targets": ["a"], "labels": {"bad-name": "x"}}])", "/t.json");
  ASSERT_FALSE(name.has_value());
  EXPECT_NE(name.error().message().find("invalid label name \"bad-name\""), std::string::npos);

  auto shape = ParseTargetGroups(R"({"targets": ["a"]})", "/t.json");
  ASSERT_FALSE(shape.has_value());
  EXPECT_NE(shape.error().message().find("expected a list of target groups"), std::string::npos);
}

// Collects what a discovery publishes.
class Sink {
 public:
  FileDiscovery::Callback callback() {
    return [this](std::vector<Labels> t) {
      std::lock_guard lock(mu_);
      last_ = std::move(t);
      ++calls_;
    };
  }
  // The "job" label of each target, joined by ','.
  std::string Jobs() {
    std::lock_guard lock(mu_);
    std::string out;
    for (const Labels& l : last_) {
      const std::string* j = l.Get("job");
      out += (out.empty() ? "" : ",") + (j ? *j : std::string("?"));
    }
    return out;
  }
  int calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  std::mutex mu_;
  std::vector<Labels> last_;
  int calls_ = 0;
};

// Replaces path's content in one step (write aside, rename over), as config management tools do:
// a reader never sees it half written.
void Replace(const std::string& path, std::string_view content) {
  WriteFile(path + ".tmp", content);
  ASSERT_EQ(std::rename((path + ".tmp").c_str(), path.c_str()), 0);
}

std::string Group(const std::string& job) {
  return R"([{"targets": ["localhost"], "labels": {"job": ")" + job + R"("}}])";
}

TEST(FileDiscovery, GlobMatchesJsonAndYamlFilesAtStart) {
  TempDir dir;
  WriteFile(dir / "a.json", Group("a"));
  WriteFile(dir / "b.json", Group("b"));
  WriteFile(dir / "c.yaml", "- targets: [x]\n  labels: {job: c}\n");
  WriteFile(dir / "d.txt", Group("d"));
  Sink sink;
  FileDiscovery d({{dir / "*.json", dir / "*.yaml"}, 5min}, sink.callback());
  ASSERT_TRUE(d.Start().ok());
  EXPECT_EQ(sink.calls(), 1);  // published before Start() returns, even if empty
  EXPECT_EQ(sink.Jobs(), "a,b,c");
  d.Stop();
}

TEST(FileDiscovery, RewrittenCreatedAndDeletedFilesAreSeenWithoutWaitingForRefresh) {
  TempDir dir;
  WriteFile(dir / "a.json", Group("a"));
  Sink sink;
  FileDiscovery d({{dir / "*.json"}, 1h}, sink.callback());
  ASSERT_TRUE(d.Start().ok());
  ASSERT_EQ(sink.Jobs(), "a");
  WriteFile(dir / "a.json", Group("a2"));
  EXPECT_TRUE(WaitFor([&] { return sink.Jobs() == "a2"; })) << sink.Jobs();
  WriteFile(dir / "b.json.tmp", Group("b"));
  ASSERT_EQ(std::rename((dir / "b.json.tmp").c_str(), (dir / "b.json").c_str()), 0);
  EXPECT_TRUE(WaitFor([&] { return sink.Jobs() == "a2,b"; })) << sink.Jobs();
  ASSERT_EQ(std::remove((dir / "a.json").c_str()), 0);
  EXPECT_TRUE(WaitFor([&] { return sink.Jobs() == "b"; })) << sink.Jobs();
  d.Stop();
}

TEST(FileDiscovery, BrokenFileKeepsItsPreviousTargetsUntilFixed) {
  TempDir dir;
  WriteFile(dir / "a.yaml", "- targets: [x]\n  labels: {job: a}\n");
  WriteFile(dir / "b.yaml", "- targets: [x]\n  labels: {job: b}\n");
  Sink sink;
  FileDiscovery d({{dir / "*.yaml"}, 1h}, sink.callback());
  ASSERT_TRUE(d.Start().ok());
  ASSERT_EQ(sink.Jobs(), "a,b");
  Replace(dir / "a.yaml", "- targets: [x\n");                        // broken: a's targets stay
  Replace(dir / "b.yaml", "- targets: [x]\n  labels: {job: b2}\n");  // b's change is seen
  EXPECT_TRUE(WaitFor([&] { return sink.Jobs() == "a,b2"; })) << sink.Jobs();
  Replace(dir / "a.yaml", "- targets: [x]\n  labels: {job: a3}\n");
  EXPECT_TRUE(WaitFor([&] { return sink.Jobs() == "a3,b2"; })) << sink.Jobs();
  d.Stop();
}

TEST(FileDiscovery, DirectoryCreatedLaterIsFoundByRefreshInterval) {
  TempDir dir;
  Sink sink;
  FileDiscovery d({{dir / "later/*.json"}, 100ms}, sink.callback());
  ASSERT_TRUE(d.Start().ok());
  EXPECT_EQ(sink.Jobs(), "");
  testing::MakeDirs(dir / "later");
  WriteFile(dir / "later/a.json", Group("a"));
  EXPECT_TRUE(WaitFor([&] { return sink.Jobs() == "a"; })) << sink.Jobs();
  // Now watched: a change is seen at once, but the refresh would see it too; either is right.
  WriteFile(dir / "later/a.json", Group("b"));
  EXPECT_TRUE(WaitFor([&] { return sink.Jobs() == "b"; })) << sink.Jobs();
  d.Stop();
}

TEST(FileDiscovery, UnchangedFilesPublishNothingNew) {
  TempDir dir;
  WriteFile(dir / "a.json", Group("a"));
  Sink sink;
  FileDiscovery d({{dir / "*.json"}, 1h}, sink.callback());
  ASSERT_TRUE(d.Start().ok());
  d.Stop();
  d.Refresh();  // same content
  EXPECT_EQ(sink.calls(), 1);
}

}  // namespace
}  // namespace skidder::discovery
