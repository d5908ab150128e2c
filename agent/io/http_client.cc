#include "io/http_client.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <mutex>

#include "io/curl_tls.h"

namespace skidder::io {

HttpResponse HttpClient::Get(const HttpRequest&) {
  HttpResponse resp;
  resp.transport_error = "this HTTP client cannot send GET requests";
  return resp;
}

namespace {

// Sets a PEM blob option; libcurl copies the bytes, so the blob only has to outlive the call.
void SetBlob(CURL* easy, CURLoption option, const std::string& pem) {
  curl_blob blob{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_COPY};
  curl_easy_setopt(easy, option, &blob);
}

using SteadyClock = std::chrono::steady_clock;

// What one transfer has seen so far; the libcurl callbacks and the driving loop share it (one
// thread).
struct Transfer {
  CURL* easy = nullptr;
  const HttpRequest* req = nullptr;
  std::string* body = nullptr;
  int final_status = 0;  // set when the headers of a final (non-1xx) response are complete
  SteadyClock::time_point headers_done{};
  SteadyClock::time_point last_byte{};
  bool stopped_reading = false;  // we ended the transfer on purpose: body too long or too slow
  bool aborted = false;          // on_body asked to stop
};

// Why the driving loop, rather than libcurl, ended a transfer.
enum class Stop { kNone, kCancelled, kIdle, kSlowBody };

bool Is2xx(int status) { return status >= 200 && status < 300; }

size_t OnHeader(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * nmemb;
  t->last_byte = SteadyClock::now();
  std::string_view line(data, n);
  if (line == "\r\n" || line == "\n") {  // end of one response's headers
    long code = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 200) {
      t->final_status = static_cast<int>(code);
      t->headers_done = t->last_byte;
    }
  }
  return n;
}

size_t WriteBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * nmemb;
  t->last_byte = SteadyClock::now();
  const HttpRequest& req = *t->req;
  const bool ok = Is2xx(t->final_status);
  if (ok && req.on_body) {
    if (req.on_body(std::string_view(data, n))) return n;
    t->aborted = true;
    return 0;  // ends the transfer
  }
  const size_t limit = req.max_body > 0           ? req.max_body
                       : ok && !req.read_2xx_body ? HttpResponse::kMax2xxBody
                                                  : HttpResponse::kMaxResponseBody;
  size_t room = limit - std::min(t->body->size(), limit);
  t->body->append(data, std::min(n, room));
  if (n > room) {
    t->stopped_reading = true;
    return 0;  // ends the transfer: the rest is not worth downloading
  }
  return n;
}

// The loop's own reasons to end a transfer early, checked between libcurl's steps.
Stop CheckStop(const Transfer& t, SteadyClock::time_point now) {
  const HttpRequest& req = *t.req;
  if (req.cancel != nullptr && req.cancel->load(std::memory_order_relaxed)) return Stop::kCancelled;
  if (req.idle_timeout.count() > 0 && now - t.last_byte >= req.idle_timeout) return Stop::kIdle;
  // The short look at a body: the status is the answer, a slow body is not waited for.
  const bool short_look = req.max_body == 0 && !req.on_body;
  if (short_look && t.final_status != 0 && now - t.headers_done > HttpResponse::kBodyGrace) {
    return Stop::kSlowBody;
  }
  return Stop::kNone;
}

// How long the loop may wait for socket activity before looking at CheckStop again.
int PollMs(const Transfer& t, SteadyClock::time_point now) {
  auto wait = HttpResponse::kCancelPoll;
  if (t.req->idle_timeout.count() > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(t.req->idle_timeout -
                                                                      (now - t.last_byte));
    wait = std::clamp(left + std::chrono::milliseconds(1), std::chrono::milliseconds(1), wait);
  }
  return static_cast<int>(wait.count());
}

