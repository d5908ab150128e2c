#include "io/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <vector>

#include "util/redact.h"

namespace skidder::io {
namespace {

// Authority part of a URL: between "scheme://" and the first '/', '?' or '#'.
std::pair<size_t, size_t> AuthorityRange(std::string_view url) {
  size_t start = url.find("://");
  start = start == std::string_view::npos ? 0 : start + 3;
  size_t end = url.find_first_of("/?#", start);
  if (end == std::string_view::npos) end = url.size();
  return {start, end};
}

// "user:password" of a URL, or "" when it has none.
std::string_view UserInfo(std::string_view url) {
  auto [start, end] = AuthorityRange(url);
  size_t at = url.substr(start, end - start).rfind('@');
  if (at == std::string_view::npos) return {};
  return url.substr(start, at);
}

void ReplaceAll(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
}

// Values of a URL's query string ("?token=abc&x" -> "abc", "x").
std::vector<std::string_view> QueryValues(std::string_view url) {
  std::vector<std::string_view> out;
  size_t q = url.find('?');
  if (q == std::string_view::npos) return out;
  std::string_view query = url.substr(q + 1);
  query = query.substr(0, query.find('#'));
  while (!query.empty()) {
    std::string_view param = query.substr(0, query.find('&'));
    query.remove_prefix(std::min(query.size(), param.size() + 1));
    size_t eq = param.find('=');
    std::string_view value = eq == std::string_view::npos ? param : param.substr(eq + 1);
    if (value.size() >= 4) out.push_back(value);  // shorter ones would mangle the message
  }
  return out;
}

// libcurl messages may quote a URL (e.g. a proxy's); make sure no userinfo or query string value
// survives in them.
std::string Scrub(std::string msg, const HttpRequest& req) {
  for (std::string_view url : {std::string_view(req.url), std::string_view(req.proxy_url)}) {
    if (url.empty()) continue;
    ReplaceAll(msg, url, RedactUrl(url));
    for (std::string_view value : QueryValues(url)) ReplaceAll(msg, value, "<redacted>");
    std::string_view info = UserInfo(url);
    if (info.empty()) continue;
    ReplaceAll(msg, info, "<redacted>");
    size_t colon = info.find(':');
    if (colon != std::string_view::npos && colon + 1 < info.size()) {
      ReplaceAll(msg, info.substr(colon + 1), "<redacted>");
    }
  }
  return msg;
}

// What one transfer has seen so far; the libcurl callbacks share it.
struct Transfer {
  CURL* easy = nullptr;
  std::string* body = nullptr;
  const std::atomic<bool>* cancel = nullptr;
  bool read_2xx_body = false;
  int final_status = 0;  // set when the headers of a final (non-1xx) response are complete
  std::chrono::steady_clock::time_point headers_done{};
  bool stopped_reading = false;  // we ended the transfer on purpose after the headers
};

size_t OnHeader(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * nmemb;
  std::string_view line(data, n);
  if (line == "\r\n" || line == "\n") {  // end of one response's headers
    long code = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 200) {
      t->final_status = static_cast<int>(code);
      t->headers_done = std::chrono::steady_clock::now();
    }
  }
  return n;
}

size_t WriteBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * nmemb;
  const bool ok = t->final_status >= 200 && t->final_status < 300;
  const size_t limit =
      ok && !t->read_2xx_body ? HttpResponse::kMax2xxBody : HttpResponse::kMaxResponseBody;
  size_t room = limit - std::min(t->body->size(), limit);
  t->body->append(data, std::min(n, room));
  if (n > room) {
    t->stopped_reading = true;
    return 0;  // ends the transfer: the rest is not worth downloading
  }
  return n;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->cancel != nullptr && t->cancel->load(std::memory_order_relaxed)) return 1;
  if (t->final_status != 0 &&
      std::chrono::steady_clock::now() - t->headers_done > HttpResponse::kBodyGrace) {
    t->stopped_reading = true;
    return 1;  // a slow body: the status is the answer
  }
  return 0;
}

class CurlHttpClient final : public HttpClient {
 public:
  CurlHttpClient() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    easy_ = curl_easy_init();
  }
  ~CurlHttpClient() override {
    if (easy_ != nullptr) curl_easy_cleanup(easy_);
  }
  CurlHttpClient(const CurlHttpClient&) = delete;
  CurlHttpClient& operator=(const CurlHttpClient&) = delete;

  HttpResponse Post(const HttpRequest& req) override;

 private:
  curl_slist* BuildHeaders(const HttpRequest& req) const;
  void SetTransportOptions(const HttpRequest& req, Transfer* t);

  CURL* easy_ = nullptr;
};

