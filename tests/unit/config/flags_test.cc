// ParseFlags: Promtail's command lines keep working unchanged.
#include <gtest/gtest.h>

#include "config/loader.h"

namespace skidder::config {
namespace {

using Args = std::vector<std::string>;

TEST(ParseFlags, AcceptsGoFlagSpellings) {
  struct Case {
    Args args;
    std::string config_file;
    bool expand_env, dry_run;
  };
  const Case cases[] = {
      {{"-config.file=/etc/p.yaml"}, "/etc/p.yaml", false, false},
      {{"-config.file", "/etc/p.yaml"}, "/etc/p.yaml", false, false},
      {{"--config.file=/etc/p.yaml"}, "/etc/p.yaml", false, false},
      {{"--config.file", "/etc/p.yaml", "--dry-run"}, "/etc/p.yaml", false, true},
      {{"-config.expand-env"}, "", true, false},
      {{"-config.expand-env=true", "-dry-run=1"}, "", true, true},
      {{"-config.expand-env=false"}, "", false, false},
      {{"-dry-run", "-dry-run=f"}, "", false, false},  // last one wins, as in Go
      {{"-config.file=a=b.yaml"}, "a=b.yaml", false, false},
      {{}, "", false, false},
  };
  for (const Case& c : cases) {
    Result<Flags> f = ParseFlags(c.args);
    ASSERT_TRUE(f) << ::testing::PrintToString(c.args) << ": " << f.error().message();
    EXPECT_EQ(f->config_file, c.config_file) << ::testing::PrintToString(c.args);
    EXPECT_EQ(f->expand_env, c.expand_env) << ::testing::PrintToString(c.args);
    EXPECT_EQ(f->dry_run, c.dry_run) << ::testing::PrintToString(c.args);
  }
}

TEST(ParseFlags, ReadsEveryPromtailFlag) {
  Result<Flags> f = ParseFlags({"-config.file=c.yaml", "-inspect", "-check-syntax",
                                "-print-config-stderr", "-log.level=debug", "-log.format", "json",
                                "-version", "-client.url=http://l:3100/push",
                                "-client.tenant-id=t1", "-client.external-labels=a=1,b=2",
                                "-positions.file=/p.json", "-server.http-listen-port=0"});
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_TRUE(f->inspect);
  EXPECT_TRUE(f->check_syntax);
  EXPECT_TRUE(f->print_config_stderr);
  EXPECT_TRUE(f->version);
  EXPECT_EQ(f->log_level, "debug");
  EXPECT_EQ(f->log_format, "json");
  EXPECT_EQ(f->client_url, "http://l:3100/push");
  EXPECT_EQ(f->client_tenant_id, "t1");
  EXPECT_EQ(f->client_external_labels, "a=1,b=2");
  EXPECT_EQ(f->positions_file, "/p.json");
  EXPECT_EQ(f->http_listen_port, 0);
}

// dskit's server flags of Promtail's command line (Promtail's -help lists them).
TEST(ParseFlags, ReadsTheServerTlsAndAddressFlags) {
  Result<Flags> f = ParseFlags(
      {"-server.http-listen-address=127.0.0.1", "-server.http-tls-cert-path=/tls/tls.crt",
       "-server.http-tls-key-path=/tls/tls.key",
       "-server.http-tls-client-auth=RequireAndVerifyClientCert",
       "-server.http-tls-ca-path=/tls/ca.crt", "-server.tls-min-version=VersionTLS13",
       "-server.tls-cipher-suites=TLS_AES_128_GCM_SHA256"});
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(f->http_listen_address, "127.0.0.1");
  EXPECT_EQ(f->http_tls_cert_path, "/tls/tls.crt");
  EXPECT_EQ(f->http_tls_key_path, "/tls/tls.key");
  EXPECT_EQ(f->http_tls_client_auth, "RequireAndVerifyClientCert");
  EXPECT_EQ(f->http_tls_ca_path, "/tls/ca.crt");
  EXPECT_EQ(f->tls_min_version, "VersionTLS13");
  EXPECT_TRUE(f->tls_cipher_suites);
}

TEST(ParseFlags, RefusesBadHoldingAndSymlinkRootValues) {
  for (const char* arg : {"-positions.held-max-bytes=lots",
                          "-positions.held-max-bytes=", "-target-config.symlink-roots=var/log",
                          "-target-config.symlink-roots=/var/log,,/x"}) {
    Result<Flags> f = ParseFlags({arg});
    ASSERT_FALSE(f) << arg;
    EXPECT_NE(f.error().message().find("invalid value"), std::string::npos) << arg;
  }
}

TEST(ParseFlags, HelpInAnySpelling) {
  for (const char* arg : {"-h", "-help", "--help", "--h"}) {
    Result<Flags> f = ParseFlags({arg});
    ASSERT_TRUE(f) << arg;
    EXPECT_TRUE(f->help) << arg;
  }
}

TEST(ParseFlags, RefusesMistakesNamingTheFlag) {
  struct Case {
    Args args;
    std::string want;
  };
  const Case cases[] = {
      {{"-config.fle=x"}, "unknown flag -config.fle (see -help)"},
      {{"-config.file"}, "flag -config.file needs a value"},
      {{"-dry-run=maybe"}, "invalid value \"maybe\" for flag -dry-run: expected true or false"},
      {{"-server.http-listen-port=http"},
       "invalid value \"http\" for flag -server.http-listen-port: expected an integer"},
      {{"-server.http-listen-port=70000"},
       "invalid value \"70000\" for flag -server.http-listen-port: must be between 0 and 65535"},
      {{"-server.http-tls-client-auth=Mutual"},
       "invalid value \"Mutual\" for flag -server.http-tls-client-auth: must be NoClientCert, "
       "RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or "
       "RequireAndVerifyClientCert, not \"Mutual\""},
      {{"-server.http-tls-cert-path="},
       "invalid value \"\" for flag -server.http-tls-cert-path: must not be empty (omit the flag "
       "to keep the config file's setting)"},
      {{"-server.tls-min-version=TLS1.2"},
       "invalid value \"TLS1.2\" for flag -server.tls-min-version: must be VersionTLS10, "
       "VersionTLS11, VersionTLS12 or VersionTLS13, not \"TLS1.2\""},
      {{"-log.level=trace"},
       "invalid value \"trace\" for flag -log.level: must be debug, info, warn or error"},
      {{"-client.url=loki:3100"},
       "invalid value \"loki:3100\" for flag -client.url: must start with http:// or https://"},
      {{"-client.external-labels=a"},
       "invalid value \"a\" for flag -client.external-labels: \"a\" is not name=value"},
      {{"config.yaml"},
       "unexpected argument \"config.yaml\": skidder takes only flags (did you mean "
       "-config.file=config.yaml?)"},
      {{"-dry-run", "false"},  // Go: a bool flag never takes the next argument
       "unexpected argument \"false\": skidder takes only flags (did you mean "
       "-config.file=false?)"},
  };
  for (const Case& c : cases) {
    Result<Flags> f = ParseFlags(c.args);
    ASSERT_FALSE(f) << ::testing::PrintToString(c.args);
    EXPECT_EQ(f.error().message(), c.want);
  }
}

TEST(FlagsUsage, ListsEveryFlagWithHelp) {
  std::string usage = FlagsUsage();
  for (const char* flag : {"-config.file string",
                           "-config.expand-env\n",
                           "-dry-run\n",
                           "-inspect\n",
                           "-check-syntax\n",
                           "-print-config-stderr\n",
                           "-log.level string",
                           "-log.format string",
                           "-version\n",
                           "-help\n",
                           "-client.url string",
                           "-client.tenant-id string",
                           "-client.external-labels string",
                           "-positions.file string",
                           "-server.http-listen-port int",
                           "-server.http-listen-address string",
                           "-server.http-tls-cert-path string",
                           "-server.http-tls-key-path string",
                           "-server.http-tls-client-auth string",
                           "-server.http-tls-ca-path string",
                           "-server.tls-min-version string",
                           "-server.tls-cipher-suites string"}) {
    EXPECT_NE(usage.find(std::string("  ") + flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace skidder::config
