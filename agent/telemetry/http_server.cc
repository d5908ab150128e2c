// libmicrohttpd in epoll mode rather than cpp-httplib: httplib gives each connection a worker
// thread for as long as it is open, so a few idle or slow clients starve /ready, and it reads a
// chunked body whole before checking its size. See http_server.h for the defences.
#include "telemetry/http_server.h"

#include <fmt/format.h>
#include <microhttpd.h>
#include <netdb.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstring>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "telemetry/http_server_impl.h"

namespace skidder::telemetry {

MHD_Result Respond(MHD_Connection* c, unsigned status, std::string_view body, const char* type,
                   bool close, std::string_view retry_after) {
  MHD_Response* r = MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()),
                                                    MHD_RESPMEM_MUST_COPY);
  if (r == nullptr) return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  // After a refusal the rest of the request is never read: the connection cannot be reused.
  if (close) MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
  if (!retry_after.empty()) {
    MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, std::string(retry_after).c_str());
  }
  MHD_Result ok = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ok;
}

namespace {

struct HeaderTally {
  int count = 0;
  size_t bytes = 0;
  static MHD_Result Add(void* cls, MHD_ValueKind, const char* key, const char* value) {
    auto* t = static_cast<HeaderTally*>(cls);
    ++t->count;
    t->bytes += std::strlen(key) + (value ? std::strlen(value) : 0) + 4;  // ": " and CRLF
    return MHD_YES;
  }
};

std::optional<uint64_t> ContentLength(MHD_Connection* c) {
  const char* v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (v == nullptr) return std::nullopt;
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(v, v + std::strlen(v), n);
  if (ec != std::errc() || *end != '\0') return UINT64_MAX;  // MHD refuses these itself
  return n;
}

// Whether the kernel has IPv6 at all (not booted with ipv6.disable=1).
bool HaveIpv6() {
  const int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

}  // namespace

int ConnectionLimitFor(uint64_t nofile) {
  return static_cast<int>(std::clamp<uint64_t>(nofile / 8, 8, 512));
}

MHD_Result HttpServer::Impl::Handle(MHD_Connection* c, std::string_view url,
                                    std::string_view method, const char* upload,
                                    size_t* upload_size, Request* req) {
  if (!req->routed) {
    req->routed = true;
    if (options.tls) {
      if (std::string why = ClientCertProblem(c, *options.tls); !why.empty()) {
        deadlines->OnRequestRead(ConnOf(c));
        return Respond(c, MHD_HTTP_FORBIDDEN, why + "\n", kText, true);
      }
    }
    if (auto refused = Refuse(c, url, method, req)) return *refused;
    return Route(c, url, method, req);
  }
  if (req->is_body) return Body(c, upload, upload_size, req);
  if (*upload_size > 0) {  // a piece of a body within its declared length: count it, keep nothing
    req->body_bytes += *upload_size;
    *upload_size = 0;
    // Cannot happen (the length was checked); libmicrohttpd cannot answer mid-body: drop it.
    return req->body_bytes > options.max_body_bytes ? MHD_NO : MHD_YES;
  }
  return req->is_reload ? Reload(c, req) : MHD_YES;
}

std::optional<MHD_Result> HttpServer::Impl::Refuse(MHD_Connection* c, std::string_view url,
                                                   std::string_view method, Request* req) {
  HeaderTally tally;
  MHD_get_connection_values(c, MHD_HEADER_KIND, &HeaderTally::Add, &tally);
  auto length = ContentLength(c);
  bool chunked =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING) != nullptr;
  req->has_body = chunked || length.value_or(0) > 0;
  req->announced = length.value_or(0);
  // A body endpoint reads a chunked body up to the limit (Body() drops the connection past it).
  const bool refuse_chunked = chunked && !IsBodyPath(url, method);
  if (tally.count <= options.max_headers &&
      tally.bytes + url.size() + method.size() <= options.max_header_bytes &&
      length.value_or(0) <= options.max_body_bytes && !refuse_chunked) {
    // Room for the announced body up front, but not for a 100 MB one per connection before a
    // byte of it came: a few hundred connections announcing large bodies would commit tens of
    // gigabytes (bad_alloc under strict overcommit, on the server's thread: std::terminate).
    if (length) req->body.body.reserve(std::min<uint64_t>(*length, kBodyUpFront));
    return std::nullopt;
  }
  // Answered before any of the body is read, and the connection closes: the rest never is.
  deadlines->OnRequestRead(ConnOf(c));
  if (length.value_or(0) > options.max_body_bytes || refuse_chunked) {
    // No endpoint takes a body, and libmicrohttpd can only answer before a body or after all
    // of it: a body of unknown length is refused before its first byte rather than read.
    std::string why =
        refuse_chunked ? "request body too large: send no body (chunked bodies are refused)\n"
        : IsBodyPath(url, method)
            ? fmt::format("request body too large: at most {} bytes\n", options.max_body_bytes)
            : "request body too large: send no body\n";
    return Respond(c, MHD_HTTP_CONTENT_TOO_LARGE, why, kText, true);
  }
  return Respond(c, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE,
                 "request headers too many or too large\n", kText, true);
}

