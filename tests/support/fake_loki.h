// FakeLoki: an in-process Loki push endpoint on 127.0.0.1 (port 0), for unit and integration
// tests. It decodes each push (snappy block + logproto.PushRequest, as real Loki does), records
// every entry, and can be scripted to misbehave: status codes for the next requests, failing for
// a while, 413 above a body size, 401 without the right Authorization, or holding requests
// unanswered (blackhole).
//
// Owned by a test; every method is thread-safe (the HTTP server answers on its own threads).
//
//   FakeLoki loki;
//   ASSERT_TRUE(loki.Start());
//   loki.ScriptStatuses({503, 503});          // the next two pushes fail
//   ... point an agent or LokiClient at loki.url() ...
//   ASSERT_TRUE(loki.WaitForLines(100));
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace skidder::testing {

struct ReceivedEntry {
  std::string tenant;  // X-Scope-OrgID ("" when absent)
  std::string labels;  // the stream's labels string, as sent: {a="1", b="2"}
  int64_t timestamp_ns = 0;
  std::string line;
  std::vector<std::pair<std::string, std::string>> metadata;  // structured metadata
};

struct ReceivedRequest {
  int status = 0;                              // what the fake answered
  std::map<std::string, std::string> headers;  // every request header (names as sent)
  size_t body_bytes = 0;                       // compressed size
  size_t entries = 0;                          // decoded entries (0 unless accepted)
  std::chrono::steady_clock::time_point at;    // when it arrived
};

class FakeLoki {
 public:
  FakeLoki();
  ~FakeLoki();
  FakeLoki(const FakeLoki&) = delete;
  FakeLoki& operator=(const FakeLoki&) = delete;

  // Binds 127.0.0.1 on a free port and starts serving. False when it could not bind.
  bool Start();
  // Releases held requests and stops the server. Idempotent; the destructor calls it.
  void Stop();

  int port() const { return port_; }
  std::string base_url() const;  // http://127.0.0.1:<port>
  std::string url() const;       // base_url() + /loki/api/v1/push

  // --- Faults -------------------------------------------------------------------------------
  // The next pushes are answered with these statuses (body: a short message), one each, before
  // anything else is checked; afterwards pushes are handled normally again.
  void ScriptStatuses(const std::vector<int>& statuses);
  // Queues one scripted answer with a body (e.g. 400 with Loki's error text).
  void ScriptReply(int status, std::string body);
  // The next push is handled normally (accepted and recorded when status is 2xx) and answered
  // with `status` and a body that never ends: a few bytes, then nothing until the client leaves
  // or the fake stops.
  void ScriptEndlessBody(int status);
  // Error answers (4xx/5xx, scripted or not) echo the request's headers in their body, as some
  // proxies and Loki's own error pages do.
  void SetEchoRequestInErrors(bool on);
  // Every push in the next `d` is answered with `status`.
  void SetFailFor(std::chrono::milliseconds d, int status);
  // Each later push fails with `status` with this probability (0 turns it off), drawn from a
  // generator seeded with `seed` (a flaky Loki; which pushes fail also depends on timing).
  void SetFailureRate(double probability, int status, uint32_t seed);
  // Pushes whose (compressed) body is larger than n bytes get 413; 0 turns it off.
  void SetMaxBodyBytes(size_t n);
  // Pushes without exactly this Authorization header get 401; "" turns it off.
  void RequireAuthorization(std::string value);
  // Pushes without an X-Scope-OrgID header get 401 "no org id", as Loki with auth_enabled.
  void RequireTenant(bool on);
  // Pushes for this tenant (X-Scope-OrgID) get `status` (e.g. 429, a tenant at its ingestion
  // limit) until it is set to 0; other tenants' pushes are handled normally.
  void SetTenantStatus(const std::string& tenant, int status);
  // While on, pushes are held unanswered (a blackholed Loki); they are answered 503 and not
  // recorded when the blackhole is turned off or the fake stops.
  void SetBlackhole(bool on);
  // Each push is answered only after this delay (a slow Loki), then handled normally.
  void SetResponseDelay(std::chrono::milliseconds d);

  // --- What arrived -------------------------------------------------------------------------
  std::vector<ReceivedEntry> Entries() const;
  std::vector<std::string> Lines() const;  // every accepted line, in arrival order
  // Accepted lines from the `from`th on (what arrived since an earlier LineCount()).
  std::vector<std::string> LinesFrom(size_t from) const;
  size_t LineCount() const;
  std::vector<ReceivedRequest> Requests() const;  // every push, whatever the answer
  size_t RequestCount() const;
  // Values of one request header (case-insensitive name) over every push, in order.
  std::vector<std::string> HeaderValues(const std::string& name) const;
  // Pushes that could not be decoded (bad snappy, bad protobuf such as invalid UTF-8).
  size_t DecodeErrors() const;
  // Waits until at least n lines were accepted.
  bool WaitForLines(size_t n, std::chrono::milliseconds deadline = std::chrono::seconds(20)) const;
  bool WaitForRequests(size_t n,
                       std::chrono::milliseconds deadline = std::chrono::seconds(20)) const;
  // Forgets what arrived (not the faults).
  void Clear();

 private:
  void HandlePush(const httplib::Request& req, httplib::Response& res);
  void SetEndlessBody(httplib::Response& res);
  // The status a fault dictates for this request, or 0 to handle it normally. Requires mu_.
  int FaultStatus(const httplib::Request& req, std::string* body);
  static bool Decode(const httplib::Request& req, std::vector<ReceivedEntry>* out,
                     std::string* error);
  void Record(const httplib::Request& req, int status, std::vector<ReceivedEntry> entries,
              bool decode_error, std::chrono::steady_clock::time_point arrived);

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::deque<std::pair<int, std::string>> script_;
  std::deque<int> endless_;  // statuses for the next pushes, each with an endless body
  bool echo_ = false;
  std::chrono::steady_clock::time_point fail_until_{};
  int fail_status_ = 0;
  double flaky_probability_ = 0;
  int flaky_status_ = 0;
  std::mt19937 flaky_rng_;
  size_t max_body_bytes_ = 0;
  bool require_tenant_ = false;
  std::map<std::string, int> tenant_status_;
  std::string required_auth_;
  bool blackhole_ = false;
  bool stopping_ = false;
  std::chrono::milliseconds delay_{0};
  std::vector<ReceivedEntry> entries_;
  std::vector<ReceivedRequest> requests_;
  size_t decode_errors_ = 0;
};

}  // namespace skidder::testing
