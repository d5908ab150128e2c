#include "support/fake_loki.h"

#include <httplib.h>
#include <snappy.h>
#include <strings.h>

#include "push.pb.h"
#include "support/test_util.h"

namespace skidder::testing {

FakeLoki::FakeLoki() : server_(std::make_unique<httplib::Server>()) {}

FakeLoki::~FakeLoki() { Stop(); }

bool FakeLoki::Start() {
  server_->Post("/loki/api/v1/push", [this](const httplib::Request& req, httplib::Response& res) {
    HandlePush(req, res);
  });
  server_->Get("/ready", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ready", "text/plain");
  });
  // Idle keep-alive connections hold a server thread; keep Stop() from waiting long on them.
  server_->set_keep_alive_timeout(1);
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) return false;
  // The socket already listens, so clients may connect before the accept loop runs.
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // httplib's stop() is a no-op until the accept loop runs: wait for it so Stop() cannot miss.
  return WaitFor([this] { return server_->is_running(); }, std::chrono::seconds(10),
                 std::chrono::milliseconds(1));
}

void FakeLoki::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

std::string FakeLoki::base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
std::string FakeLoki::url() const { return base_url() + "/loki/api/v1/push"; }

void FakeLoki::ScriptStatuses(const std::vector<int>& statuses) {
  std::lock_guard lock(mu_);
  for (int s : statuses) script_.emplace_back(s, "scripted status " + std::to_string(s));
}

void FakeLoki::ScriptReply(int status, std::string body) {
  std::lock_guard lock(mu_);
  script_.emplace_back(status, std::move(body));
}

void FakeLoki::ScriptEndlessBody(int status) {
  std::lock_guard lock(mu_);
  endless_.push_back(status);
}

void FakeLoki::SetEchoRequestInErrors(bool on) {
  std::lock_guard lock(mu_);
  echo_ = on;
}

void FakeLoki::SetEndlessBody(httplib::Response& res) {
  res.set_chunked_content_provider("text/plain", [this](size_t, httplib::DataSink& sink) {
    if (!sink.write("ok\n", 3)) return false;
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(50), [this] { return stopping_; });
    return !stopping_ && sink.is_writable();
  });
}

void FakeLoki::SetFailFor(std::chrono::milliseconds d, int status) {
  std::lock_guard lock(mu_);
  fail_until_ = std::chrono::steady_clock::now() + d;
  fail_status_ = status;
}

void FakeLoki::SetFailureRate(double probability, int status, uint32_t seed) {
  std::lock_guard lock(mu_);
  flaky_probability_ = probability;
  flaky_status_ = status;
  flaky_rng_.seed(seed);
}

void FakeLoki::SetMaxBodyBytes(size_t n) {
  std::lock_guard lock(mu_);
  max_body_bytes_ = n;
}

void FakeLoki::RequireAuthorization(std::string value) {
  std::lock_guard lock(mu_);
  required_auth_ = std::move(value);
}

void FakeLoki::RequireTenant(bool on) {
  std::lock_guard lock(mu_);
  require_tenant_ = on;
}

void FakeLoki::SetTenantStatus(const std::string& tenant, int status) {
  std::lock_guard lock(mu_);
  tenant_status_[tenant] = status;
}

void FakeLoki::SetBlackhole(bool on) {
  {
    std::lock_guard lock(mu_);
    blackhole_ = on;
  }
  cv_.notify_all();
}

void FakeLoki::SetResponseDelay(std::chrono::milliseconds d) {
  std::lock_guard lock(mu_);
  delay_ = d;
}

void FakeLoki::HandlePush(const httplib::Request& req, httplib::Response& res) {
  const auto arrived = std::chrono::steady_clock::now();
  std::string body;
  int status = 0;
  int endless = 0;
  bool echo = false;
  {
    std::unique_lock lock(mu_);
    echo = echo_;
    if (!endless_.empty()) {
      endless = endless_.front();
      endless_.pop_front();
    }
    if (blackhole_) {
      cv_.wait(lock, [this] { return !blackhole_ || stopping_; });
      status = 503;
      body = "blackhole released";
    } else if (delay_.count() > 0) {
      cv_.wait_for(lock, delay_, [this] { return stopping_; });
    }
    if (status == 0 && endless == 0) status = FaultStatus(req, &body);
    if (endless != 0 && (endless < 200 || endless >= 300)) status = endless;
  }
  std::vector<ReceivedEntry> accepted;
  bool decode_error = false;
  if (status == 0) {
    if (Decode(req, &accepted, &body)) {
      status = body.empty() ? 204 : 400;  // a stream Loki refuses: the others are kept
    } else {
      status = 400;
      decode_error = true;
    }
  }
  if (endless != 0 && status == 204) status = endless;
  Record(req, status, std::move(accepted), decode_error, arrived);
  res.status = status;
  if (echo && status >= 400) {
    for (const auto& [name, value] : req.headers) body += "\n" + name + ": " + value;
  }
  if (endless != 0) {
    SetEndlessBody(res);
  } else if (!body.empty()) {
    res.set_content(body, "text/plain");
  }
}

