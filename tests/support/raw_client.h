// Raw loopback TCP clients for the HTTP server tests: they open connections and send bytes the
// way a hostile or careless client would (idle, trickling, oversized), which an HTTP library
// will not do.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace skidder::testing {

using std::chrono::milliseconds;

// A connected socket to 127.0.0.1:port from `source` (any 127/8 address, so tests can play
// several clients); -1 on failure. Closed by the destructor.
// Whether this machine has an IPv6 loopback (a container may not): tests of IPv6 listening skip
// that half without one.
bool HaveIpv6Loopback();

class RawConn {
 public:
  // From source (an IPv4 loopback address) to 127.0.0.1; source "::1": from and to ::1.
  explicit RawConn(int port, const std::string& source = "127.0.0.1");
  ~RawConn();
  RawConn(RawConn&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  bool Send(std::string_view data);
  // True once the server closed (end of stream or reset) within the deadline; whatever it sent
  // meanwhile is appended to received().
  bool ClosedWithin(milliseconds deadline);
  // Reads one response (headers and a Content-Length body); returns its status, 0 if none
  // arrived within the deadline.
  int ReadResponse(milliseconds deadline, std::string* body = nullptr);
  const std::string& received() const { return received_; }

 private:
  // Waits for bytes; false on timeout. Sets closed_ at end of stream or error.
  bool ReadSome(milliseconds deadline);
  int fd_ = -1;
  bool closed_ = false;
  std::string received_;
};

struct Reply {
  int status = 0;  // 0: no answer in time
  std::string body;
  milliseconds took{0};
};

// One request on a fresh connection ("Connection: close").
Reply Request(int port, std::string_view method, std::string_view path,
              milliseconds deadline = std::chrono::seconds(5),
              const std::string& source = "127.0.0.1");

}  // namespace skidder::testing
