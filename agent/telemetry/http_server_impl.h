// Internal to telemetry/: the HTTP server's implementation, shared by http_server.cc (routing,
// limits, lifecycle) and http_body.cc (endpoints that take a body and answer asynchronously).
#pragma once

#include <microhttpd.h>
#include <sys/resource.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>

#include "telemetry/connection_deadlines.h"
#include "telemetry/http_server.h"
#include "telemetry/http_tls.h"

namespace skidder::telemetry {

inline constexpr const char* kText = "text/plain; charset=utf-8";
// The most of an announced body allocated, and counted against the receiving budget, before
// it arrives; the rest as it comes (a client announcing 100 MB and sending slowly holds what it
// sent, not what it announced).
inline constexpr uint64_t kBodyUpFront = 1 << 20;

// What a body request shares with the reply function handed to its handler, which may be called
// on any thread, and after the connection is gone (then it does nothing).
struct BodyState {
  std::mutex mu;
  std::optional<HttpReply> reply;
  MHD_Connection* conn = nullptr;
  bool suspended = false;  // waiting for the reply; the reply resumes it
  bool closed = false;     // the request completed (or the connection went): reply is a no-op
};

// One request's state, from its request line to its completion.
struct Request {
  bool routed = false;
  bool is_reload = false;
  bool reload_done = false;
  bool has_body = false;
  bool is_body = false;     // a body endpoint: the body is kept and handed on
  bool dispatched = false;  // the body went to the handler
  uint64_t body_bytes = 0;
  uint64_t announced = 0;  // Content-Length (0 when chunked or absent)
  uint64_t reserved = 0;   // of the server's receiving_bytes, until dispatched or completed
  Status reload_result;
  HttpBodyRequest body;
  std::shared_ptr<BodyState> state;
};

MHD_Result Respond(MHD_Connection* c, unsigned status, std::string_view body,
                   const char* type = kText, bool close = false, std::string_view retry_after = {});

class HttpServer::Impl {
 public:
  Impl(HttpServerOptions o, Registry* r, HttpHandlers h)
      : options(std::move(o)), registry(r), handlers(std::move(h)) {
    ResolveLimits();
  }

  void ResolveLimits() {
    max_connections = options.max_connections;
    if (max_connections <= 0) {
      rlimit rl{};
      uint64_t nofile =
          getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? rl.rlim_cur : 1024;
      max_connections = ConnectionLimitFor(nofile);
    }
    per_ip = options.max_connections_per_ip > 0 ? options.max_connections_per_ip
                                                : std::max(4, max_connections / 4);
  }

  Result<int> Start();
  void Stop();
  MHD_Result Handle(MHD_Connection* c, std::string_view url, std::string_view method,
                    const char* upload, size_t* upload_size, Request* req);
  std::optional<MHD_Result> Refuse(MHD_Connection* c, std::string_view url, std::string_view method,
                                   Request* req);
  MHD_Result Route(MHD_Connection* c, std::string_view url, std::string_view method, Request* req);
  MHD_Result Reload(MHD_Connection* c, Request* req);
  // Body endpoints (http_body.cc).
  bool IsBodyPath(std::string_view url, std::string_view method) const;
  MHD_Result StartBody(MHD_Connection* c, std::string_view path, Request* req);
  MHD_Result Body(MHD_Connection* c, const char* upload, size_t* upload_size, Request* req);
  // Gives back what the request reserved of receiving_bytes.
  void Release(Request* req) {
    receiving_bytes -= req->reserved;
    req->reserved = 0;
  }
  uint64_t ReceivingBudget() const {
    if (options.max_receiving_bytes > 0) return options.max_receiving_bytes;
    return options.max_body_bytes > UINT64_MAX / 2 ? UINT64_MAX : 2 * options.max_body_bytes;
  }
  // libmicrohttpd's callbacks; cls is the Impl.
  static MHD_Result OnAccess(void* cls, MHD_Connection* c, const char* url, const char* method,
                             const char* version, const char* upload, size_t* upload_size,
                             void** con_cls);
  static void* OnRequestLine(void* cls, const char* uri, MHD_Connection* c);
  static void OnCompleted(void* cls, MHD_Connection* c, void** con_cls, MHD_RequestTerminationCode);
  static void OnConnection(void* cls, MHD_Connection* c, void** socket_context,
                           MHD_ConnectionNotificationCode code);
  ConnectionDeadlines::Conn* ConnOf(MHD_Connection* c) {
    const MHD_ConnectionInfo* i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return i == nullptr ? nullptr : static_cast<ConnectionDeadlines::Conn*>(i->socket_context);
  }

  HttpServerOptions options;
  Registry* registry;
  HttpHandlers handlers;
  int max_connections = 0, per_ip = 0;
  std::unique_ptr<ConnectionDeadlines> deadlines;
  std::unique_ptr<ServerCredentials> credentials;  // HTTPS: each connection's, from Start()
  // Bytes reserved by bodies being received (the event thread's only; see max_receiving_bytes).
  uint64_t receiving_bytes = 0;
  MHD_Daemon* daemon = nullptr;
  // At most one reload runs at a time, on this thread, while its connection is suspended.
  std::mutex reload_mu;
  std::thread reload_thread;
  std::atomic<bool> reloading{false};
};

}  // namespace skidder::telemetry
