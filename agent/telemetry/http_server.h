// The agent's own HTTP endpoints: /metrics, /ready, /targets and (opt-in) POST /reload.
//
// Read-only except /reload. Runs cpp-httplib's listener thread pool; handlers only read
// thread-safe state through the callbacks given at construction. Malformed requests get a 4xx
// from the HTTP layer and never reach the agent.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "telemetry/registry.h"
#include "util/status.h"

namespace skidder::telemetry {

struct HttpServerOptions {
  std::string listen_address = "0.0.0.0";
  int port = 9080;          // 0 = any free port
  std::string path_prefix;  // e.g. "/skidder"
  bool enable_reload = false;
};

struct HttpHandlers {
  // "" when ready; otherwise why not (returned with 503).
  std::function<std::string()> not_ready_reason;
  // Plain-text listing of active targets and files.
  std::function<std::string()> targets;
  // Applies a new config; returns the error to show (and keeps the old config) on failure.
  std::function<Status()> reload;
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, Registry* registry, HttpHandlers handlers);
  ~HttpServer();
  // Binds and starts serving; returns the bound port.
  Result<int> Start();
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace skidder::telemetry