MHD_Result HttpServer::Impl::Route(MHD_Connection* c, std::string_view url, std::string_view method,
                                   Request* req) {
  const std::string& p = options.path_prefix;
  std::string_view path = url;
  bool known = path.starts_with(p);
  if (known) path.remove_prefix(p.size());
  if (known && IsBodyPath(url, method)) return StartBody(c, path, req);
  const bool body_path =
      known && std::ranges::find(handlers.body_paths, path) != handlers.body_paths.end();
  if (body_path) {  // not a POST
    deadlines->OnRequestRead(ConnOf(c));
    return Respond(c, MHD_HTTP_METHOD_NOT_ALLOWED, "use POST\n", kText, req->has_body);
  }
  known = known &&
          (path == "/ready" || (options.telemetry_endpoints &&
                                (path == "/metrics" || path == "/targets" || path == "/reload")));
  bool reload = known && path == "/reload";
  if (reload && method == "POST" && options.enable_reload && handlers.reload) {
    req->is_reload = true;  // answered once the (ignored) body, if any, has arrived
    return MHD_YES;
  }
  deadlines->OnRequestRead(ConnOf(c));
  // The body of a request answered now is not read: the connection cannot be reused.
  bool close = req->has_body;
  if (reload && method == "POST") {
    return Respond(c, MHD_HTTP_NOT_FOUND,
                   "runtime reload is disabled (server.enable_runtime_reload)\n", kText, close);
  }
  if (!known) return Respond(c, MHD_HTTP_NOT_FOUND, "not found\n", kText, close);
  if (reload || (method != "GET" && method != "HEAD")) {
    return Respond(c, MHD_HTTP_METHOD_NOT_ALLOWED, reload ? "use POST\n" : "use GET\n", kText,
                   close);
  }
  if (path == "/metrics") {
    return Respond(c, MHD_HTTP_OK, registry->Render(), "text/plain; version=0.0.4; charset=utf-8",
                   close);
  }
  if (path == "/targets") {
    return Respond(c, MHD_HTTP_OK, handlers.targets ? handlers.targets() : "", kText, close);
  }
  std::string reason = handlers.not_ready_reason ? handlers.not_ready_reason() : "";
  if (reason.empty()) return Respond(c, MHD_HTTP_OK, "Ready\n", kText, close);
  return Respond(c, MHD_HTTP_SERVICE_UNAVAILABLE, "Not ready: " + reason + "\n", kText, close);
}

MHD_Result HttpServer::Impl::Reload(MHD_Connection* c, Request* req) {
  deadlines->OnRequestRead(ConnOf(c));
  if (req->reload_done) {
    if (req->reload_result.ok()) return Respond(c, MHD_HTTP_OK, "config reloaded\n");
    return Respond(c, MHD_HTTP_BAD_REQUEST,
                   "reload refused, old config kept: " + req->reload_result.message() + "\n");
  }
  if (reloading.exchange(true)) {
    return Respond(c, MHD_HTTP_CONFLICT, "a reload is already running; try again\n");
  }
  // Validating a config can take a while; the event thread goes on serving /ready meanwhile.
  std::lock_guard lock(reload_mu);
  if (reload_thread.joinable()) reload_thread.join();  // the previous one, finished
  MHD_suspend_connection(c);
  reload_thread = std::thread([this, c, req] {
    req->reload_result = handlers.reload();
    req->reload_done = true;
    reloading = false;
    MHD_resume_connection(c);
  });
  return MHD_YES;
}

