// The runtime image `make image` builds, run the way the chart runs it. The OCI archive named by
// SKIDDER_IMAGE is unpacked with umoci; its binary runs in the image's own root filesystem
// (image_run: read-only root, every capability dropped, no_new_privs, the image's user) with
// the chart's volumes (config read-only at /etc/skidder, /var/log, /var/lib/skidder,
// /etc/machine-id, the service account) and the image's own config with a fake Loki's URL: it
// discovers a pod through a fake API server over HTTPS, ships the pod's log and the node's
// journal, answers /ready, and stops on SIGTERM. `make test-image` builds the image and runs
// this; without SKIDDER_IMAGE every test fails rather than passing without an image.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/agent_process.h"
#include "support/fake_kube_api.h"
#include "support/fake_loki.h"
#include "support/journal_writer.h"
#include "support/test_util.h"

namespace skidder::testing {
namespace {

namespace fs = std::filesystem;

// What umoci unpack made of the archive: the root filesystem and the image's process.
struct Unpacked {
  std::unique_ptr<TempDir> dir;
  std::string rootfs;
  std::vector<std::string> args, env;  // entrypoint + cmd; the image's environment
  std::string ref;                     // the name in the archive, e.g. skidder:0.1.0
  std::string user = "0:0", cwd = "/";
  std::string error;  // why unpacking failed ("" when it worked)
};

int Shell(const std::string& cmd) { return std::system((cmd + " >&2").c_str()); }

// What cmd prints on stdout.
std::string Output(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  for (char buf[4096]; size_t n = std::fread(buf, 1, sizeof buf, p);) out.append(buf, n);
  ::pclose(p);
  return out;
}

rapidjson::Document ReadJson(const std::string& path) {
  rapidjson::Document d;
  d.Parse(ReadFile(path).c_str());
  return d;
}

// Fills u; returns why it could not ("" when it could).
std::string Unpack(Unpacked& u) {
  const char* image = std::getenv("SKIDDER_IMAGE");
  if (image == nullptr || !fs::exists(image)) {
    return "SKIDDER_IMAGE must name the archive `make image` built (make test-image does)";
  }
  u.dir = std::make_unique<TempDir>();
  std::string layout = *u.dir / "oci", bundle = *u.dir / "bundle";
  MakeDirs(layout);
  if (Shell(fmt::format("tar -C {} -xf {}", layout, image)) != 0) return "tar failed";
  rapidjson::Document index = ReadJson(layout + "/index.json");
  if (!index.IsObject() || !index.HasMember("manifests")) return "no index.json";
  u.ref = index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"].GetString();
  if (Shell(fmt::format("umoci unpack --image {}:{} {}", layout, u.ref, bundle)) != 0) {
    return "umoci unpack failed";
  }
  rapidjson::Document spec = ReadJson(bundle + "/config.json");
  const auto& process = spec["process"];
  for (const auto& a : process["args"].GetArray()) u.args.push_back(a.GetString());
  for (const auto& e : process["env"].GetArray()) u.env.push_back(e.GetString());
  u.user = fmt::format("{}:{}", process["user"]["uid"].GetUint(), process["user"]["gid"].GetUint());
  u.cwd = process["cwd"].GetString();
  u.rootfs = bundle + "/rootfs";
  return "";
}

const Unpacked& Image() {
  static const Unpacked unpacked = [] {
    Unpacked u;
    u.error = Unpack(u);
    return u;
  }();  // destroyed at exit, which removes the unpacked image
  return unpacked;
}

// "CapEff:\t0000000000000000" and the like from /proc/<pid>/status.
std::string StatusField(pid_t pid, const std::string& name) {
  std::istringstream in(ReadFile(fmt::format("/proc/{}/status", pid)));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + ":", 0) == 0)
      return line.substr(line.find_first_not_of(" \t", name.size() + 1));
  }
  return "";
}

// The mount options of the process's root, from /proc/<pid>/mountinfo (paths as it sees them).
std::string RootMountOptions(pid_t pid) {
  std::istringstream in(ReadFile(fmt::format("/proc/{}/mountinfo", pid)));
  std::string options;
  for (std::string line; std::getline(in, line);) {
    std::istringstream f(line);
    std::string id, parent, dev, root, point, opts;
    f >> id >> parent >> dev >> root >> point >> opts;
    if (point == "/") options = opts;  // the last one mounted there is the one in effect
  }
  return options;
}

class ImageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(Image().error, "") << Image().error;
    for (const char* d : {"config", "log/app", "log/journal", "positions", "out"}) {
      MakeDirs(dir_ / d);
    }
  }

  // image_run with the chart's volumes and environment, then the image's own command.
  // Without mount_config, the image's own /etc/skidder/skidder.yaml is used.
  std::vector<std::string> ChartArgs(const std::vector<std::string>& extra = {},
                                     bool mount_config = true) {
    const Unpacked& img = Image();
    std::vector<std::string> a = {img.rootfs};
    auto add = [&a](std::string flag, std::string value) {
      a.push_back(std::move(flag));
      a.push_back(std::move(value));
    };
    add("--rw", dir_ / "log" + ":/var/log");
    add("--rw", dir_ / "positions" + ":/var/lib/skidder");
    add("--user", user_.empty() ? img.user : user_);
    add("--cwd", img.cwd);
    add("--env", "NODE_NAME=node-1");
    add("--env", "HOSTNAME=node-1");
    if (mount_config) add("--ro", dir_ / "config" + ":/etc/skidder");
    a.insert(a.end(), extra_volumes_.begin(), extra_volumes_.end());
    for (const std::string& e : img.env) add("--env", e);
    for (const std::string& e : extra_env_) add("--env", e);
    a.push_back("--");
    a.insert(a.end(), img.args.begin(), img.args.end());
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  void PrepareNode(const std::string& loki_url);

  TempDir dir_;
  std::vector<std::string> extra_volumes_;  // more image_run --ro/--rw pairs
  std::string user_;                        // "uid:gid" instead of the image's user
  std::vector<std::string> extra_env_;      // NAME=value, after the chart's and the image's
  std::unique_ptr<FakeKubeApi> api_;        // the API server PrepareNode starts
  AgentProcess agent_{IMAGE_RUN_BINARY, dir_ / "out"};
};

TEST_F(ImageTest, HoldsTheAgentAndNoShellCompilerOrPackageManager) {
  const std::string& root = Image().rootfs;
  EXPECT_EQ(::access((root + "/usr/bin/skidder").c_str(), X_OK), 0);
  EXPECT_TRUE(fs::exists(root + "/etc/skidder/skidder.yaml"));
  EXPECT_TRUE(fs::exists(root + "/etc/ssl/certs/ca-certificates.crt"));
  EXPECT_TRUE(fs::exists(root + "/usr/share/zoneinfo/Europe/Berlin"));
  // dpkg never ran, but image scanners read its status file: every package is listed.
  const std::string status = ReadFile(root + "/var/lib/dpkg/status");
  for (const char* pkg : {"libc6", "libcurl4", "libssl3", "libsystemd0", "ca-certificates"}) {
    EXPECT_NE(status.find(fmt::format("Package: {}\nStatus: install ok installed\n", pkg)),
              std::string::npos)
        << pkg;
  }
  uintmax_t bytes = 0;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_directory()) continue;
    std::string name = e.path().filename();
    for (const char* banned : {"sh", "bash", "dash", "busybox", "gcc", "cc", "g++", "ld", "as",
                               "perl", "python3", "apt", "apt-get", "dpkg"}) {
      EXPECT_NE(name, banned) << e.path();
    }
    if (fs::is_regular_file(e.symlink_status())) bytes += e.file_size();
  }
  std::printf("image: %s is %ju bytes; unpacked root filesystem %ju bytes\n",
              std::getenv("SKIDDER_IMAGE"), fs::file_size(std::getenv("SKIDDER_IMAGE")), bytes);
  EXPECT_LT(fs::file_size(std::getenv("SKIDDER_IMAGE")), 40u << 20) << "the image grew";
}

TEST_F(ImageTest, BundledConfigPassesCheckSyntaxInsideTheImage) {
  ASSERT_TRUE(agent_.Start(ChartArgs({"-check-syntax"}, /*mount_config=*/false)));
  EXPECT_EQ(agent_.Wait(), 0) << agent_.Stderr();
}

// Replaces the one `from` in s with `to`; false when there is not exactly one.
bool ReplaceOnce(std::string& s, std::string_view from, std::string_view to) {
  const size_t at = s.find(from);
  if (at == std::string::npos || s.find(from, at + 1) != std::string::npos) return false;
  s.replace(at, from.size(), to);
  return true;
}

constexpr const char* kPodLog = "/var/log/pods/shop_api-1_uid-api-1/api/0.log";