int FakeLoki::FaultStatus(const httplib::Request& req, std::string* body) {
  if (!script_.empty()) {
    auto [status, text] = std::move(script_.front());
    script_.pop_front();
    *body = std::move(text);
    return status;
  }
  if (!required_auth_.empty() && req.get_header_value("Authorization") != required_auth_) {
    *body = "no org id / unauthorized";
    return 401;
  }
  if (require_tenant_ && !req.has_header("X-Scope-OrgID")) {
    *body = "no org id";
    return 401;
  }
  if (auto it = tenant_status_.find(req.get_header_value("X-Scope-OrgID"));
      it != tenant_status_.end() && it->second != 0) {
    *body = "tenant refused on purpose";
    return it->second;
  }
  if (max_body_bytes_ > 0 && req.body.size() > max_body_bytes_) {
    *body = "413 Request Entity Too Large";
    return 413;
  }
  if (fail_status_ != 0 && std::chrono::steady_clock::now() < fail_until_) {
    *body = "failing on purpose";
    return fail_status_;
  }
  if (flaky_probability_ > 0 &&
      std::uniform_real_distribution<double>(0, 1)(flaky_rng_) < flaky_probability_) {
    *body = "flaky on purpose";
    return flaky_status_;
  }
  return 0;
}

// Decodes a push as Loki would; false with *error set when it cannot. A stream Loki's validation
// refuses (no labels) is left out and named in *error, the rest is kept, as Loki does.
bool FakeLoki::Decode(const httplib::Request& req, std::vector<ReceivedEntry>* out,
                      std::string* error) {
  std::string raw;
  if (!snappy::Uncompress(req.body.data(), req.body.size(), &raw)) {
    *error = "snappy: corrupt input";
    return false;
  }
  logproto::PushRequest push;
  if (!push.ParseFromString(raw)) {
    *error = "proto: cannot parse PushRequest (invalid UTF-8?)";
    return false;
  }
  std::string tenant = req.get_header_value("X-Scope-OrgID");
  for (const auto& stream : push.streams()) {
    if (stream.labels().empty() || stream.labels() == "{}") {  // Loki's validation
      *error = "error at least one label pair is required per stream";
      continue;
    }
    for (const auto& e : stream.entries()) {
      ReceivedEntry& r = out->emplace_back();
      r.tenant = tenant;
      r.labels = stream.labels();
      r.timestamp_ns = e.timestamp().seconds() * 1'000'000'000 + e.timestamp().nanos();
      r.line = e.line();
      for (const auto& md : e.structuredmetadata()) r.metadata.emplace_back(md.name(), md.value());
    }
  }
  return true;
}

// Request and entries are recorded together, so a test that saw the lines also sees the request.
void FakeLoki::Record(const httplib::Request& req, int status, std::vector<ReceivedEntry> entries,
                      bool decode_error, std::chrono::steady_clock::time_point arrived) {
  ReceivedRequest r;
  r.status = status;
  r.at = arrived;
  for (const auto& [name, value] : req.headers) r.headers.emplace(name, value);
  r.body_bytes = req.body.size();
  r.entries = entries.size();
  std::lock_guard lock(mu_);
  requests_.push_back(std::move(r));
  for (auto& e : entries) entries_.push_back(std::move(e));
  if (decode_error) ++decode_errors_;
  cv_.notify_all();
}

std::vector<ReceivedEntry> FakeLoki::Entries() const {
  std::lock_guard lock(mu_);
  return entries_;
}

std::vector<std::string> FakeLoki::Lines() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> lines;
  lines.reserve(entries_.size());
  for (const auto& e : entries_) lines.push_back(e.line);
  return lines;
}

std::vector<std::string> FakeLoki::LinesFrom(size_t from) const {
  std::lock_guard lock(mu_);
  std::vector<std::string> lines;
  for (size_t i = from; i < entries_.size(); ++i) lines.push_back(entries_[i].line);
  return lines;
}

size_t FakeLoki::LineCount() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

std::vector<ReceivedRequest> FakeLoki::Requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

size_t FakeLoki::RequestCount() const {
  std::lock_guard lock(mu_);
  return requests_.size();
}

std::vector<std::string> FakeLoki::HeaderValues(const std::string& name) const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& r : requests_) {
    for (const auto& [k, v] : r.headers) {
      if (strcasecmp(k.c_str(), name.c_str()) == 0) out.push_back(v);
    }
  }
  return out;
}

size_t FakeLoki::DecodeErrors() const {
  std::lock_guard lock(mu_);
  return decode_errors_;
}

bool FakeLoki::WaitForLines(size_t n, std::chrono::milliseconds deadline) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, deadline, [&] { return entries_.size() >= n; });
}

bool FakeLoki::WaitForRequests(size_t n, std::chrono::milliseconds deadline) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, deadline, [&] { return requests_.size() >= n; });
}

void FakeLoki::Clear() {
  std::lock_guard lock(mu_);
  entries_.clear();
  requests_.clear();
  decode_errors_ = 0;
}

}  // namespace skidder::testing