// Proxy, redirects and HTTP version, as Promtail's HTTP client settings say. libcurl would use
// the environment's proxy by default; Promtail does not unless proxy_from_environment is set.
void SetRoutingOptions(CURL* easy, const HttpRequest& req) {
  if (!req.proxy_url.empty()) {
    curl_easy_setopt(easy, CURLOPT_PROXY, req.proxy_url.c_str());
    if (!req.no_proxy.empty()) curl_easy_setopt(easy, CURLOPT_NOPROXY, req.no_proxy.c_str());
  } else if (!req.proxy_from_environment) {
    curl_easy_setopt(easy, CURLOPT_PROXY, "");
  }
  if (req.follow_redirects) {
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(easy, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(easy, CURLOPT_POSTREDIR, static_cast<long>(CURL_REDIR_POST_ALL));
  }
  if (!req.http2) curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
}

void SetTransportOptions(CURL* easy, const HttpRequest& req, Transfer* t) {
  if (req.timeout.count() > 0) {
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
  }
  if (req.connect_timeout.count() > 0) {
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(req.connect_timeout.count()));
  }
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
  // Keepalive probes find a half-open connection (node or load balancer gone) long before a
  // watch's idle timeout or a push's timeout does.
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPIDLE, 30L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPINTVL, 15L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  if (req.accept_compressed) curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
  SetRoutingOptions(easy, req);
  SetTlsOptions(easy, req.tls);
  // A proxy's "200 Connection established" must never be taken for the server's answer.
  curl_easy_setopt(easy, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, t);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &WriteBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, t);
}

curl_slist* BuildHeaders(const HttpRequest& req) {
  curl_slist* list = nullptr;
  std::string line;
  for (const auto& [name, value] : req.headers) {
    if (!ValidHeader(name, value)) continue;  // never let a value split the request
    line.assign(name).append(": ").append(value);
    list = curl_slist_append(list, line.c_str());
  }
  // libcurl would wait up to a second for "100 Continue" on large bodies; Loki never sends it.
  list = curl_slist_append(list, "Expect:");
  return list;
}

// For a TLS server_name other than the URL's host: the URL to give libcurl (host replaced), the
// CONNECT_TO route back to the real host, and the Host header the server expects. Empty when
// nothing needs rewriting or the URL does not parse.
struct ServerNameRoute {
  std::string url, connect_to, host_header;
};

ServerNameRoute RouteForServerName(const HttpRequest& req) {
  ServerNameRoute route;
  if (ServerNameApplies(req.url, req.tls.server_name)) return route;
  CURLU* u = curl_url();
  char* host = nullptr;
  char* port = nullptr;
  char* rewritten = nullptr;
  if (curl_url_set(u, CURLUPART_URL, req.url.c_str(), 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
      curl_url_set(u, CURLUPART_HOST, req.tls.server_name.c_str(), 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_URL, &rewritten, 0) == CURLUE_OK) {
    route.url = rewritten;
    route.connect_to = req.tls.server_name + ":" + port + ":" + host + ":" + port;
    route.host_header = "Host: " + UrlHost(RedactUrl(req.url));
  }
  curl_free(host);
  curl_free(port);
  curl_free(rewritten);
  curl_url_cleanup(u);
  return route;
}

std::string StopMessage(Stop stop, const HttpRequest& req, const Transfer& t) {
  switch (stop) {
    case Stop::kCancelled:
      return "request cancelled";
    case Stop::kIdle:
      return fmt::format("nothing received for {} ms", req.idle_timeout.count());
    default:
      break;
  }
  if (t.stopped_reading) return "response body not read to its end (too long or too slow)";
  if (t.aborted) return "response body not read to its end (the reader stopped)";
  return {};
}

// Drives transfers through a multi handle rather than curl_easy_perform, so that a cancel flag,
// Wake() and an idle timeout are seen between libcurl's steps. The easy handle stays, and the
// multi handle holds the connection cache: consecutive requests reuse the keep-alive connection.
class CurlHttpClient final : public HttpClient {
 public:
  CurlHttpClient() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    easy_ = curl_easy_init();
    multi_ = curl_multi_init();
  }
  ~CurlHttpClient() override {
    if (easy_ != nullptr) curl_easy_cleanup(easy_);
    if (multi_ != nullptr) curl_multi_cleanup(multi_);
  }
  CurlHttpClient(const CurlHttpClient&) = delete;
  CurlHttpClient& operator=(const CurlHttpClient&) = delete;

  HttpResponse Post(const HttpRequest& req) override { return Perform(req, /*post=*/true); }
  HttpResponse Get(const HttpRequest& req) override { return Perform(req, /*post=*/false); }
  void Wake() override {
    if (multi_ != nullptr) curl_multi_wakeup(multi_);
  }

 private:
  HttpResponse Perform(const HttpRequest& req, bool post);
  CURLcode Drive(Transfer& t, Stop& stop);
  void Finish(const HttpRequest& req, const Transfer& t, CURLcode rc, Stop stop, const char* errbuf,
              HttpResponse& resp);

  CURL* easy_ = nullptr;
  CURLM* multi_ = nullptr;
};