curl_slist* CurlHttpClient::BuildHeaders(const HttpRequest& req) const {
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

void CurlHttpClient::SetTransportOptions(const HttpRequest& req, Transfer* t) {
  long timeout_ms = std::max<long>(1, static_cast<long>(req.timeout.count()));
  curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
  curl_easy_setopt(easy_, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https");
  SetRoutingOptions(easy_, req);
  const TlsOptions& tls = req.tls;
  // libcurl keeps a parsed CA store for a day by default (CURLOPT_CA_CACHE_TIMEOUT): a rotated
  // ca_file (cert-manager, trust-manager) must count from the next connection on, as in the
  // Kubernetes client.
  curl_easy_setopt(easy_, CURLOPT_CA_CACHE_TIMEOUT, 0L);
  if (!tls.ca_file.empty()) {
    curl_easy_setopt(easy_, CURLOPT_CAINFO, tls.ca_file.c_str());
    // Exactly this bundle, as Promtail's ca_file: not also the system's CA directory that
    // Debian's libcurl adds by default.
    curl_easy_setopt(easy_, CURLOPT_CAPATH, nullptr);
  }
  if (!tls.cert_file.empty()) curl_easy_setopt(easy_, CURLOPT_SSLCERT, tls.cert_file.c_str());
  if (!tls.key_file.empty()) curl_easy_setopt(easy_, CURLOPT_SSLKEY, tls.key_file.c_str());
  if (tls.insecure_skip_verify) {
    curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (long v = CurlSslVersion(tls.min_version, tls.max_version); v != 0) {
    curl_easy_setopt(easy_, CURLOPT_SSLVERSION, v);
  }
  // A proxy's "200 Connection established" must never be taken for the server's answer.
  curl_easy_setopt(easy_, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(easy_, CURLOPT_HEADERDATA, t);
  curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &WriteBody);
  curl_easy_setopt(easy_, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(easy_, CURLOPT_XFERINFOFUNCTION, &OnProgress);
  curl_easy_setopt(easy_, CURLOPT_XFERINFODATA, t);
  curl_easy_setopt(easy_, CURLOPT_NOPROGRESS, 0L);
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

HttpResponse CurlHttpClient::Post(const HttpRequest& req) {
  HttpResponse resp;
  if (easy_ == nullptr) {
    resp.transport_error = "libcurl initialisation failed";
    resp.curl_code = CURLE_FAILED_INIT;
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
  curl_easy_setopt(easy_, CURLOPT_POST, 1L);
  curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, req.body.data());
  curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  curl_slist* headers = BuildHeaders(req);
  if (!route.host_header.empty()) headers = curl_slist_append(headers, route.host_header.c_str());
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers);
  curl_slist* proxy_headers = nullptr;
  for (const std::string& line : req.proxy_connect_header) {
    proxy_headers = curl_slist_append(proxy_headers, line.c_str());
  }
  if (proxy_headers != nullptr) {
    curl_easy_setopt(easy_, CURLOPT_HEADEROPT, CURLHEADER_SEPARATE);
    curl_easy_setopt(easy_, CURLOPT_PROXYHEADER, proxy_headers);
  }
  Transfer t{
      .easy = easy_, .body = &resp.body, .cancel = req.cancel, .read_2xx_body = req.read_2xx_body};
  SetTransportOptions(req, &t);

  CURLcode rc = curl_easy_perform(easy_);
  curl_slist_free_all(headers);
  curl_slist_free_all(proxy_headers);
  curl_slist_free_all(connect_to);
  resp.curl_code = static_cast<int>(rc);
  resp.status = t.final_status;
  resp.body_truncated = t.stopped_reading;
  if (rc != CURLE_OK) {
    std::string msg = curl_easy_strerror(rc);
    if (errbuf[0] != '\0') msg.append(": ").append(errbuf);
    if (t.stopped_reading) msg = "response body not read to its end (too long or too slow)";
    resp.transport_error = Scrub(std::move(msg), req);
    // No final status: whatever arrived belongs to no answer. With one, the body read so far is
    // the start of the server's message and the status stands.
    if (resp.status == 0) resp.body.clear();
  }
  return resp;
}

bool IsTokenChar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

}  // namespace

std::unique_ptr<HttpClient> NewCurlHttpClient() { return std::make_unique<CurlHttpClient>(); }

std::string RedactUrl(std::string_view url) {
  auto [start, end] = AuthorityRange(url);
  size_t at = url.substr(start, end - start).rfind('@');
  if (at == std::string_view::npos) return MaskUrlQuery(url, "<redacted>");
  std::string out(url.substr(0, start));
  out.append(url.substr(start + at + 1));
  return MaskUrlQuery(out, "<redacted>");
}

std::string UrlHost(std::string_view url) {
  auto [start, end] = AuthorityRange(url);
  std::string_view authority = url.substr(start, end - start);
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority.remove_prefix(at + 1);
  return std::string(authority);
}

bool ValidHeader(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    if (!IsTokenChar(c)) return false;
  }
  for (unsigned char c : value) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

long CurlSslVersion(std::string_view min_version, std::string_view max_version) {
  long min = min_version == "TLS10"   ? CURL_SSLVERSION_TLSv1_0
             : min_version == "TLS11" ? CURL_SSLVERSION_TLSv1_1
             : min_version == "TLS12" ? CURL_SSLVERSION_TLSv1_2
             : min_version == "TLS13" ? CURL_SSLVERSION_TLSv1_3
                                      : CURL_SSLVERSION_TLSv1;  // "any TLS": max alone
  long max = max_version == "TLS10"   ? CURL_SSLVERSION_MAX_TLSv1_0
             : max_version == "TLS11" ? CURL_SSLVERSION_MAX_TLSv1_1
             : max_version == "TLS12" ? CURL_SSLVERSION_MAX_TLSv1_2
             : max_version == "TLS13" ? CURL_SSLVERSION_MAX_TLSv1_3
                                      : CURL_SSLVERSION_MAX_DEFAULT;
  if (min_version.empty() && max_version.empty()) return 0;
  return min | max;
}

bool ServerNameApplies(std::string_view url, std::string_view server_name) {
  if (server_name.empty()) return true;
  std::string host = UrlHost(url);
  std::string_view h = host;
  if (h.starts_with('[')) {  // [ipv6]:port
    size_t close = h.find(']');
    h = h.substr(1, close == std::string_view::npos ? h.npos : close - 1);
  } else if (size_t colon = h.rfind(':'); colon != std::string_view::npos) {
    h = h.substr(0, colon);
  }
  return h == server_name;
}

}  // namespace skidder::io
