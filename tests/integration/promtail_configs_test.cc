// The drop-in claim, checked on configs a Promtail user could have (tests/testdata/
// promtail-configs): the valid ones pass `skidder -check-syntax` unchanged, the ones using a
// source skidder does not have are refused naming it. Also the server block's keys at start.
#include <chrono>
#include <filesystem>

#include "harness.h"

namespace skidder::testing {
namespace {

namespace fs = std::filesystem;

const fs::path kConfigs = fs::path(SKIDDER_SOURCE_DIR) / "tests/testdata/promtail-configs";

std::vector<fs::path> YamlFiles(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".yaml") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class PromtailConfigs : public IntegrationTest {
 protected:
  // The secret files the valid configs name under ${SECRETS}.
  void WriteSecrets() {
    for (const char* name :
         {"loki-username", "loki-password", "loki-token", "client-secret", "kube-token"}) {
      WriteFile(dir_ / "secrets" + "/" + name, std::string("value-of-") + name + "\n");
    }
    agent_.SetEnv("SECRETS", (dir_ / "secrets"));
  }
  int CheckSyntax(const fs::path& config) {
    EXPECT_TRUE(agent_.Start(
        {"-check-syntax", "-config.expand-env=true", "-config.file=" + config.string()}));
    return agent_.Wait();
  }
};

TEST_F(PromtailConfigs, EveryRealWorldConfigPassesCheckSyntaxUnchanged) {
  MakeDirs(dir_ / "secrets");
  WriteSecrets();
  std::vector<fs::path> files = YamlFiles(kConfigs / "valid");
  ASSERT_GE(files.size(), 8u);
  for (const fs::path& f : files) {
    EXPECT_EQ(CheckSyntax(f), 0) << f << ":\n" << agent_.Stderr();
  }
}

TEST_F(PromtailConfigs, SourcesSkidderDoesNotHaveAreRefusedByName) {
  std::vector<fs::path> files = YamlFiles(kConfigs / "refused");
  ASSERT_GE(files.size(), 17u);
  for (const fs::path& f : files) {
    std::string text = ReadFile(f);
    ASSERT_TRUE(text.starts_with("# expect: ")) << f;
    std::string expect = text.substr(10, text.find('\n') - 10);
    EXPECT_EQ(CheckSyntax(f), 1) << f;
    // file:line:column, then the key and what to use instead.
    EXPECT_NE(agent_.Stderr().find(f.string() + ":"), std::string::npos) << agent_.Stderr();
    EXPECT_NE(agent_.Stderr().find(expect), std::string::npos) << f << ":\n" << agent_.Stderr();
  }
}

TEST_F(PromtailConfigs, StaticConfigWithoutPathIsDroppedWithOneWarning) {
  ASSERT_EQ(CheckSyntax(kConfigs / "valid/static-without-path.yaml"), 0) << agent_.Stderr();
  const std::string err = agent_.Stderr();
  EXPECT_NE(err.find("static_configs[0]: has no __path__ label"), std::string::npos) << err;
  EXPECT_NE(err.find("scrape_configs[1].static_configs[0]"), std::string::npos) << err;
  EXPECT_EQ(err.find("scrape_configs[0].static_configs[1]"), std::string::npos) << err;
}

TEST_F(PromtailConfigs, ServerKeysThatCannotApplyAreNamedInOneInfoLine) {
  std::string path = WriteConfig({.extra_server = "  register_instrumentation: true\n"
                                                  "  profiling_enabled: true\n"
                                                  "  grpc_listen_port: 9095\n"});
  WriteFile(logs() + "/a.log", "hello\n");
  StartAgent(path);
  ASSERT_TRUE(loki_.WaitForLines(1));
  const std::string err = agent_.Stderr();
  size_t at = err.find("do not apply to skidder");
  ASSERT_NE(at, std::string::npos) << err;
  std::string line = err.substr(at, err.find('\n', at) - at);
  for (const char* key :
       {"server.register_instrumentation", "server.profiling_enabled", "server.grpc_listen_port"}) {
    EXPECT_NE(line.find(key), std::string::npos) << line;
  }
  EXPECT_EQ(err.find("do not apply to skidder", at + 1), std::string::npos);
}

TEST_F(PromtailConfigs, GracefulShutdownTimeoutBoundsTheFlushAtExit) {
  // Loki is down for longer than the test: without the setting, exit would wait 10 s.
  loki_.SetFailFor(std::chrono::minutes(5), 503);
  StartAgent(WriteConfig({.extra_server = "  graceful_shutdown_timeout: 300ms\n"}));
  WriteFile(logs() + "/a.log", "stuck\n");
  ASSERT_TRUE(WaitFor([&] { return loki_.RequestCount() >= 2; }));
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(agent_.Terminate(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(8));
}

}  // namespace
}  // namespace skidder::testing