MHD_Result HttpServer::Impl::OnAccess(void* cls, MHD_Connection* c, const char* url,
                                      const char* method, const char* /*version*/,
                                      const char* upload, size_t* upload_size, void** con_cls) {
  auto* req = static_cast<Request*>(*con_cls);
  if (req == nullptr) *con_cls = req = new Request;
  return static_cast<HttpServer::Impl*>(cls)->Handle(c, url, method, upload, upload_size, req);
}

// Query parameters as Go's url.ParseQuery reads them (Promtail's heroku_drain labels): '+' is a
// space, then %XX; libmicrohttpd's default decodes %XX only. It unescapes the path with this
// too, which is harmless: no path served holds a '+'.
static size_t UnescapeQuery(void* /*cls*/, MHD_Connection* /*c*/, char* s) {
  for (char* p = s; *p != '\0'; ++p) {
    if (*p == '+') *p = ' ';
  }
  return MHD_http_unescape(s);
}

// The request line has arrived: its headers and body now have read_timeout to follow.
void* HttpServer::Impl::OnRequestLine(void* cls, const char* /*uri*/, MHD_Connection* c) {
  auto* impl = static_cast<HttpServer::Impl*>(cls);
  impl->deadlines->OnRequestStarted(impl->ConnOf(c));
  return nullptr;
}

void HttpServer::Impl::OnCompleted(void* cls, MHD_Connection* c, void** con_cls,
                                   MHD_RequestTerminationCode) {
  auto* req = static_cast<Request*>(*con_cls);
  auto* impl = static_cast<HttpServer::Impl*>(cls);
  if (req != nullptr && req->state) {
    std::lock_guard lock(req->state->mu);
    req->state->closed = true;
  }
  if (req != nullptr) impl->Release(req);  // a body cut off before it was whole
  delete req;
  *con_cls = nullptr;
  impl->deadlines->OnResponseSent(impl->ConnOf(c));
}

void HttpServer::Impl::OnConnection(void* cls, MHD_Connection* c, void** socket_context,
                                    MHD_ConnectionNotificationCode code) {
  auto* impl = static_cast<HttpServer::Impl*>(cls);
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    if (impl->credentials) impl->credentials->Attach(c);  // before the handshake
    const MHD_ConnectionInfo* i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (i != nullptr) *socket_context = impl->deadlines->OnOpened(i->connect_fd);
  } else {
    if (impl->credentials) impl->credentials->Detach(c);
    impl->deadlines->OnClosed(static_cast<ConnectionDeadlines::Conn*>(*socket_context));
    *socket_context = nullptr;
  }
}

