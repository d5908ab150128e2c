// Credentials: the Authorization header from basic auth and token files, re-read on change.
#include "io/credentials.h"

#include <gtest/gtest.h>

#include "support/test_util.h"

namespace skidder::io {
namespace {

TEST(Credentials, BasicAuthHeaderAndBase64) {
  EXPECT_EQ(Base64(""), "");
  EXPECT_EQ(Base64("f"), "Zg==");
  EXPECT_EQ(Base64("fo"), "Zm8=");
  EXPECT_EQ(Base64("foo"), "Zm9v");
  config::ClientConfig cfg;
  cfg.basic_auth = config::BasicAuth{"user", "pass", ""};
  auto c = Credentials::Load(cfg);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->authorization(), "Basic dXNlcjpwYXNz");
}

TEST(Credentials, RereadsTheTokenFileOnReloadAndRefusesCrLf) {
  testing::TempDir dir;
  testing::WriteFile(dir / "token", "first\n");
  config::ClientConfig cfg;
  cfg.bearer_token_file = dir / "token";
  auto c = Credentials::Load(cfg);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->authorization(), "Bearer first");
  testing::WriteFile(dir / "token", "second");
  c->Reload(std::chrono::steady_clock::now());
  EXPECT_EQ(c->authorization(), "Bearer second");
  testing::WriteFile(dir / "token", "evil\r\nX-Injected: 1");
  c->Reload(std::chrono::steady_clock::now());
  EXPECT_EQ(c->authorization(), "Bearer second");  // kept: the new value is unusable
}

TEST(Credentials, AMissingPasswordFileIsAnErrorNamingTheFile) {
  config::ClientConfig cfg;
  cfg.basic_auth = config::BasicAuth{"user", "", "/nonexistent/pw"};
  auto c = Credentials::Load(cfg);
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message().find("/nonexistent/pw"), std::string::npos);
}

}  // namespace
}  // namespace skidder::io
