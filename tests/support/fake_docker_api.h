// FakeDockerApi: the Docker Engine API calls skidder's Docker source makes, served on a Unix
// socket: GET /containers/json (with all and the label, name, id and status filters), GET
// /networks, GET /containers/{id}/json (Config.Tty) and GET /containers/{id}/logs with follow,
// since and timestamps, speaking the multiplexed stream (8-byte frame headers) for containers
// without a TTY and the raw stream for TTY containers, as dockerd does.
//
// A test adds containers, appends log lines, stops and starts containers (their log streams
// end; a stopped container is not listed), and scripts faults: raw bytes (malformed or oversize
// frames) into the next stream, HTTP statuses for the next requests, and the whole daemon going
// away (Stop) and coming back (Start) on the same socket.
//
// Owned by a test; thread-safe. Each connection is served on its own thread; HTTP/1.1 with
// "Connection: close" (a log stream ends by closing).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace skidder::testing {

// 2024-05-01T10:00:00Z: the tests' Docker log lines are stamped from here.
inline constexpr int64_t kDockerT0 = 1714557600'000000000;

struct FakeContainer {
  std::string id;
  std::string name;  // with Docker's leading "/"
  bool tty = false;
  std::map<std::string, std::string> labels;
  std::string network_mode = "bridge";
  std::string network = "bridge";  // the network it is attached to ("" = none)
  std::string ip = "172.17.0.2";
  int private_port = 0;  // an exposed TCP port (0 = none)
  int public_port = 0;
};

struct FakeNetwork {
  std::string id, name, scope = "local";
  bool internal = false, ingress = false;
  std::map<std::string, std::string> labels;
};

class FakeDockerApi {
 public:
  explicit FakeDockerApi(std::string socket_path);
  ~FakeDockerApi();
  FakeDockerApi(const FakeDockerApi&) = delete;
  FakeDockerApi& operator=(const FakeDockerApi&) = delete;

  // Listens on the socket (again after Stop: the daemon is back). False if it cannot bind.
  bool Start();
  // Listens on 127.0.0.1 (a free port) instead of the socket, as a daemon with -H tcp:// does.
  bool StartTcp();
  // The daemon goes away: the socket is removed and every connection closed.
  void Stop();
  // unix://<socket>, or http://127.0.0.1:<port> after StartTcp().
  std::string host() const;
  // The Authorization header of the last request ("" when it had none).
  std::string last_authorization() const;

  void AddNetwork(FakeNetwork n);
  void AddContainer(FakeContainer c);           // running
  void StopContainer(const std::string& id);    // not listed; its log streams end
  void StartContainer(const std::string& id);   // listed again
  void RemoveContainer(const std::string& id);  // gone: 404
  // Appends a log message: stream 1 stdout, 2 stderr; text as the container wrote it ("\n"
  // included for a complete line). Followers get it at once.
  void Log(const std::string& id, int stream, int64_t ts_ns, const std::string& text);
  // Raw bytes written once into the container's log streams open now or opened next (faults).
  void InjectRaw(const std::string& id, std::string bytes);
  // The next n requests whose path starts with prefix are answered with status.
  void FailNext(const std::string& prefix, int n, int status);

  // The since= of every /logs request for the container, in order.
  std::vector<std::string> LogRequests(const std::string& id) const;
  size_t ListRequests() const;
  std::string last_list_query() const;
  // Log streams open now.
  int open_streams() const { return open_streams_.load(); }

  // Docker's RFC 3339 timestamp (Go's RFC3339Nano: trailing zeros of the fraction trimmed).
  static std::string Rfc3339Nano(int64_t ts_ns);
  // One frame of the multiplexed stream.
  static std::string Frame(int stream, const std::string& payload);

 private:
  struct Record {
    int64_t ts_ns;
    int stream;
    std::string text;
  };
  struct State {
    FakeContainer c;
    bool running = true;
    uint64_t generation = 0;  // bumped by StopContainer: open streams end
    std::vector<Record> log;
    std::deque<std::string> raw;  // pending fault bytes
  };
  void Accept(int listen_fd);
  void Serve(int fd);
  void Answer(int fd, const std::string& target);
  void StreamLogs(int fd, const std::string& id, const std::string& query);
  // filters: as decoded from the query; all: stopped containers too.
  std::string ListJson(const std::string& filters_json, bool all);
  std::string NetworksJson();
  static std::string InspectJson(const FakeContainer& c);  // GET /containers/{id}/json
  bool Matches(const State& s, const std::string& filters_json);

  bool Listen(int fd);
  std::string path_;
  int tcp_port_ = 0;
  std::string last_authorization_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, State> containers_;
  std::vector<std::string> order_;  // container ids in the order added
  std::vector<FakeNetwork> networks_;
  std::map<std::string, std::vector<std::string>> log_requests_;
  std::vector<std::pair<std::string, int>> failures_;  // (prefix, status), one per request
  size_t list_requests_ = 0;
  std::string last_list_query_;
  uint64_t epoch_ = 0;  // bumped by Stop: every connection ends
  int listen_fd_ = -1;
  std::vector<int> fds_;  // open connections
  std::thread accept_;
  std::vector<std::thread> conns_;
  std::atomic<int> open_streams_{0};
};

}  // namespace skidder::testing