// A node as the chart's pod sees it: the image's own config (config/kubernetes.yaml, which the
// chart renders unchanged) with the user's Loki URL, mounted as the chart's ConfigMap; the
// service account (token, CA) of a fake API server that knows one pod on this node; that pod's
// log under /var/log/pods; the node's journal under /var/log/journal/<machine id>/, found
// through /etc/machine-id as the chart mounts it.
void ImageTest::PrepareNode(const std::string& loki_url) {
  std::string config = ReadFile(Image().rootfs + "/etc/skidder/skidder.yaml");
  ASSERT_TRUE(ReplaceOnce(config, "http://loki-gateway/loki/api/v1/push", loki_url));
  ASSERT_TRUE(ReplaceOnce(config, "http_listen_port: 9080", "http_listen_port: 0"));
  WriteFile(dir_ / "config/skidder.yaml", config);

  MakeDirs(dir_ / "sa");
  WriteFile(dir_ / "sa/token", "image-test-token");
  api_ = std::make_unique<FakeKubeApi>(dir_ / "sa", "image-test-token");
  api_->Add(PodJson("shop", "api-1", "node-1", {"api"}, {{"app.kubernetes.io/name", "api"}}));
  const std::string api_port = api_->url().substr(api_->url().rfind(':') + 1);
  extra_env_ = {"KUBERNETES_SERVICE_HOST=127.0.0.1", "KUBERNETES_SERVICE_PORT=" + api_port};
  std::string lines;
  for (int i = 0; i < 100; ++i) lines += fmt::format("2026-11-24T10:40:12Z stdout F line {}\n", i);
  MakeDirs(fs::path(dir_ / "log" + std::string(kPodLog).substr(8)).parent_path());
  WriteFile(dir_ / "log" + std::string(kPodLog).substr(8), lines);

  const std::string machine_id = "5c1d2a3b4e5f60718293a4b5c6d7e8f9";
  WriteFile(dir_ / "machine-id", machine_id + "\n");
  MakeDirs(dir_ / "log/journal/" + machine_id);
  WriteJournal(dir_ / "log/journal/" + machine_id + "/system.journal",
               {{NowUs(),
                 {{"MESSAGE", "kubelet started"},
                  {"PRIORITY", "6"},
                  {"_SYSTEMD_UNIT", "kubelet.service"},
                  {"_HOSTNAME", "node-1"},
                  {"_MACHINE_ID", machine_id}}}});
  extra_volumes_ = {"--ro", dir_ / "machine-id" + ":/etc/machine-id", "--ro",
                    dir_ / "sa" + ":/var/run/secrets/kubernetes.io/serviceaccount"};
}

