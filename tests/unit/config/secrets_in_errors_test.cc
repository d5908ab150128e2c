// Credentials are never printed (faults row 37), error messages included: a refused flag, a
// value of the wrong type under a credential key, a URL whose password ends its host part early,
// an Alloy syntax error on a line that sets a password. The position and the key still say where.
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"
#include "support/test_util.h"

namespace skidder::config {
namespace {

// The message of the error loading `text` as `name`, or "loaded".
std::string LoadError(const std::string& name, const std::string& text) {
  testing::TempDir dir;
  testing::WriteFile(dir / name, text);
  Flags flags;
  flags.config_file = dir / name;
  Result<Config> c = LoadConfig(flags);
  return c ? "loaded" : c.error().message();
}

void ExpectNoSecret(const std::string& msg, const std::string& secret) {
  EXPECT_EQ(msg.find(secret), std::string::npos) << msg;
  EXPECT_NE(msg, "loaded");
}

TEST(SecretsInErrors, ARefusedUrlFlagIsShownWithoutItsCredentials) {
  Result<Flags> f = ParseFlags({"-client.url=http://admin:S3cretPW@loki:31x0/loki/api/v1/push"});
  ASSERT_FALSE(f);
  ExpectNoSecret(f.error().message(), "S3cretPW");
  EXPECT_NE(f.error().message().find("-client.url"), std::string::npos) << f.error().message();
  EXPECT_NE(f.error().message().find("@loki:31x0"), std::string::npos) << f.error().message();
}

TEST(SecretsInErrors, AValueOfTheWrongTypeUnderACredentialKeyIsNotQuoted) {
  constexpr const char* kScrape =
      "scrape_configs:\n- job_name: j\n  static_configs: [{labels: {__path__: /tmp/x.log}}]\n";
  std::string msg = LoadError("c.yaml",
                              "clients:\n- url: http://loki:3100/loki/api/v1/push\n"
                              "  authorization: \"Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0\"\n" +
                                  std::string(kScrape));
  ExpectNoSecret(msg, "eyJhbGci");
  EXPECT_NE(msg.find("c.yaml:3:18: clients[0].authorization"), std::string::npos) << msg;
  msg = LoadError("c.yaml",
                  "clients:\n- url: http://loki:3100/loki/api/v1/push\n"
                  "  basic_auth: \"admin:hunter2\"\n" +
                      std::string(kScrape));
  ExpectNoSecret(msg, "hunter2");
  EXPECT_NE(msg.find("clients[0].basic_auth"), std::string::npos) << msg;
  // Other keys still quote what they got: it is how a typo is found.
  msg = LoadError("c.yaml", "server: {http_listen_port: eighty}\n" + std::string(kScrape));
  EXPECT_NE(msg.find("\"eighty\""), std::string::npos) << msg;
}

TEST(SecretsInErrors, AUrlWhosePasswordEndsTheHostEarlyIsRefusedWithoutIt) {
  std::string msg = LoadError(
      "c.yaml",
      "clients:\n- url: \"http://admin:Tr0ub4dor#3xyz@loki:3100/loki/api/v1/push\"\n"
      "scrape_configs:\n- job_name: j\n  static_configs: [{labels: {__path__: /tmp/x.log}}]\n");
  ExpectNoSecret(msg, "Tr0ub4dor");
  EXPECT_NE(msg.find("percent-encoded"), std::string::npos) << msg;
}

TEST(SecretsInErrors, AnAlloySyntaxErrorOnAPasswordLineShowsNoStrings) {
  std::string msg =
      LoadError("c.alloy",
                "loki.write \"d\" {\n  endpoint {\n"
                "    url = \"http://loki:3100/loki/api/v1/push\"\n"
                "    basic_auth { username = \"admin\" password = \"Sup3rS3cret!\" }\n"
                "  }\n}\n");
  ExpectNoSecret(msg, "Sup3rS3cret");
  EXPECT_NE(msg.find("c.alloy:4:"), std::string::npos) << msg;
}

}  // namespace
}  // namespace skidder::config
