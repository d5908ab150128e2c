// LokiClient against a Loki (or proxy) that misbehaves on purpose or by accident: endless 2xx
// bodies, echoed credentials, 413 floods, tenants and secrets that change under it.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <random>

#include "client_fixture.h"
#include "io/credentials.h"
#include "util/log.h"

namespace skidder::sink {
namespace {

// Loki (or a proxy) that answers 200 and then never finishes the body has still accepted the push:
// the batch is acknowledged once, not timed out and re-sent forever.
TEST_F(LokiClientTest, A200WithAnEndlessBodyAcknowledgesTheBatchOnce) {
  loki_.ScriptEndlessBody(200);
  auto cfg = Config();
  cfg.timeout = std::chrono::seconds(60);
  auto tracker = AckTracker::Create(0);
  auto client = Make(cfg);
  for (int i = 0; i < 5; ++i) {
    AckRef hold = tracker->Open(static_cast<uint64_t>(i + 1) * 10);
    client->Push(MakeEntry("line " + std::to_string(i), hold));
  }
  ASSERT_TRUE(client->Start().ok());
  ASSERT_TRUE(WaitFor([&] { return tracker->Committed() == 50; }));
  EXPECT_EQ(loki_.RequestCount(), 1u);
  EXPECT_EQ(loki_.Lines(), Numbered(5));
  EXPECT_EQ(Counter(metrics_.batch_retries, {host()}), 0);
  EXPECT_TRUE(client->Stop(std::chrono::seconds(5)));
}

// Many entries each too large for the gateway: each is dropped (counted), but neither the requests
// (a full split tree, sent back to back) nor the warnings (one per entry) may flood.
TEST_F(LokiClientTest, A413FloodIsPacedAndLoggedOncePerInterval) {
  std::string log;
  log::CaptureForTest(&log);
  loki_.SetMaxBodyBytes(1024);
  auto cfg = Config();
  cfg.backoff_config.min_period = milliseconds(100);
  auto client = Make(cfg);
  std::mt19937 rng(5);
  constexpr int kEntries = 32;
  for (int i = 0; i < kEntries; ++i) {
    std::string huge(4096, ' ');
    for (char& c : huge) c = static_cast<char>('!' + rng() % 90);  // snappy cannot shrink it
    client->Push(MakeEntry(huge));
  }
  ASSERT_TRUE(client->Start().ok());
  ASSERT_TRUE(WaitFor([&] {
    return Counter(metrics_.dropped_entries, {host(), telemetry::kReasonTooLarge}) == kEntries;
  }));
  EXPECT_TRUE(client->Stop(std::chrono::seconds(5)));
  log::CaptureForTest(nullptr);
  auto requests = loki_.Requests();
  // Splitting 32 entries down to single ones is 63 requests; a body at least as large as one
  // that got 413 is split or dropped without asking again.
  EXPECT_LE(requests.size(), 16u);
  for (size_t i = 1; i < requests.size(); ++i) {
    EXPECT_GE(requests[i].at - requests[i - 1].at, milliseconds(100)) << "request " << i;
  }
  size_t warnings = 0;
  for (size_t p = log.find("push refused, entries dropped"); p != std::string::npos;
       p = log.find("push refused, entries dropped", p + 1)) {
    ++warnings;
  }
  EXPECT_EQ(warnings, 1u) << log;
}

// A rotated token or password file is used from the next push on, not after a 401 (or a minute).
TEST_F(LokiClientTest, RotatedSecretFilesAreUsedFromTheNextPushWithoutA401) {
  testing::TempDir dir;
  testing::WriteFile(dir / "token", "token-1\n");
  testing::WriteFile(dir / "password", "pass-1\n");
  auto bearer_cfg = Config();
  bearer_cfg.bearer_token_file = dir / "token";
  auto basic_cfg = Config();
  basic_cfg.basic_auth = config::BasicAuth{.username = "u", .password_file = dir / "password"};
  auto bearer = Make(bearer_cfg);
  auto basic = Make(basic_cfg);
  ASSERT_TRUE(bearer->Start().ok());
  ASSERT_TRUE(basic->Start().ok());
  bearer->Push(MakeEntry("before"));
  basic->Push(MakeEntry("before"));
  ASSERT_TRUE(loki_.WaitForLines(2));

  // Rotated as Kubernetes does: a new file renamed over the old one.
  testing::WriteFile(dir / "token.new", "token-2\n");
  ASSERT_EQ(std::rename((dir / "token.new").c_str(), (dir / "token").c_str()), 0);
  testing::WriteFile(dir / "password.new", "pass-2\n");
  ASSERT_EQ(std::rename((dir / "password.new").c_str(), (dir / "password").c_str()), 0);
  loki_.RequireAuthorization("Bearer token-2");
  bearer->Push(MakeEntry("after"));
  ASSERT_TRUE(loki_.WaitForLines(3));
  loki_.RequireAuthorization("Basic " + io::Base64("u:pass-2"));
  basic->Push(MakeEntry("after"));
  ASSERT_TRUE(loki_.WaitForLines(4));
  for (const auto& r : loki_.Requests()) EXPECT_EQ(r.status, 204) << "a push was refused first";
}

// A tenant from a pod label is refused whole when Loki would not accept it: never edited into
// another tenant's name, never dropping the header (which would override tenant_id).
TEST_F(LokiClientTest, InvalidTenantFromALabelFallsBackToTheConfiguredTenant) {
  auto cfg = Config();
  cfg.tenant_id = "default";
  auto client = Make(cfg);
  ASSERT_TRUE(client->Start().ok());
  Entry a = MakeEntry("for team a");
  a.labels.Set(kTenantLabel, "team-a");
  Entry injected = MakeEntry("injected");
  injected.labels.Set(kTenantLabel, "team-b\rX-Injected: 1");
  Entry control = MakeEntry("control bytes");
  control.labels.Set(kTenantLabel, "\x01\x02\x7f");
  client->Push(std::move(a));
  client->Push(std::move(injected));
  client->Push(std::move(control));
  client->Push(MakeEntry("for default"));
  ASSERT_TRUE(loki_.WaitForLines(4));
  std::map<std::string, std::string> tenant_of;
  for (const auto& e : loki_.Entries()) {
    tenant_of[e.line] = e.tenant;
    EXPECT_EQ(e.labels, R"({job="test"})");
  }
  EXPECT_EQ(tenant_of["for team a"], "team-a");
  EXPECT_EQ(tenant_of["injected"], "default");
  EXPECT_EQ(tenant_of["control bytes"], "default");
  EXPECT_EQ(tenant_of["for default"], "default");
  EXPECT_TRUE(loki_.HeaderValues("X-Injected").empty());
  EXPECT_EQ(metrics_.invalid_tenants.With({host()})->Value(), 2);
}

// Without a tenant_id to fall back on, entries naming a tenant Loki would refuse go without a
// tenant, in batches of their own: a Loki without auth takes them; one that wants a tenant (401)
// has them dropped and counted, not retried for ever with every other tenant's waiting behind.
TEST_F(LokiClientTest, InvalidTenantWithoutAFallbackIsSentBareAndDroppedIfLokiWantsOne) {
  auto client = Make(Config());  // no tenant_id
  ASSERT_TRUE(client->Start().ok());
  Entry bad = MakeEntry("bad tenant, no auth");
  bad.labels.Set(kTenantLabel, "team/a");
  client->Push(std::move(bad));
  ASSERT_TRUE(loki_.WaitForLines(1));
  EXPECT_EQ(loki_.Entries()[0].tenant, "");  // a Loki without auth takes it
  loki_.RequireTenant(true);
  bad = MakeEntry("bad tenant, auth");
  bad.labels.Set(kTenantLabel, "team/a");
  client->Push(std::move(bad));
  Entry good = MakeEntry("good tenant");
  good.labels.Set(kTenantLabel, "team-b");
  client->Push(std::move(good));
  ASSERT_TRUE(loki_.WaitForLines(2));
  ASSERT_TRUE(WaitFor([&] {
    return Counter(metrics_.dropped_entries, {host(), telemetry::kReasonInvalidTenant}) == 1;
  }));
  EXPECT_EQ(loki_.Lines(), (std::vector<std::string>{"bad tenant, no auth", "good tenant"}));
  EXPECT_EQ(loki_.Entries()[1].tenant, "team-b");
  EXPECT_EQ(metrics_.invalid_tenants.With({host()})->Value(), 2);
  EXPECT_TRUE(client->Stop(std::chrono::seconds(5)));
}

// skidder_invalid_tenants_total counts entries, whether a read brings one or many and whether
// the client worked the stream's final labels out for this read or remembered them (Finalize).
TEST_F(LokiClientTest, InvalidTenantsAreCountedPerEntryReadAfterRead) {
  auto cfg = Config();
  cfg.tenant_id = "default";
  auto client = Make(cfg);
  ASSERT_TRUE(client->Start().ok());
  Labels labels = MakeEntry("").labels;
  labels.Set(kTenantLabel, "bad\ntenant");
  for (int read = 0; read < 2; ++read) {
    std::vector<Entry> batch;
    for (int i = 0; i < 3; ++i) {
      batch.push_back(MakeEntry("line " + std::to_string(read * 3 + i)));
      batch.back().labels = labels;  // one set, as a file's entries share it
    }
    client->PushBatch(batch);
  }
  ASSERT_TRUE(loki_.WaitForLines(6));
  for (const auto& e : loki_.Entries()) EXPECT_EQ(e.tenant, "default") << e.line;
  EXPECT_EQ(metrics_.invalid_tenants.With({host()})->Value(), 6);
}

// A Loki or proxy that echoes the request in its error body, and a URL with a token in its query
// string: neither the warnings about retries nor those about drops may print a credential.
TEST_F(LokiClientTest, PushWarningsNeverPrintCredentialsEvenWhenLokiEchoesTheRequest) {
  std::string log;
  log::CaptureForTest(&log);
  loki_.SetEchoRequestInErrors(true);
  loki_.ScriptStatuses({503, 400});
  auto cfg = Config();
  cfg.url = loki_.url() + "?token=q-tok-31337";
  cfg.bearer_token = "b-tok-271828";
  cfg.headers = {{"X-Api-Key", "k-api-161803"}, {"X-Trace", "visible-1"}};
  auto client = Make(cfg);
  client->Push(MakeEntry("refused"));
  ASSERT_TRUE(client->Start().ok());
  ASSERT_TRUE(WaitFor([&] {
    return Counter(metrics_.dropped_entries, {host(), telemetry::kReasonInvalid}) == 1;
  }));
  EXPECT_TRUE(client->Stop(std::chrono::seconds(5)));
  log::CaptureForTest(nullptr);
  ASSERT_NE(log.find("push failed, will retry"), std::string::npos) << log;
  ASSERT_NE(log.find("push refused, entries dropped"), std::string::npos) << log;
  for (const char* secret : {"q-tok-31337", "b-tok-271828", "k-api-161803"}) {
    EXPECT_EQ(log.find(secret), std::string::npos) << secret << " leaked:\n" << log;
  }
  EXPECT_NE(log.find("visible-1"), std::string::npos) << "the echo is still logged:\n" << log;
}

}  // namespace
}  // namespace skidder::sink