Result<int> HttpServer::Impl::Start() {
  // Every interface: "::" dual-stack (MHD_USE_DUAL_STACK below), as Go's ":9080" listens, so
  // that an IPv6-only cluster's kubelet can probe the pod; 0.0.0.0 where there is no IPv6.
  const bool any = options.listen_address.empty();
  std::string addr = !any ? options.listen_address : HaveIpv6() ? "::" : "0.0.0.0";
  std::string where = (any ? "" : addr) + ":" + std::to_string(options.port);
  addrinfo hints{};
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int e = getaddrinfo(addr.c_str(), std::to_string(options.port).c_str(), &hints, &found);
      e != 0) {
    return Err(InvalidArgument("cannot listen on " + where + ": " + gai_strerror(e)));
  }
  sockaddr_storage bind_addr{};
  std::memcpy(&bind_addr, found->ai_addr, found->ai_addrlen);
  bool v6 = found->ai_family == AF_INET6;
  freeaddrinfo(found);

  // libmicrohttpd copies the PEM text into GnuTLS when it starts; options.tls outlives that.
  // Each connection then gets ServerCredentials' (the files as they are when it opens).
  std::vector<MHD_OptionItem> tls_options;
  if (const TlsMaterial* tls = options.tls.get()) {
    credentials = std::make_unique<ServerCredentials>(options.tls);
    auto text = [](const std::string& s) { return const_cast<char*>(s.c_str()); };
    tls_options.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0, text(tls->cert_pem)});
    tls_options.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0, text(tls->key_pem)});
    // With CAs, libmicrohttpd asks the client for a certificate (ClientCertProblem checks it).
    if (!tls->ca_pem.empty()) {
      tls_options.push_back({MHD_OPTION_HTTPS_MEM_TRUST, 0, text(tls->ca_pem)});
    }
    tls_options.push_back({MHD_OPTION_HTTPS_PRIORITIES, 0, text(tls->priorities)});
  }
  tls_options.push_back({MHD_OPTION_END, 0, nullptr});

  auto& closed = registry->NewCounter(
      "skidder_http_connections_closed_total",
      "Connections to the HTTP server it closed: a request too slow to arrive (read_timeout), or "
      "the longest-waiting one when the connection cap was nearly reached (evicted).",
      {"reason"});
  deadlines = std::make_unique<ConnectionDeadlines>(
      options.idle_timeout + options.read_timeout, options.read_timeout, max_connections,
      closed.With({"read_timeout"}), closed.With({"evicted"}));
  deadlines->Start();
  unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME;
  if (v6) flags |= MHD_USE_DUAL_STACK;
  if (options.tls) flags |= MHD_USE_TLS;
  auto idle_s =
      static_cast<unsigned>(std::max<int64_t>(1, (options.idle_timeout.count() + 999) / 1000));
  // libmicrohttpd answers 431 itself when the request line and headers outgrow its pool.
  size_t pool = 2 * options.max_header_bytes + 8 * 1024;
  daemon = MHD_start_daemon(
      flags, static_cast<uint16_t>(options.port), nullptr, nullptr, &OnAccess, this,
      MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&bind_addr), MHD_OPTION_CONNECTION_LIMIT,
      static_cast<unsigned>(max_connections), MHD_OPTION_PER_IP_CONNECTION_LIMIT,
      static_cast<unsigned>(per_ip), MHD_OPTION_CONNECTION_TIMEOUT, idle_s,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool, MHD_OPTION_NOTIFY_CONNECTION, &OnConnection, this,
      MHD_OPTION_URI_LOG_CALLBACK, &OnRequestLine, this, MHD_OPTION_UNESCAPE_CALLBACK,
      &UnescapeQuery, nullptr, MHD_OPTION_NOTIFY_COMPLETED, &OnCompleted, this, MHD_OPTION_ARRAY,
      tls_options.data(), MHD_OPTION_END);
  if (daemon == nullptr) {
    deadlines->Stop();
    return Err(
        Unavailable("cannot listen on " + where + " (port in use? set " + options.port_key + ")"));
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
  return info != nullptr ? static_cast<int>(info->port) : options.port;
}

void HttpServer::Impl::Stop() {
  if (daemon == nullptr) return;
  MHD_socket listener = MHD_quiesce_daemon(daemon);
  {
    std::lock_guard lock(reload_mu);
    if (reload_thread.joinable()) reload_thread.join();
  }
  // A reload's own answer is usually still in flight when the reload stops this server.
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (deadlines->Answering() > 0 && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  MHD_stop_daemon(daemon);
  daemon = nullptr;
  if (listener != MHD_INVALID_SOCKET) close(listener);
  deadlines->Stop();
}

HttpServer::HttpServer(HttpServerOptions options, Registry* registry, HttpHandlers handlers)
    : impl_(std::make_unique<Impl>(std::move(options), registry, std::move(handlers))) {}

HttpServer::~HttpServer() { Stop(); }

Result<int> HttpServer::Start() { return impl_->Start(); }
void HttpServer::Stop() { impl_->Stop(); }
int HttpServer::max_connections() const { return impl_->max_connections; }
int HttpServer::max_connections_per_ip() const { return impl_->per_ip; }

}  // namespace skidder::telemetry
