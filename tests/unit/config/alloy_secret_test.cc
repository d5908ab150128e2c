// remote.kubernetes.secret as Grafana's k8s-monitoring chart writes it: loki.write credentials
// and tenant from a Secret's data, read once per load through the hook the agent gives (here a
// fake), its errors named at the component.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "alloy_file.h"
#include "config/loader.h"
#include "support/test_util.h"

namespace skidder::config {
namespace {

constexpr const char* kConfig = R"(loki.source.file "f" {
  targets    = [{"__path__" = "/var/log/*.log"}]
  forward_to = [loki.write.loki.receiver]
}
loki.write "loki" {
  endpoint {
    url       = "http://loki:3100/loki/api/v1/push"
    tenant_id = convert.nonsensitive(remote.kubernetes.secret.loki.data["tenantId"])
    basic_auth {
      username = convert.nonsensitive(remote.kubernetes.secret.loki.data["username"])
      password = remote.kubernetes.secret.loki.data["password"]
    }
  }
}
remote.kubernetes.secret "loki" {
  name      = "loki-k8smon-k8s-monitoring"
  namespace = "default"
} // remote.kubernetes.secret "loki"
)";

// An AlloyFile whose Secrets come from `answer`; `asked` records each read.
struct SecretLoad {
  AlloyFile file;
  std::vector<SecretRef> asked;
  Result<std::map<std::string, std::string>> answer = std::map<std::string, std::string>{
      {"tenantId", "dGVhbS1h"},
      {"username", "MTIzNDU="},
      {"password", "Z2xjX3Rva2Vu"},
      {"host", "aHR0cHM6Ly9sb2tpLmV4YW1wbGU="}};  // https://loki.example

  Result<Config> Load(const std::string& text, bool offline = false) {
    file.hooks = {.read_secret =
                      [this](const SecretRef& r) {
                        asked.push_back(r);
                        return answer;
                      },
                  .offline = offline};
    return file.Load(text);
  }
  // The error (from "c.alloy" on) of kConfig with `from` replaced by `to`, or "loaded".
  std::string ErrorWith(const std::string& from, const std::string& to) {
    std::string text = kConfig;
    text.replace(text.find(from), from.size(), to);
    Result<Config> c = Load(text);
    if (c) return "loaded";
    const std::string& msg = c.error().message();
    return msg.substr(msg.find("c.alloy"));
  }
};

TEST(AlloySecret, LokiWriteCredentialsComeFromTheSecretsData) {
  SecretLoad s;
  Result<Config> c = s.Load(kConfig);
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->clients.size(), 1u);
  EXPECT_EQ(c->clients[0].tenant_id, "team-a");
  ASSERT_TRUE(c->clients[0].basic_auth);
  EXPECT_EQ(c->clients[0].basic_auth->username, "12345");
  EXPECT_EQ(c->clients[0].basic_auth->password, "glc_token");
  ASSERT_EQ(s.asked.size(), 1u) << "read once, though three attributes read it";
  EXPECT_EQ(s.asked[0].namespace_name, "default");
  EXPECT_EQ(s.asked[0].name, "loki-k8smon-k8s-monitoring");
  EXPECT_EQ(s.asked[0].timeout, std::chrono::seconds(15));
  EXPECT_EQ(s.asked[0].poll_frequency, std::chrono::minutes(1));  // Alloy's default
  EXPECT_TRUE(s.asked[0].client.api_server.empty()) << "in-cluster unless a client block says";
}

