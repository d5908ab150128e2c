#include "support/fake_docker_api.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace skidder::testing {
namespace {

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void Respond(int fd, int status, const std::string& body) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json" +
                     "\r\nContent-Length: " + std::to_string(body.size()) +
                     "\r\nConnection: close\r\n\r\n";
  SendAll(fd, head + body);
}

std::string QueryValue(const std::string& query, const std::string& key) {
  size_t pos = 0;
  while (pos < query.size()) {
    size_t amp = query.find('&', pos);
    if (amp == std::string::npos) amp = query.size();
    std::string kv = query.substr(pos, amp - pos);
    if (kv.starts_with(key + "=")) return kv.substr(key.size() + 1);
    pos = amp + 1;
  }
  return "";
}

std::string UrlDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

int64_t ParseSinceNs(const std::string& since) {
  if (since.empty()) return 0;
  size_t dot = since.find('.');
  int64_t ns = std::stoll(since.substr(0, dot)) * 1'000'000'000;
  if (dot != std::string::npos) {
    std::string frac = since.substr(dot + 1);
    frac.resize(9, '0');
    ns += std::stoll(frac);
  }
  return ns;
}

}  // namespace

FakeDockerApi::FakeDockerApi(std::string socket_path) : path_(std::move(socket_path)) {}

FakeDockerApi::~FakeDockerApi() { Stop(); }

bool FakeDockerApi::Start() {
  unlink(path_.c_str());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (fd < 0 || path_.size() >= sizeof(addr.sun_path)) return false;
  std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return false;
  }
  return Listen(fd);
}

bool FakeDockerApi::StartTcp() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) close(fd);
    return false;
  }
  {
    std::lock_guard lock(mu_);
    tcp_port_ = ntohs(addr.sin_port);
  }
  return Listen(fd);
}

bool FakeDockerApi::Listen(int fd) {
  if (listen(fd, 64) != 0) {
    close(fd);
    return false;
  }
  {
    std::lock_guard lock(mu_);
    listen_fd_ = fd;
  }
  accept_ = std::thread([this, fd] { Accept(fd); });
  return true;
}

std::string FakeDockerApi::host() const {
  std::lock_guard lock(mu_);
  if (tcp_port_ != 0) return "http://127.0.0.1:" + std::to_string(tcp_port_);
  return "unix://" + path_;
}

std::string FakeDockerApi::last_authorization() const {
  std::lock_guard lock(mu_);
  return last_authorization_;
}

void FakeDockerApi::Stop() {
  std::vector<std::thread> conns;
  {
    std::lock_guard lock(mu_);
    if (listen_fd_ < 0) return;
    ++epoch_;
    shutdown(listen_fd_, SHUT_RDWR);
    for (int fd : fds_) shutdown(fd, SHUT_RDWR);
  }
  cv_.notify_all();
  if (accept_.joinable()) accept_.join();
  {
    std::lock_guard lock(mu_);
    conns.swap(conns_);
  }
  for (auto& t : conns) t.join();
  std::lock_guard lock(mu_);
  close(listen_fd_);
  listen_fd_ = -1;
  if (tcp_port_ == 0) unlink(path_.c_str());
}

void FakeDockerApi::Accept(int listen_fd) {
  while (true) {
    int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    std::lock_guard lock(mu_);
    fds_.push_back(fd);
    conns_.emplace_back([this, fd] { Serve(fd); });
  }
}

void FakeDockerApi::Serve(int fd) {
  std::string req;
  char buf[4096];
  while (req.find("\r\n\r\n") == std::string::npos && req.size() < 65536) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    req.append(buf, static_cast<size_t>(n));
  }
  size_t sp1 = req.find(' ');
  size_t sp2 = sp1 == std::string::npos ? sp1 : req.find(' ', sp1 + 1);
  // Header names are case-insensitive; libcurl sends "Authorization".
  if (size_t a = req.find("\r\nAuthorization: "); a != std::string::npos) {
    size_t end = req.find("\r\n", a + 2);
    std::lock_guard lock(mu_);
    last_authorization_ = req.substr(a + 17, end - a - 17);
  }
  if (req.starts_with("GET ") && sp2 != std::string::npos) {
    Answer(fd, req.substr(sp1 + 1, sp2 - sp1 - 1));
  }
  std::lock_guard lock(mu_);
  std::erase(fds_, fd);
  close(fd);
}