CURLcode CurlHttpClient::Drive(Transfer& t, Stop& stop) {
  t.last_byte = SteadyClock::now();
  curl_multi_add_handle(multi_, easy_);
  CURLcode result = CURLE_OK;
  while (true) {
    int running = 0;
    if (curl_multi_perform(multi_, &running) != CURLM_OK) {
      result = CURLE_FAILED_INIT;
      break;
    }
    if (running == 0) {
      int queued = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy_) result = msg->data.result;
      }
      break;
    }
    const auto now = SteadyClock::now();
    stop = CheckStop(t, now);
    if (stop != Stop::kNone) {
      result = stop == Stop::kIdle ? CURLE_OPERATION_TIMEDOUT : CURLE_ABORTED_BY_CALLBACK;
      t.stopped_reading = stop == Stop::kSlowBody;
      break;
    }
    curl_multi_poll(multi_, nullptr, 0, PollMs(t, now), nullptr);
  }
  curl_multi_remove_handle(multi_, easy_);
  return result;
}

HttpResponse CurlHttpClient::Perform(const HttpRequest& req, bool post) {
  HttpResponse resp;
  if (easy_ == nullptr || multi_ == nullptr) {
    resp.transport_error = "libcurl initialisation failed";
    resp.curl_code = CURLE_FAILED_INIT;
    return resp;
  }
  if (req.cancel != nullptr && req.cancel->load()) {
    resp.cancelled = true;
    resp.transport_error = "request cancelled";
    resp.curl_code = CURLE_ABORTED_BY_CALLBACK;
    return resp;
  }
  // Reset drops the previous request's options but keeps the connection cache (keep-alive).
  curl_easy_reset(easy_);
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, errbuf);
  ServerNameRoute route = RouteForServerName(req);
  curl_easy_setopt(easy_, CURLOPT_URL, route.url.empty() ? req.url.c_str() : route.url.c_str());
  curl_slist* connect_to = nullptr;
  if (!route.url.empty()) {
    connect_to = curl_slist_append(connect_to, route.connect_to.c_str());
    curl_easy_setopt(easy_, CURLOPT_CONNECT_TO, connect_to);
  }
  if (post) {
    curl_easy_setopt(easy_, CURLOPT_POST, 1L);
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  } else {
    curl_easy_setopt(easy_, CURLOPT_HTTPGET, 1L);
  }
  curl_slist* headers = BuildHeaders(req);
  if (!route.host_header.empty()) headers = curl_slist_append(headers, route.host_header.c_str());
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers);
  // Set (or cleared) on every request: the easy handle is reused and must never keep a pointer to
  // a previous request's freed list.
  curl_slist* proxy_headers = nullptr;
  for (const std::string& line : req.proxy_connect_header) {
    proxy_headers = curl_slist_append(proxy_headers, line.c_str());
  }
  curl_easy_setopt(easy_, CURLOPT_HEADEROPT, CURLHEADER_SEPARATE);
  curl_easy_setopt(easy_, CURLOPT_PROXYHEADER, proxy_headers);
  Transfer t{.easy = easy_, .req = &req, .body = &resp.body};
  SetTransportOptions(easy_, req, &t);

  Stop stop = Stop::kNone;
  CURLcode rc = Drive(t, stop);
  curl_slist_free_all(headers);
  curl_slist_free_all(proxy_headers);
  curl_slist_free_all(connect_to);
  Finish(req, t, rc, stop, errbuf, resp);
  return resp;
}