// What the running agent polls at (app/secret_poller.h): as asked, but never more often than
// once a second (every agent of a DaemonSet asks the API server), and at least daily.
TEST(AlloySecret, PollFrequencyIsKeptBetweenOneSecondAndADay) {
  for (const auto& [given, want] :
       {std::pair{"\"30s\"", std::chrono::milliseconds(30'000)},
        std::pair{"\"10ms\"", std::chrono::milliseconds(1'000)},
        std::pair{"\"2562047h\"", std::chrono::milliseconds(std::chrono::hours(24))}}) {
    SecretLoad s;
    std::string text = kConfig;
    text.replace(text.find("} // remote"), 1, fmt::format("  poll_frequency = {}\n}}", given));
    Result<Config> c = s.Load(text);
    ASSERT_TRUE(c) << c.error().message();
    ASSERT_EQ(s.asked.size(), 1u);
    EXPECT_EQ(s.asked[0].poll_frequency, want) << given;
  }
}

TEST(AlloySecret, TheClientBlockIsDiscoverysClientSettings) {
  SecretLoad s;
  std::string text = kConfig;
  text.replace(text.find("} // remote"), 1, R"(  poll_timeout = "3s"
  client {
    api_server        = "https://10.0.0.1:6443"
    bearer_token_file = "/var/run/token"
    tls_config {
      ca_file = "/etc/ca.crt"
    }
  }
})");
  Result<Config> c = s.Load(text);
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(s.asked.size(), 1u);
  EXPECT_EQ(s.asked[0].client.api_server, "https://10.0.0.1:6443");
  EXPECT_EQ(s.asked[0].client.bearer_token_file, "/var/run/token");
  EXPECT_EQ(s.asked[0].client.tls_config.ca_file, "/etc/ca.crt");
  EXPECT_EQ(s.asked[0].timeout, std::chrono::seconds(3));
}

TEST(AlloySecret, ASecretThatCannotBeReadFailsTheLoadAtTheComponent) {
  SecretLoad s;
  s.answer = Err(FailedPrecondition("cannot read secret default/x: forbidden"));
  Result<Config> c = s.Load(kConfig);
  ASSERT_FALSE(c);
  const std::string msg = c.error().message();
  EXPECT_EQ(msg.substr(msg.find("c.alloy")),
            "c.alloy:15:1: remote.kubernetes.secret.loki: cannot read secret default/x: forbidden");
}

TEST(AlloySecret, DataThatIsNotBase64IsRefused) {
  SecretLoad s;
  s.answer = std::map<std::string, std::string>{{"password", "not base64!"}};
  Result<Config> c = s.Load(kConfig);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("the value of password is not base64"), std::string::npos);
}

// As Alloy evaluates every component, a Secret nothing reads is read too.
TEST(AlloySecret, ASecretNothingReadsIsReadToo) {
  SecretLoad s;
  s.answer = Err(FailedPrecondition("forbidden"));
  const std::string head(kConfig);
  const std::string unused = head.substr(0, head.find("loki.write \"loki\"")) +
                             R"(loki.write "loki" {
  endpoint { url = "http://loki:3100/loki/api/v1/push" }
}
remote.kubernetes.secret "unused" {
  name      = "x"
  namespace = "default"
}
)";
  EXPECT_FALSE(s.Load(unused));
  EXPECT_EQ(s.asked.size(), 1u);
}

// What would make a bad request is refused where written: names that are not Kubernetes names
// ("." or ".." would name another resource in the request path), timeouts that are not positive
// (no timeout at all), two client blocks, a Secret whose name reads itself.
TEST(AlloySecret, BadArgumentsAreRefusedWhereWritten) {
  SecretLoad s;
  auto error = [&](const std::string& from, const std::string& to) {
    return s.ErrorWith(from, to);
  };
  EXPECT_EQ(error("namespace = \"default\"\n", ""),
            "c.alloy:15:1: remote.kubernetes.secret: namespace is required");
  EXPECT_EQ(error("\"loki-k8smon-k8s-monitoring\"", "\"..\""),
            "c.alloy:16:3: name: expected a Kubernetes Secret name (lower-case letters, digits, "
            "'-' and '.')");
  EXPECT_EQ(error("\"loki-k8smon-k8s-monitoring\"", "\"a.b\""), "loaded") << "a subdomain";
  EXPECT_EQ(error("\"default\"", "\"Default\""),
            "c.alloy:17:3: namespace: expected a Kubernetes namespace name (lower-case letters, "
            "digits and '-')");
  EXPECT_EQ(
      error("namespace = \"default\"\n", "namespace = \"default\"\n  poll_timeout = \"0s\"\n"),
      "c.alloy:18:3: poll_timeout: must be greater than 0");
  EXPECT_EQ(
      error("namespace = \"default\"\n", "namespace = \"default\"\n  client { }\n  client { }\n"),
      "c.alloy:19:3: the client block is given twice");
  EXPECT_EQ(error("\"loki-k8smon-k8s-monitoring\"", "remote.kubernetes.secret.loki.data[\"n\"]"),
            "c.alloy:16:15: reference cycle through remote.kubernetes.secret.loki");
  ASSERT_EQ(s.asked.size(), 1u) << "only the valid one was read";
  EXPECT_EQ(s.asked[0].name, "a.b");
}

