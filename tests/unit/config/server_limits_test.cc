// The HTTP server's limits in the server block: Promtail's key names, skidder's defaults.
#include <gtest/gtest.h>

#include <chrono>

#include "config/loader.h"

namespace skidder::config {
namespace {

using namespace std::chrono_literals;

TEST(ServerLimits, DefaultsBoundSlowAndIdleClients) {
  Result<Config> cfg = ParseConfig("", "empty.yaml", false);
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_EQ(cfg->server.http_server_read_timeout, 10s);
  EXPECT_EQ(cfg->server.http_server_idle_timeout, 30s);
  EXPECT_EQ(cfg->server.http_listen_conn_limit, 0);  // derived from RLIMIT_NOFILE
}

TEST(ServerLimits, PromtailKeysAreRead) {
  Result<Config> cfg = ParseConfig(
      "server:\n  http_server_read_timeout: 5s\n  http_server_idle_timeout: 2m\n"
      "  http_listen_conn_limit: 64\n",
      "cfg.yaml", false);
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_EQ(cfg->server.http_server_read_timeout, 5s);
  EXPECT_EQ(cfg->server.http_server_idle_timeout, 2min);
  EXPECT_EQ(cfg->server.http_listen_conn_limit, 64);
}

TEST(ServerLimits, RefusesZeroTimeoutsAndNegativeCaps) {
  for (const char* yaml :
       {"server:\n  http_server_read_timeout: 0s\n", "server:\n  http_server_idle_timeout: 0s\n",
        "server:\n  http_listen_conn_limit: -1\n"}) {
    Result<Config> cfg = ParseConfig(yaml, "cfg.yaml", false);
    ASSERT_FALSE(cfg) << yaml;
    EXPECT_NE(cfg.error().message().find("cfg.yaml:2:"), std::string::npos)
        << cfg.error().message();
  }
}

}  // namespace
}  // namespace skidder::config
