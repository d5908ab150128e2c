#include "telemetry/http_server.h"

#include <httplib.h>

#include <chrono>
#include <thread>

#include "util/log.h"

namespace skidder::telemetry {

class HttpServer::Impl {
 public:
  Impl(HttpServerOptions o, Registry* r, HttpHandlers h)
      : options(std::move(o)), registry(r), handlers(std::move(h)) {}

  void Route() {
    const std::string& p = options.path_prefix;
    server.Get(p + "/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(registry->Render(), "text/plain; version=0.0.4; charset=utf-8");
    });
    server.Get(p + "/ready", [this](const httplib::Request&, httplib::Response& res) {
      std::string reason = handlers.not_ready_reason ? handlers.not_ready_reason() : "";
      if (reason.empty()) {
        res.set_content("Ready\n", "text/plain");
      } else {
        res.status = 503;
        res.set_content("Not ready: " + reason + "\n", "text/plain");
      }
    });
    server.Get(p + "/targets", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(handlers.targets ? handlers.targets() : "", "text/plain; charset=utf-8");
    });
    server.Post(p + "/reload", [this](const httplib::Request&, httplib::Response& res) {
      if (!options.enable_reload || !handlers.reload) {
        res.status = 404;
        res.set_content("runtime reload is disabled (server.enable_runtime_reload)\n",
                        "text/plain");
        return;
      }
      Status s = handlers.reload();
      if (s.ok()) {
        res.set_content("config reloaded\n", "text/plain");
      } else {
        res.status = 400;
        res.set_content("reload refused, old config kept: " + s.message() + "\n", "text/plain");
      }
    });
    // Bound the damage a misbehaving client can do to a node agent.
    server.set_payload_max_length(64 * 1024);
    server.set_read_timeout(5, 0);
    server.set_write_timeout(5, 0);
    server.new_task_queue = [] { return new httplib::ThreadPool(2); };
  }

  HttpServerOptions options;
  Registry* registry;
  HttpHandlers handlers;
  httplib::Server server;
  std::thread thread;
};

HttpServer::HttpServer(HttpServerOptions options, Registry* registry, HttpHandlers handlers)
    : impl_(std::make_unique<Impl>(std::move(options), registry, std::move(handlers))) {}

HttpServer::~HttpServer() { Stop(); }

Result<int> HttpServer::Start() {
  impl_->Route();
  const std::string& addr = impl_->options.listen_address.empty() ? std::string("0.0.0.0")
                                                                  : impl_->options.listen_address;
  int port = impl_->options.port;
  if (port == 0) {
    port = impl_->server.bind_to_any_port(addr);
  } else if (!impl_->server.bind_to_port(addr, port)) {
    port = -1;
  }
  if (port < 0) {
    return Err(Unavailable("cannot listen on " + addr + ":" + std::to_string(impl_->options.port) +
                           " (port in use? set server.http_listen_port)"));
  }
  impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
  // httplib's stop() is a no-op until the listener thread has marked itself running; a stop
  // right after start (SIGTERM during startup) would otherwise leave accept() blocked forever.
  for (int i = 0; i < 5000 && !impl_->server.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return port;
}

void HttpServer::Stop() {
  if (impl_->thread.joinable()) {
    impl_->server.stop();
    impl_->thread.join();
  }
}

}  // namespace skidder::telemetry
