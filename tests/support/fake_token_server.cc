#include "support/fake_token_server.h"

#include <httplib.h>

#include "support/test_util.h"

namespace skidder::testing {

FakeTokenServer::FakeTokenServer(std::string expected_authorization, int expires_in)
    : expected_authorization_(std::move(expected_authorization)),
      expires_in_(expires_in),
      server_(std::make_unique<httplib::Server>()) {}

FakeTokenServer::~FakeTokenServer() { Stop(); }

bool FakeTokenServer::Start() {
  server_->Post("/oauth2/token", [this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu_);
    bodies_.push_back(req.body);
    if (req.get_header_value("Authorization") != expected_authorization_ ||
        req.get_header_value("Content-Type") != "application/x-www-form-urlencoded" ||
        req.body.find("grant_type=client_credentials") == std::string::npos) {
      res.status = 401;
      res.set_content(R"({"error":"invalid_client"})", "application/json");
      return;
    }
    ++issued_;
    res.set_content(R"({"access_token":"token-)" + std::to_string(issued_) +
                        R"(","token_type":"Bearer","expires_in":)" + std::to_string(expires_in_) +
                        "}",
                    "application/json");
  });
  server_->set_keep_alive_timeout(1);
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) return false;
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return WaitFor([this] { return server_->is_running(); }, std::chrono::seconds(10),
                 std::chrono::milliseconds(1));
}

void FakeTokenServer::Stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

std::string FakeTokenServer::url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/oauth2/token";
}

int FakeTokenServer::Issued() const {
  std::lock_guard lock(mu_);
  return issued_;
}

std::vector<std::string> FakeTokenServer::Bodies() const {
  std::lock_guard lock(mu_);
  return bodies_;
}

}  // namespace skidder::testing
