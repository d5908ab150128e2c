// DockerApi's HTTP client settings: credentials go to http(s):// daemons (as Prometheus sends
// them), never to a unix:// socket; secret files are read when a request is made.
#include "sources/docker/docker_api.h"

#include <gtest/gtest.h>

#include "support/fake_docker_api.h"
#include "support/test_util.h"

namespace skidder::sources::docker {
namespace {

using testing::FakeDockerApi;
using testing::TempDir;

std::string List(const config::DockerSdConfig& cfg) {
  DockerApi api(Endpoint::From(cfg));
  auto body = api.Get("/containers/json", 1 << 20, std::chrono::seconds(10));
  EXPECT_TRUE(body.has_value()) << body.error().message();
  return body.value_or("");
}

TEST(DockerApi, SendsBasicAuthToAnHttpDaemon) {
  TempDir dir;
  FakeDockerApi fake(dir / "unused.sock");
  ASSERT_TRUE(fake.StartTcp());
  config::DockerSdConfig cfg;
  cfg.host = fake.host();
  config::BasicAuth auth;
  auth.username = "u";
  auth.password = "p";
  cfg.basic_auth = auth;
  EXPECT_EQ(List(cfg), "[]");
  EXPECT_EQ(fake.last_authorization(), "Basic dTpw");
}

TEST(DockerApi, ReadsTheBearerTokenFileForEachRequest) {
  TempDir dir;
  FakeDockerApi fake(dir / "unused.sock");
  ASSERT_TRUE(fake.StartTcp());
  testing::WriteFile(dir / "token", "first\n");
  config::DockerSdConfig cfg;
  cfg.host = fake.host();
  cfg.authorization.emplace().credentials_file = dir / "token";
  List(cfg);
  EXPECT_EQ(fake.last_authorization(), "Bearer first");
  testing::WriteFile(dir / "token", "rotated");
  List(cfg);
  EXPECT_EQ(fake.last_authorization(), "Bearer rotated");
}

TEST(DockerApi, NeverSendsCredentialsOnTheUnixSocket) {
  TempDir dir;
  FakeDockerApi fake(dir / "d.sock");
  ASSERT_TRUE(fake.Start());
  config::DockerSdConfig cfg;
  cfg.host = fake.host();
  cfg.authorization.emplace().credentials = "secret";
  EXPECT_EQ(List(cfg), "[]");
  EXPECT_EQ(fake.last_authorization(), "");
}

TEST(DockerApi, NamesTheStatusOfAFailedCall) {
  TempDir dir;
  FakeDockerApi fake(dir / "d.sock");
  ASSERT_TRUE(fake.Start());
  fake.FailNext("/containers/json", 1, 500);
  config::DockerSdConfig cfg;
  cfg.host = fake.host();
  DockerApi api(Endpoint::From(cfg));
  auto body = api.Get("/containers/json", 1 << 20, std::chrono::seconds(10));
  ASSERT_FALSE(body.has_value());
  EXPECT_NE(body.error().message().find("status 500"), std::string::npos) << body.error().message();
  fake.Stop();  // the daemon is gone: a transport error, not a hang
  auto down = api.Get("/containers/json", 1 << 20, std::chrono::seconds(10));
  ASSERT_FALSE(down.has_value());
}

}  // namespace
}  // namespace skidder::sources::docker