void FakeDockerApi::Answer(int fd, const std::string& target) {
  const size_t q = target.find('?');
  const std::string path = target.substr(0, q);
  const std::string query = q == std::string::npos ? "" : target.substr(q + 1);
  std::unique_lock lock(mu_);
  for (auto it = failures_.begin(); it != failures_.end(); ++it) {
    if (path.starts_with(it->first)) {
      int status = it->second;
      failures_.erase(it);
      lock.unlock();
      Respond(fd, status, R"({"message":"scripted failure"})");
      return;
    }
  }
  if (path == "/containers/json") {
    // all=1 lists stopped containers too: the source asks which of those it read the daemon
    // still has. ListRequests() and last_list_query() are the discovery's listings.
    const bool all = QueryValue(query, "all") == "1" || QueryValue(query, "all") == "true";
    if (!all) {
      ++list_requests_;
      last_list_query_ = query;
    }
    std::string body = ListJson(UrlDecode(QueryValue(query, "filters")), all);
    lock.unlock();
    Respond(fd, 200, body);
    return;
  }
  if (path == "/networks") {
    std::string body = NetworksJson();
    lock.unlock();
    Respond(fd, 200, body);
    return;
  }
  constexpr std::string_view kPrefix = "/containers/";
  if (path.starts_with(kPrefix)) {
    std::string rest = path.substr(kPrefix.size());
    size_t slash = rest.find('/');
    std::string id = rest.substr(0, slash);
    std::string what = slash == std::string::npos ? "" : rest.substr(slash);
    auto it = containers_.find(id);
    if (it != containers_.end() && what == "/json") {
      std::string body = InspectJson(it->second.c);
      lock.unlock();
      Respond(fd, 200, body);
      return;
    }
    if (it != containers_.end() && what == "/logs") {
      lock.unlock();
      StreamLogs(fd, id, query);
      return;
    }
  }
  lock.unlock();
  Respond(fd, 404, R"({"message":"no such container"})");
}

void FakeDockerApi::StreamLogs(int fd, const std::string& id, const std::string& query) {
  const int64_t since = ParseSinceNs(QueryValue(query, "since"));
  std::unique_lock lock(mu_);
  log_requests_[id].push_back(QueryValue(query, "since"));
  auto it = containers_.find(id);
  if (it == containers_.end()) return;
  const bool tty = it->second.c.tty;
  const uint64_t generation = it->second.generation, epoch = epoch_;
  lock.unlock();
  std::string head = std::string("HTTP/1.1 200 OK\r\nContent-Type: application/") +
                     (tty ? "vnd.docker.raw-stream" : "vnd.docker.multiplexed-stream") +
                     "\r\nConnection: close\r\n\r\n";
  if (!SendAll(fd, head)) return;
  ++open_streams_;
  lock.lock();
  size_t idx = 0;
  while (true) {
    it = containers_.find(id);
    if (it == containers_.end() || epoch_ != epoch) break;
    State& s = it->second;
    std::string out;
    while (!s.raw.empty()) {
      out += s.raw.front();
      s.raw.pop_front();
    }
    for (; idx < s.log.size(); ++idx) {
      const Record& r = s.log[idx];
      if (r.ts_ns < since) continue;
      std::string payload = Rfc3339Nano(r.ts_ns) + " " + r.text;
      out += tty ? payload : Frame(r.stream, payload);
    }
    if (!out.empty()) {
      lock.unlock();
      bool ok = SendAll(fd, out);
      lock.lock();
      if (!ok) break;
      continue;
    }
    if (!s.running || s.generation != generation) break;
    cv_.wait(lock);
  }
  --open_streams_;
}

void FakeDockerApi::AddNetwork(FakeNetwork n) {
  std::lock_guard lock(mu_);
  networks_.push_back(std::move(n));
}

void FakeDockerApi::AddContainer(FakeContainer c) {
  std::lock_guard lock(mu_);
  order_.push_back(c.id);
  containers_[c.id].c = std::move(c);
}

void FakeDockerApi::StopContainer(const std::string& id) {
  {
    std::lock_guard lock(mu_);
    State& s = containers_.at(id);
    s.running = false;
    ++s.generation;
  }
  cv_.notify_all();
}

void FakeDockerApi::StartContainer(const std::string& id) {
  std::lock_guard lock(mu_);
  containers_.at(id).running = true;
}

void FakeDockerApi::RemoveContainer(const std::string& id) {
  {
    std::lock_guard lock(mu_);
    containers_.erase(id);
    std::erase(order_, id);
  }
  cv_.notify_all();
}

void FakeDockerApi::Log(const std::string& id, int stream, int64_t ts_ns, const std::string& text) {
  {
    std::lock_guard lock(mu_);
    containers_.at(id).log.push_back(Record{ts_ns, stream, text});
  }
  cv_.notify_all();
}

void FakeDockerApi::InjectRaw(const std::string& id, std::string bytes) {
  {
    std::lock_guard lock(mu_);
    containers_.at(id).raw.push_back(std::move(bytes));
  }
  cv_.notify_all();
}

void FakeDockerApi::FailNext(const std::string& prefix, int n, int status) {
  std::lock_guard lock(mu_);
  for (int i = 0; i < n; ++i) failures_.emplace_back(prefix, status);
}

std::vector<std::string> FakeDockerApi::LogRequests(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = log_requests_.find(id);
  return it == log_requests_.end() ? std::vector<std::string>{} : it->second;
}

size_t FakeDockerApi::ListRequests() const {
  std::lock_guard lock(mu_);
  return list_requests_;
}

std::string FakeDockerApi::last_list_query() const {
  std::lock_guard lock(mu_);
  return last_list_query_;
}

}  // namespace skidder::testing