void CurlHttpClient::Finish(const HttpRequest& req, const Transfer& t, CURLcode rc, Stop stop,
                            const char* errbuf, HttpResponse& resp) {
  resp.curl_code = static_cast<int>(rc);
  resp.status = t.final_status;
  resp.body_truncated = t.stopped_reading;
  resp.cancelled = stop == Stop::kCancelled;
  resp.idle_timeout = stop == Stop::kIdle;
  resp.aborted = t.aborted;
  if (resp.status == 429 || resp.status == 503) {
    curl_off_t retry_after = 0;  // libcurl parses both forms, as seconds from now
    if (curl_easy_getinfo(easy_, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK &&
        retry_after > 0) {
      resp.retry_after = std::chrono::seconds(retry_after);
    }
  }
  if (rc == CURLE_OK) return;
  std::string msg = StopMessage(stop, req, t);
  if (msg.empty()) {
    msg = curl_easy_strerror(rc);
    if (errbuf[0] != '\0') msg.append(": ").append(errbuf);
  }
  resp.transport_error = ScrubUrlSecrets(std::move(msg), req.url, req.proxy_url);
  // No final status: whatever arrived belongs to no answer. With one, the body read so far is
  // the start of the server's message and the status stands.
  if (resp.status == 0) resp.body.clear();
}

}  // namespace

// Every TLS decision of the agent's HTTP traffic, Loki and Kubernetes alike.
void SetTlsOptions(CURL* easy, const TlsOptions& tls) {
  // libcurl keeps a parsed CA store for a day by default (CURLOPT_CA_CACHE_TIMEOUT): a rotated
  // ca_file (cert-manager, trust-manager) must count from the next connection on.
  curl_easy_setopt(easy, CURLOPT_CA_CACHE_TIMEOUT, 0L);
  if (!tls.ca_pem.empty()) {
    SetBlob(easy, CURLOPT_CAINFO_BLOB, tls.ca_pem);
  } else if (!tls.ca_file.empty()) {
    curl_easy_setopt(easy, CURLOPT_CAINFO, tls.ca_file.c_str());
  }
  // Exactly this bundle, as Promtail's ca_file: not also the system's CA directory that Debian's
  // libcurl adds by default.
  if (!tls.ca_pem.empty() || !tls.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAPATH, nullptr);
  if (!tls.cert_pem.empty()) {
    SetBlob(easy, CURLOPT_SSLCERT_BLOB, tls.cert_pem);
    curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
  } else if (!tls.cert_file.empty()) {
    curl_easy_setopt(easy, CURLOPT_SSLCERT, tls.cert_file.c_str());
  }
  if (!tls.key_pem.empty()) {
    SetBlob(easy, CURLOPT_SSLKEY_BLOB, tls.key_pem);
    curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
  } else if (!tls.key_file.empty()) {
    curl_easy_setopt(easy, CURLOPT_SSLKEY, tls.key_file.c_str());
  }
  if (tls.insecure_skip_verify) {
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (long v = CurlSslVersion(tls.min_version, tls.max_version); v != 0) {
    curl_easy_setopt(easy, CURLOPT_SSLVERSION, v);
  }
}

std::unique_ptr<HttpClient> NewCurlHttpClient() { return std::make_unique<CurlHttpClient>(); }

}  // namespace skidder::io