TEST_F(ImageTest, ShippedConfigRunAsTheChartDoesShipsPodLogsAndTheJournalAndStopsOnSigterm) {
  FakeLoki loki;
  ASSERT_TRUE(loki.Start());
  PrepareNode(loki.url());
  if (HasFatalFailure()) return;

  ASSERT_TRUE(agent_.Start(ChartArgs()));
  ASSERT_TRUE(loki.WaitForLines(101, std::chrono::seconds(60))) << agent_.Stderr();
  const pid_t pid = agent_.pid();

  // It runs in the image's root, read-only, with no capability and no way to gain one.
  EXPECT_EQ(fs::read_symlink(fmt::format("/proc/{}/root", pid)), fs::path(Image().rootfs));
  EXPECT_TRUE(RootMountOptions(pid).starts_with("ro")) << RootMountOptions(pid);
  for (const char* set : {"CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb"}) {
    EXPECT_EQ(StatusField(pid, set), "0000000000000000") << set;
  }
  EXPECT_EQ(StatusField(pid, "NoNewPrivs"), "1");

  // What the chart's probes ask, and what the agent read, by the paths it sees.
  std::optional<int> port = agent_.MetricsPort();
  ASSERT_TRUE(port.has_value()) << agent_.Stderr();
  httplib::Client probe("127.0.0.1", *port);
  auto ready = probe.Get("/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200) << ready->body;
  int from_file = 0, from_journal = 0;
  for (const ReceivedEntry& e : loki.Entries()) {
    from_file += e.labels == fmt::format(
                                 "{{app=\"api\", container=\"api\", filename=\"{}\", "
                                 "job=\"shop/api\", namespace=\"shop\", node_name=\"node-1\", "
                                 "pod=\"api-1\", stream=\"stdout\"}}",
                                 kPodLog);
    from_journal += e.line == "kubelet started" &&
                    e.labels ==
                        "{job=\"systemd-journal\", level=\"info\", node_name=\"node-1\", "
                        "unit=\"kubelet.service\"}";
  }
  EXPECT_EQ(from_file, 100);
  EXPECT_EQ(from_journal, 1);

  // Lines written later are tailed too (inotify inside the namespace).
  AppendFile(dir_ / "log" + std::string(kPodLog).substr(8),
             "2026-11-24T10:40:13Z stdout F after start\n");
  ASSERT_TRUE(loki.WaitForLines(102, std::chrono::seconds(30)));
  EXPECT_EQ(loki.Lines().back(), "after start");

  EXPECT_EQ(agent_.Terminate(), 0) << agent_.Stderr();
  // Nothing it needs is on the read-only root: no write there was even tried.
  EXPECT_EQ(agent_.Stderr().find("Read-only file system"), std::string::npos) << agent_.Stderr();
  EXPECT_NE(ReadFile(dir_ / "positions/positions.json").find(kPodLog), std::string::npos);
}

TEST_F(ImageTest, RunsAsAUserWithoutAnAccountWhereFilesAllowIt) {
  // docs/airflow.md runs the image as uid 50000 (no entry in the image's /etc/passwd).
  FakeLoki loki;
  ASSERT_TRUE(loki.Start());
  WriteFile(dir_ / "config/skidder.yaml",
            fmt::format("server:\n  http_listen_port: 0\npositions:\n"
                        "  filename: /var/lib/skidder/positions.json\n"
                        "clients:\n  - url: {}\nscrape_configs:\n  - job_name: app\n"
                        "    static_configs:\n"
                        "      - labels: {{job: app, __path__: /var/log/app/*.log}}\n",
                        loki.url()));
  WriteFile(dir_ / "log/app/a.log", "as 50000\n");
  ASSERT_EQ(::chown((dir_ / "positions").c_str(), 50000, 0), 0);
  user_ = "50000:0";
  ASSERT_TRUE(agent_.Start(ChartArgs()));
  ASSERT_TRUE(loki.WaitForLines(1, std::chrono::seconds(60))) << agent_.Stderr();
  const std::string uid = StatusField(agent_.pid(), "Uid");
  EXPECT_TRUE(uid.starts_with("50000\t")) << uid;
  EXPECT_EQ(loki.Lines().at(0), "as 50000");
  EXPECT_EQ(agent_.Terminate(), 0) << agent_.Stderr();
  EXPECT_TRUE(fs::exists(dir_ / "positions/positions.json"));
}

TEST_F(ImageTest, RootFilesystemIsReallyReadOnlyForTheAgent) {
  // The launcher's read-only root is not taken on trust: a program in the image that writes
  // there must fail. The agent itself is that program: positions on the root are refused.
  WriteFile(dir_ / "config/skidder.yaml",
            "server:\n  http_listen_port: 0\npositions:\n  filename: /etc/positions.json\n"
            "clients:\n  - url: http://127.0.0.1:1/loki/api/v1/push\n"
            "scrape_configs:\n  - job_name: app\n    static_configs:\n"
            "      - labels: {job: app, __path__: /var/log/app/*.log}\n");
  WriteFile(dir_ / "log/app/a.log", "x\n");
  ASSERT_TRUE(agent_.Start(ChartArgs()));
  EXPECT_TRUE(
      WaitFor([&] { return agent_.Stderr().find("Read-only file system") != std::string::npos; },
              std::chrono::seconds(60)))
      << agent_.Stderr();
  agent_.Kill();
  EXPECT_FALSE(fs::exists(Image().rootfs + "/etc/positions.json"));
  std::printf("%s", agent_.Stderr().c_str());
}

TEST_F(ImageTest, LoadsWithPodmanUnderItsNameFromBothArchives) {
  if (Shell("command -v podman") != 0) GTEST_SKIP() << "podman is not installed (make image-deps)";
  const std::string image = std::getenv("SKIDDER_IMAGE");
  const std::string docker_archive = image.substr(0, image.size() - 4) + ".docker.tar";
  // A private store: nothing of the machine's own podman is touched.
  const std::string podman = fmt::format("podman --root {} --runroot {} --storage-driver vfs",
                                         dir_ / "store", dir_ / "run");
  const std::string version = Image().ref.substr(Image().ref.find(':') + 1);
  struct Case {
    std::string archive, name;
  };
  for (const Case& c : {Case{image, "localhost/" + Image().ref},
                        Case{docker_archive, "docker.io/library/" + Image().ref}}) {
    SCOPED_TRACE(c.archive);
    ASSERT_EQ(Shell(fmt::format("{} load -q -i {}", podman, c.archive)), 0);
    EXPECT_EQ(Output(fmt::format("{} image inspect --format '{{{{.Config.Entrypoint}}}} "
                                 "{{{{.Config.User}}}}' {}",
                                 podman, c.name)),
              "[/usr/bin/skidder] 0:0\n");
  }
  EXPECT_EQ(version, SKIDDER_VERSION);
}

}  // namespace
}  // namespace skidder::testing
