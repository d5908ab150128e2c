// FakeTokenServer: an OAuth 2.0 token endpoint (client credentials grant) on loopback, for
// tests of the `oauth2` client setting. Each accepted request gets a new token "token-<n>"
// (n = 1, 2, ...) with the configured expires_in; requests whose Authorization header (the client
// credentials as HTTP basic) is not the expected one get 401. Records each request's form body.
//
//   FakeTokenServer tokens("Basic aWQ6c2VjcmV0", /*expires_in=*/3600);  // id:secret
//   ASSERT_TRUE(tokens.Start());
//   ... oauth2: {client_id: id, client_secret: secret, token_url: tokens.url()} ...
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Server;
}

namespace skidder::testing {

class FakeTokenServer {
 public:
  FakeTokenServer(std::string expected_authorization, int expires_in);
  ~FakeTokenServer();
  FakeTokenServer(const FakeTokenServer&) = delete;
  FakeTokenServer& operator=(const FakeTokenServer&) = delete;

  bool Start();
  void Stop();
  std::string url() const;  // http://127.0.0.1:<port>/oauth2/token

  // Tokens issued so far (successful requests).
  int Issued() const;
  // The form bodies of every request, in order.
  std::vector<std::string> Bodies() const;

 private:
  std::string expected_authorization_;
  int expires_in_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mu_;
  int issued_ = 0;
  std::vector<std::string> bodies_;
};

}  // namespace skidder::testing
