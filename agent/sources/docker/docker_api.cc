#include "sources/docker/docker_api.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <map>
#include <mutex>
#include <vector>

#include "io/curl_tls.h"
#include "io/http_client.h"
#include "io/proxy.h"
#include "io/tls_from_config.h"

namespace skidder::sources::docker {
Endpoint Endpoint::From(const config::DockerSdConfig& cfg) {
  Endpoint ep;
  ep.cfg = cfg;
  const std::string& h = cfg.host;
  if (h.starts_with("unix://")) {
    ep.socket_path = h.substr(7);
    ep.base_url = "http://localhost";
  } else if (h.starts_with("tcp://")) {
    ep.base_url = "http://" + h.substr(6);
    ep.proxy_settings = true;
  } else {
    ep.base_url = h;
    ep.http_settings = true;
    ep.proxy_settings = true;
  }
  while (ep.base_url.ends_with('/')) ep.base_url.pop_back();
  return ep;
}

std::string UrlEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

namespace {

// Docker's filters argument: {"label":["a=b"],"status":["running"]}.
std::string FiltersJson(const std::map<std::string, std::vector<std::string>>& filters) {
  auto quote = [](std::string_view s) {
    std::string q = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') q.push_back('\\');
      if (static_cast<unsigned char>(c) < 0x20) {
        q += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
        continue;
      }
      q.push_back(c);
    }
    return q + "\"";
  };
  std::string json = "{";
  for (const auto& [name, values] : filters) {
    if (json.size() > 1) json += ",";
    json += quote(name) + ":[";
    for (size_t i = 0; i < values.size(); ++i) {
      if (i > 0) json += ",";
      json += quote(values[i]);
    }
    json += "]";
  }
  return json + "}";
}

}  // namespace

std::string ListPath(const config::DockerSdConfig& cfg) {
  if (cfg.filters.empty()) return "/containers/json";
  // Names may repeat in the config and their values are merged, as Prometheus' filters.Args does.
  std::map<std::string, std::vector<std::string>> merged;
  for (const auto& [name, values] : cfg.filters) {
    auto& v = merged[name];
    v.insert(v.end(), values.begin(), values.end());
  }
  return "/containers/json?filters=" + UrlEncode(FiltersJson(merged));
}

std::string ExistingPath(const std::vector<std::string>& ids) {
  return "/containers/json?all=1&filters=" + UrlEncode(FiltersJson({{"id", ids}}));
}

namespace {

struct Call {
  std::function<bool(std::string_view)> on_data;
  const std::atomic<bool>* cancel = nullptr;
  CURL* easy = nullptr;
  long status = 0;         // set once the first body byte arrives
  std::string error_body;  // the start of a non-2xx body (the daemon's message)
  bool stopped = false;    // on_data asked to stop
};

size_t OnData(char* data, size_t size, size_t nmemb, void* user) {
  auto* call = static_cast<Call*>(user);
  const size_t n = size * nmemb;
  if (call->status == 0) curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &call->status);
  if (call->status < 200 || call->status >= 300) {
    size_t room = 4096 - std::min<size_t>(4096, call->error_body.size());
    call->error_body.append(data, std::min(n, room));
    return n;
  }
  if (!call->on_data(std::string_view(data, n))) {
    call->stopped = true;
    return 0;
  }
  return n;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* call = static_cast<Call*>(user);
  return call->cancel != nullptr && call->cancel->load(std::memory_order_relaxed) ? 1 : 0;
}

}  // namespace

DockerApi::DockerApi(Endpoint ep) : ep_(std::move(ep)) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  easy_ = curl_easy_init();
}

DockerApi::~DockerApi() {
  if (easy_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(easy_));
}

// The URL with its host replaced by server_name, and the CONNECT_TO route from that name back to
// the real host and port; "" when the URL does not parse.
static std::string ServerNameRoute(const std::string& url, const std::string& server_name,
                                   curl_slist** connect_to) {
  CURLU* u = curl_url();
  char* host = nullptr;
  char* port = nullptr;
  char* rewritten = nullptr;
  std::string out;
  if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
      curl_url_set(u, CURLUPART_HOST, server_name.c_str(), 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_URL, &rewritten, 0) == CURLUE_OK) {
    out = rewritten;
    std::string route = server_name + ":" + port + ":" + host + ":" + port;
    *connect_to = curl_slist_append(*connect_to, route.c_str());
  }
  curl_free(host);
  curl_free(port);
  curl_free(rewritten);
  curl_url_cleanup(u);
  return out;
}