// As in Alloy, a Secret's value goes only where a secret may (password, bearer_token,
// ...), which skidder masks when it prints the config; elsewhere, also through an operator or a
// function, it is refused unless convert.nonsensitive says it is not secret.
TEST(AlloySecret, ASecretValueGoesOnlyWhereASecretMay) {
  SecretLoad s;
  auto error = [&](const std::string& from, const std::string& to) {
    return s.ErrorWith(from, to);
  };
  const std::string tenant =
      "tenant_id = convert.nonsensitive(remote.kubernetes.secret.loki.data[\"tenantId\"])";
  EXPECT_EQ(error(tenant, "tenant_id = remote.kubernetes.secret.loki.data[\"tenantId\"]"),
            "c.alloy:8:5: tenant_id: a secret value cannot be used here, where it "
            "would be printed: wrap it in convert.nonsensitive() if it is not secret");
  EXPECT_EQ(error(tenant, "tenant_id = \"t-\" + remote.kubernetes.secret.loki.data[\"tenantId\"]")
                .substr(0, 24),
            "c.alloy:8:5: tenant_id: ");
  EXPECT_EQ(error(tenant,
                  "tenant_id = string.format(\"%s\", "
                  "remote.kubernetes.secret.loki.data[\"tenantId\"])")
                .substr(0, 24),
            "c.alloy:8:5: tenant_id: ");
  // Also taken apart (a member of what a function made from it), and in headers, which Alloy
  // types as plain strings (skidder prints a header unless its name is a credential's).
  EXPECT_EQ(error(tenant,
                  "tenant_id = string.split(remote.kubernetes.secret.loki.data["
                  "\"tenantId\"], \"-\")[0]")
                .substr(0, 24),
            "c.alloy:8:5: tenant_id: ");
  EXPECT_EQ(error(tenant,
                  "headers = {\"X-Scope-OrgID\" = "
                  "remote.kubernetes.secret.loki.data[\"tenantId\"]}")
                .substr(0, 22),
            "c.alloy:8:5: headers: ");
  // coalesce picks one of its arguments: past an absent key, a plain fallback stays plain.
  EXPECT_EQ(error(tenant,
                  "tenant_id = coalesce(remote.kubernetes.secret.loki.data[\"none\"], "
                  "\"fallback\")"),
            "loaded");
  Result<Config> c = s.Load(kConfig);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(DumpConfig(*c).find("glc_token"), std::string::npos) << "the password is masked";
}

