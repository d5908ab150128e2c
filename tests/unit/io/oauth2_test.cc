// OAuth2Token against a scripted token endpoint: caching, the expiry margin, what is sent.
#include "io/oauth2.h"

#include <gtest/gtest.h>

#include <deque>

namespace skidder::io {
namespace {

using std::chrono::seconds;

io::HttpResponse Reply500() {
  io::HttpResponse r;
  r.status = 500;
  return r;
}

// Answers each Post with the next scripted response and records the request.
class ScriptedHttp final : public io::HttpClient {
 public:
  explicit ScriptedHttp(std::deque<io::HttpResponse>* script, std::vector<io::HttpRequest>* seen,
                        std::vector<std::string>* bodies)
      : script_(script), seen_(seen), bodies_(bodies) {}
  io::HttpResponse Post(const io::HttpRequest& req) override {
    seen_->push_back(req);
    bodies_->emplace_back(req.body);
    if (script_->empty()) return Reply500();
    io::HttpResponse r = std::move(script_->front());
    script_->pop_front();
    return r;
  }

 private:
  std::deque<io::HttpResponse>* script_;
  std::vector<io::HttpRequest>* seen_;
  std::vector<std::string>* bodies_;
};

io::HttpResponse Reply(int status, std::string body) {
  io::HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

class OAuth2TokenTest : public ::testing::Test {
 protected:
  OAuth2Token Make() {
    config::OAuth2Config cfg;
    cfg.client_id = "my id";
    cfg.client_secret = "s&cret";
    cfg.token_url = "https://auth.example/token";
    cfg.scopes = {"a", "b"};
    cfg.endpoint_params = {{"audience", "loki"}};
    return OAuth2Token(cfg, std::chrono::milliseconds(1000),
                       std::make_unique<ScriptedHttp>(&script_, &seen_, &bodies_));
  }
  std::deque<io::HttpResponse> script_;
  std::vector<io::HttpRequest> seen_;
  std::vector<std::string> bodies_;
  const OAuth2Token::TimePoint t0_{seconds(1000)};
};

TEST_F(OAuth2TokenTest, SendsTheClientCredentialsGrantAndCachesUntilTheExpiryMargin) {
  script_ = {Reply(200, R"({"access_token":"t1","expires_in":60})"),
             Reply(200, R"({"access_token":"t2","expires_in":"60"})")};
  OAuth2Token token = Make();
  EXPECT_EQ(token.Get(t0_).value(), "t1");
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(bodies_[0], "grant_type=client_credentials&scope=a%20b&audience=loki");
  // base64("my%20id:s%26cret"): RFC 6749 form-encodes both before basic auth.
  bool basic = false;
  for (const auto& [k, v] : seen_[0].headers) {
    if (k == "Authorization") basic = v == "Basic bXklMjBpZDpzJTI2Y3JldA==";
  }
  EXPECT_TRUE(basic);
  EXPECT_EQ(token.Get(t0_ + seconds(49)).value(), "t1");  // cached
  EXPECT_EQ(seen_.size(), 1u);
  EXPECT_EQ(token.Get(t0_ + seconds(51)).value(), "t2");  // within 10 s of expiry: renewed
  EXPECT_EQ(seen_.size(), 2u);
}

TEST_F(OAuth2TokenTest, InvalidateFetchesAgainAndNoExpiryMeansCachedForever) {
  script_ = {Reply(200, R"({"access_token":"t1"})"), Reply(200, R"({"access_token":"t2"})")};
  OAuth2Token token = Make();
  EXPECT_EQ(token.Get(t0_).value(), "t1");
  EXPECT_EQ(token.Get(t0_ + std::chrono::hours(1000)).value(), "t1");
  token.Invalidate();
  EXPECT_EQ(token.Get(t0_).value(), "t2");
}

TEST_F(OAuth2TokenTest, UnusableAnswersAreErrorsWithoutTheSecret) {
  script_ = {Reply(401, R"({"error":"invalid_client"})"), Reply(200, "<html>"),
             Reply(200, R"({"token_type":"Bearer"})"),
             Reply(200, "{\"access_token\":\"a\\r\\nX-Evil: 1\"}")};
  OAuth2Token token = Make();
  for (const char* want :
       {"answered 401", "other than JSON", "no access_token", "control characters"}) {
    auto r = token.Get(t0_);
    ASSERT_FALSE(r.has_value()) << want;
    EXPECT_NE(r.error().message().find(want), std::string::npos) << r.error().message();
    EXPECT_EQ(r.error().message().find("s&cret"), std::string::npos);
  }
}

}  // namespace
}  // namespace skidder::io