// proxy_url, no_proxy and proxy_from_environment; libcurl would otherwise use the environment's
// proxy, which Prometheus does not unless told to. Returns the CONNECT headers to free.
static curl_slist* SetProxy(CURL* easy, const config::DockerSdConfig& cfg) {
  if (!cfg.proxy_url.empty()) {
    curl_easy_setopt(easy, CURLOPT_PROXY, cfg.proxy_url.c_str());
    if (!cfg.no_proxy.empty()) curl_easy_setopt(easy, CURLOPT_NOPROXY, cfg.no_proxy.c_str());
  } else if (!cfg.proxy_from_environment) {
    curl_easy_setopt(easy, CURLOPT_PROXY, "");
  }
  curl_slist* connect_headers = nullptr;
  for (const std::string& line : io::ProxyConnectHeaderLines(cfg.proxy_connect_header)) {
    connect_headers = curl_slist_append(connect_headers, line.c_str());
  }
  if (connect_headers != nullptr) {
    curl_easy_setopt(easy, CURLOPT_HEADEROPT, CURLHEADER_SEPARATE);
    curl_easy_setopt(easy, CURLOPT_PROXYHEADER, connect_headers);
  }
  return connect_headers;
}

// TLS and redirects, for http(s):// hosts only (see the header).
static void SetHttpSettings(CURL* easy, const config::DockerSdConfig& cfg) {
  io::SetTlsOptions(easy, io::TlsFromConfig(cfg.tls_config));
  if (cfg.follow_redirects) {
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(easy, CURLOPT_MAXREDIRS, 10L);
  }
  if (!cfg.enable_http2) curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
}

Result<std::string> DockerApi::Authorization(const std::atomic<bool>* cancel) {
  const config::DockerSdConfig& cfg = ep_.cfg;
  if (!ep_.http_settings || (!cfg.basic_auth && !cfg.authorization && !cfg.oauth2)) return "";
  if (!creds_) {
    auto loaded = io::Credentials::Load(cfg, std::chrono::seconds(10), "docker discovery");
    if (!loaded) return Err(loaded.error());
    creds_.emplace(std::move(*loaded));
  }
  creds_->set_cancel(cancel);  // a token request gives up with the call
  creds_->MaybeRefresh(std::chrono::steady_clock::now());
  if (cfg.oauth2 && creds_->authorization().empty()) {
    return Err(
        Unavailable(fmt::format("no OAuth2 token from {}: {}", io::RedactUrl(cfg.oauth2->token_url),
                                creds_->oauth2_error())));
  }
  return creds_->authorization();
}

// A 401/403 means the credentials were refused: re-read the files (or fetch a new OAuth2 token)
// and try once more, as the Loki client does. Nothing of a refused answer reached on_data.
Status DockerApi::Perform(const std::string& path, void* c, std::chrono::milliseconds timeout) {
  auto* call = static_cast<Call*>(c);
  Status s = PerformOnce(path, c, timeout);
  if ((call->status != 401 && call->status != 403) || !creds_) return s;
  creds_->set_cancel(call->cancel);
  creds_->Reload(std::chrono::steady_clock::now());
  call->status = 0;
  call->error_body.clear();
  return PerformOnce(path, c, timeout);
}

