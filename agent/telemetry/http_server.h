// The agent's own HTTP endpoints: /metrics, /ready, /targets and (opt-in) POST /reload; and the
// server of a `loki_push_api` job: /ready and POST endpoints that take a body (HttpHandlers::body),
// answered asynchronously once the handler replies (the connection waits suspended, holding no
// thread).
//
// Anyone on the pod network may reach this port, so the server is built to stay responsive and
// cheap under hostile clients: one epoll thread (libmicrohttpd) serves every connection, so idle
// or slow connections hold no worker; a connection cap derived from RLIMIT_NOFILE keeps
// descriptors for log files and Loki; a per-address cap keeps one client from filling it; idle
// and read deadlines close connections that send nothing or trickle a request; headers past
// their limits get 431, and a body longer than the limit (by Content-Length) or of unknown
// length (chunked) gets 413 before any of it is read, except on body endpoints, where a chunked
// body is read up to the limit and the connection dropped past it. Handlers only read thread-safe
// state through the callbacks given at construction. Start() and Stop() are called from one
// thread; a body handler must have replied to every request before Stop(). With options.tls it
// serves HTTPS only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "telemetry/registry.h"
#include "util/status.h"

namespace skidder::telemetry {

struct TlsMaterial;  // telemetry/http_tls.h

struct HttpServerOptions {
  std::string listen_address = "0.0.0.0";  // "" = all interfaces, IPv4 and IPv6
  int port = 9080;                         // 0 = any free port
  // What sets the port, for the hint when it cannot be bound: the config's key or the flag.
  std::string port_key = "server.http_listen_port";
  std::string path_prefix;  // e.g. "/skidder"
  bool enable_reload = false;
  // Open connections at most; 0 = ConnectionLimitFor(the RLIMIT_NOFILE soft limit).
  int max_connections = 0;
  // Open connections per client address at most; 0 = a quarter of max_connections (at least 4),
  // so one client cannot take every slot from the kubelet's probes.
  int max_connections_per_ip = 0;
  // A connection that sends nothing for this long is closed (rounded up to whole seconds).
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(30);
  // A request's headers and body must arrive within this of its request line; a connection must
  // start a request within idle_timeout + read_timeout of opening or of its previous response.
  std::chrono::milliseconds read_timeout = std::chrono::seconds(10);
  size_t max_header_bytes = 16 * 1024;  // request line and headers together
  int max_headers = 64;
  size_t max_body_bytes = 64 * 1024;  // by Content-Length; chunked bodies only on body paths
  // Bodies being received at once, every connection's together, counted as they arrive (the
  // first MiB of an announced one at its headers): a request whose first MiB would take them
  // past half of it is answered 429 with Retry-After before its body is read (the other half is
  // room for bodies already coming to grow); a body that outgrows the whole is cut off (the
  // connection dropped: the sender sends again). 0: twice max_body_bytes. Without it, every
  // connection could hold a max_body_bytes body.
  size_t max_receiving_bytes = 0;
  // /metrics, /targets and /reload; off for a push server, which serves /ready and body paths.
  bool telemetry_endpoints = true;
  // HTTPS with this certificate (LoadTls, http_tls.h); null: plain HTTP. Loaded before the
  // server is built, so that a reload with an unusable certificate is refused while the running
  // config still serves.
  std::shared_ptr<const TlsMaterial> tls;
};

// A request to a body endpoint, complete with its body.
struct HttpBodyRequest {
  std::string path;  // without the prefix
  std::string content_type, content_encoding;
  std::string tenant;  // X-Scope-OrgID
  // The URL's query parameters, decoded, in their order (a name may repeat; a name without a
  // value has "").
  std::vector<std::pair<std::string, std::string>> query;
  std::string body;
};

struct HttpReply {
  int status = 204;
  std::string body;
  std::string retry_after;  // Retry-After header when not empty
};

// The connection cap for a process allowed `nofile` descriptors: an eighth of them, between 8
// and 512, so files and Loki connections always keep the rest.
int ConnectionLimitFor(uint64_t nofile);

struct HttpHandlers {
  // "" when ready; otherwise why not (returned with 503).
  std::function<std::string()> not_ready_reason;
  // Plain-text listing of active targets and files.
  std::function<std::string()> targets;
  // Applies a new config; returns the error to show (and keeps the old config) on failure.
  // Runs on a thread of its own, so /metrics and /ready keep answering during a reload.
  std::function<Status()> reload;
  // POST paths (after the prefix) whose body is read and handed to `body`.
  std::vector<std::string> body_paths;
  // Before a body is read: a reply refuses the request at once (e.g. 429 while backed up).
  // tenant: the request's X-Scope-OrgID ("" without one).
  std::function<std::optional<HttpReply>(const std::string& path, const std::string& tenant)>
      admit_body;
  // The body has arrived. Runs on the server's thread and must not block; the reply function
  // must be called exactly once, from any thread, now or later (the connection waits for it).
  std::function<void(HttpBodyRequest&&, std::function<void(HttpReply)>)> body;
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, Registry* registry, HttpHandlers handlers);
  ~HttpServer();
  // Binds and starts serving; returns the bound port.
  Result<int> Start();
  // Stops accepting, lets responses in flight finish (briefly), closes every connection.
  void Stop();
  // The connection caps in force once started (resolved from the options).
  int max_connections() const;
  int max_connections_per_ip() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace skidder::telemetry
