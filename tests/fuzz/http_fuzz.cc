// libFuzzer target: raw bytes from a client of the agent's HTTP server (/metrics, /ready,
// /targets, /reload). The server runs on loopback once per process; each input is written to a
// fresh connection, which is then half-closed. Whatever the bytes, the answer (if any) is an HTTP
// response, and the server still answers /ready afterwards.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "telemetry/http_server.h"
#include "telemetry/registry.h"

namespace {

using namespace skidder;

int StartServer() {
  static telemetry::Registry registry;
  registry.NewCounter("fuzz_total", "inputs").With({})->Add();
  telemetry::HttpServerOptions options;
  options.listen_address = "127.0.0.1";
  options.port = 0;
  options.path_prefix = "/p";
  options.enable_reload = true;
  // Short deadlines: a request cut off mid-line and half-closed is kept until they pass (AFL
  // counts it as a hang); the client's own 10 s receive timeout is only a backstop.
  options.idle_timeout = std::chrono::seconds(1);
  options.read_timeout = std::chrono::seconds(1);
  telemetry::HttpHandlers handlers;
  handlers.not_ready_reason = [] { return std::string(); };
  handlers.targets = [] { return std::string("job /var/log/x.log\n"); };
  handlers.reload = [] { return Status::Ok(); };
  static auto* server = new telemetry::HttpServer(options, &registry, handlers);  // never stopped
  auto port = server->Start();
  FUZZ_CHECK(port.has_value());
  return *port;
}

// Sends `request`, half-closes, and returns everything read until the server closes.
std::string Exchange(int port, std::string_view request) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  FUZZ_CHECK(fd >= 0);
  timeval tv{.tv_sec = 10, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  FUZZ_CHECK(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  // The server may answer (413, 431) and close before reading everything: stop writing then.
  while (!request.empty()) {
    ssize_t n = send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    if (n <= 0) break;
    request.remove_prefix(static_cast<size_t>(n));
  }
  shutdown(fd, SHUT_WR);
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = recv(fd, buf, sizeof(buf), 0)) > 0;) response.append(buf, n);
  close(fd);
  return response;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const int port = StartServer();
  std::string response = Exchange(port, {reinterpret_cast<const char*>(data), size});
  FUZZ_CHECK(response.empty() || response.starts_with("HTTP/1."));
  std::string ready =
      Exchange(port, "GET /p/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  FUZZ_CHECK(ready.starts_with("HTTP/1.1 200"));
  return 0;
}