Status DockerApi::PerformOnce(const std::string& path, void* c, std::chrono::milliseconds timeout) {
  auto* easy = static_cast<CURL*>(easy_);
  auto* call = static_cast<Call*>(c);
  if (easy == nullptr) return Status(StatusCode::kInternal, "libcurl initialisation failed");
  curl_easy_reset(easy);
  call->easy = easy;
  char errbuf[CURL_ERROR_SIZE] = {0};
  const std::string url = ep_.base_url + path;
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
  // tls_config.server_name other than the URL's host: ask for https://<server_name>/... (SNI and
  // verification) and route that name to the real host, as io/http_client.cc does for Loki.
  std::string sni_url;
  curl_slist* connect_to = nullptr;
  if (ep_.http_settings && !io::ServerNameApplies(url, ep_.cfg.tls_config.server_name)) {
    sni_url = ServerNameRoute(url, ep_.cfg.tls_config.server_name, &connect_to);
  }
  curl_easy_setopt(easy, CURLOPT_URL, sni_url.empty() ? url.c_str() : sni_url.c_str());
  if (connect_to != nullptr) curl_easy_setopt(easy, CURLOPT_CONNECT_TO, connect_to);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  // A log stream has no timeout: a connection a NAT or firewall dropped silently would keep its
  // reader "running" and the container unread for good. Keepalive probes end it (about 2 min on
  // Linux's default of 9 probes), and the next refresh starts the reader again. Docker's Go
  // client keeps TCP connections alive too.
  if (ep_.socket_path.empty()) {
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPINTVL, 10L);
  }
  curl_slist* proxy_headers = nullptr;
  if (ep_.proxy_settings) {
    proxy_headers = SetProxy(easy, ep_.cfg);
  } else {
    curl_easy_setopt(easy, CURLOPT_PROXY, "");
  }
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  if (timeout.count() > 0) curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, long(timeout.count()));
  if (!ep_.socket_path.empty()) {
    curl_easy_setopt(easy, CURLOPT_UNIX_SOCKET_PATH, ep_.socket_path.c_str());
  }
  curl_slist* headers = curl_slist_append(nullptr, "User-Agent: skidder");
  if (!sni_url.empty()) headers = curl_slist_append(headers, ("Host: " + io::UrlHost(url)).c_str());
  if (ep_.http_settings) SetHttpSettings(easy, ep_.cfg);
  auto authorization = Authorization(call->cancel);
  if (!authorization) {
    curl_slist_free_all(headers);
    curl_slist_free_all(proxy_headers);
    curl_slist_free_all(connect_to);
    return authorization.error();
  }
  if (!authorization->empty()) {
    headers = curl_slist_append(headers, ("Authorization: " + *authorization).c_str());
  }
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &OnData);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, call);
  curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, &OnProgress);
  curl_easy_setopt(easy, CURLOPT_XFERINFODATA, call);
  curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
  CURLcode rc = curl_easy_perform(easy);
  curl_slist_free_all(headers);
  curl_slist_free_all(proxy_headers);
  curl_slist_free_all(connect_to);
  if (call->status == 0) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &call->status);
  const std::string where = io::RedactUrl(url);
  if (call->status != 0 && (call->status < 200 || call->status >= 300)) {
    return Status(
        call->status == 404 ? StatusCode::kNotFound : StatusCode::kUnavailable,
        fmt::format("GET {}: status {}: {}", where, call->status, call->error_body.substr(0, 200)));
  }
  if (rc != CURLE_OK && !call->stopped) {
    std::string msg = curl_easy_strerror(rc);
    if (errbuf[0] != '\0') msg.append(": ").append(errbuf);
    return Status(StatusCode::kUnavailable, fmt::format("GET {}: {}", where, msg));
  }
  return Status::Ok();
}

Result<std::string> DockerApi::Get(const std::string& path, size_t max_body,
                                   std::chrono::milliseconds timeout,
                                   const std::atomic<bool>* cancel) {
  std::string body;
  bool too_long = false;
  Call call;
  call.cancel = cancel;
  call.on_data = [&](std::string_view d) {
    if (body.size() + d.size() > max_body) {
      too_long = true;
      return false;
    }
    body.append(d);
    return true;
  };
  Status s = Perform(path, &call, timeout);
  if (!s.ok()) return Err(s);
  if (too_long) {
    return Err(Status(StatusCode::kResourceExhausted,
                      fmt::format("GET {}: answer longer than {} bytes", path, max_body)));
  }
  return body;
}

Status DockerApi::Stream(const std::string& path,
                         const std::function<bool(std::string_view)>& on_data,
                         const std::atomic<bool>* cancel) {
  Call call;
  call.on_data = on_data;
  call.cancel = cancel;
  return Perform(path, &call, std::chrono::milliseconds(0));
}

}  // namespace skidder::sources::docker