// -check-syntax does not reach the cluster: the data is empty and a warning says so.
// local.file goes through the same hook, so that the agent polls it as a Secret: the hook is
// asked once per load for the file (however many attributes read it), with its poll_frequency
// (Alloy's default of 1m otherwise); its content is the text as it is. -check-syntax reads the
// file itself; a bad detector is refused where written.
TEST(AlloySecret, ALocalFileIsReadThroughTheHookOncePerLoad) {
  SecretLoad s;
  s.answer = std::map<std::string, std::string>{{"content", "tok\n"}};
  const std::string text = R"(local.file "token" {
  filename       = "/var/run/secrets/token"
  poll_frequency = "30s"
  detector       = "poll"
}
loki.source.file "f" {
  targets    = [{"__path__" = "/var/log/*.log"}]
  forward_to = [loki.write.loki.receiver]
}
loki.write "loki" {
  endpoint {
    url          = "http://loki:3100/loki/api/v1/push"
    bearer_token = string.trim_space(local.file.token.content)
    headers      = {"X-Token" = string.trim_space(local.file.token.content)}
  }
}
)";
  Result<Config> c = s.Load(text);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->clients.at(0).bearer_token, "tok");
  ASSERT_EQ(s.asked.size(), 1u);
  EXPECT_EQ(s.asked[0].file, "/var/run/secrets/token");
  EXPECT_EQ(s.asked[0].poll_frequency, std::chrono::seconds(30));

  s.asked.clear();
  std::string unset = text;
  unset.replace(unset.find("  poll_frequency = \"30s\"\n"), 25, "");
  ASSERT_TRUE(s.Load(unset));
  ASSERT_EQ(s.asked.size(), 1u);
  EXPECT_EQ(s.asked[0].poll_frequency, std::chrono::minutes(1));

  s.asked.clear();
  std::string bad = text;
  bad.replace(bad.find("\"poll\""), 6, "\"inotify\"");
  Result<Config> refused = s.Load(bad);
  ASSERT_FALSE(refused);
  EXPECT_NE(
      refused.error().message().find("c.alloy:4:3: detector: expected \"fsnotify\" or \"poll\""),
      std::string::npos)
      << refused.error().message();

  s.asked.clear();
  s.answer = Err(NotFound("cannot read /var/run/secrets/token: No such file or directory"));
  Result<Config> missing = s.Load(text);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("c.alloy:2:3: local.file token: cannot read"),
            std::string::npos)
      << missing.error().message();
  // -check-syntax reads it itself (here: not there), not through the hook.
  s.asked.clear();
  EXPECT_FALSE(s.Load(text, /*offline=*/true));
  EXPECT_TRUE(s.asked.empty());
}

TEST(AlloySecret, CheckSyntaxDoesNotReadTheSecret) {
  SecretLoad s;
  Result<Config> c = s.Load(kConfig, /*offline=*/true);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_TRUE(s.asked.empty());
  // Offline, a key still reads as a secret: where a real load refuses it, so does the check.
  std::string raw_tenant = kConfig;
  const std::string nonsensitive_tenant =
      "convert.nonsensitive(remote.kubernetes.secret.loki.data[\"tenantId\"])";
  raw_tenant.replace(raw_tenant.find(nonsensitive_tenant), nonsensitive_tenant.size(),
                     "remote.kubernetes.secret.loki.data[\"tenantId\"]");
  EXPECT_FALSE(s.Load(raw_tenant, /*offline=*/true));
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_NE(c->warnings[0].find("remote.kubernetes.secret.loki is not read by -check-syntax"),
            std::string::npos);
  // What cannot be checked with null keys fails, saying why it may still load.
  std::string url_from_secret = kConfig;
  const std::string url = "url       = \"http://loki:3100/loki/api/v1/push\"";
  url_from_secret.replace(
      url_from_secret.find(url), url.size(),
      "url = convert.nonsensitive(remote.kubernetes.secret.loki.data[\"host\"]) "
      "+ \"/loki/api/v1/push\"");
  c = s.Load(url_from_secret, /*offline=*/true);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("operator + does not apply to a null and a string "
                                     "(-check-syntax reads no Kubernetes Secrets"),
            std::string::npos)
      << c.error().message();
  EXPECT_TRUE(s.Load(url_from_secret)) << "read, the Secret's host makes the url";
}

}  // namespace
}  // namespace skidder::config
