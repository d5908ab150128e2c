#include "kubernetes/client.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>

#include "io/http_client.h"

namespace skidder::kubernetes {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kConnectTimeout = std::chrono::seconds(10);
constexpr auto kPollStep = std::chrono::milliseconds(250);  // upper bound between stop checks

}  // namespace

struct KubeClient::Transfer {
  CURL* easy = nullptr;
  const OnData* on_data = nullptr;  // null: collect the body
  KubeResponse* resp = nullptr;
  bool status_known = false;
  bool streaming = false;
  Clock::time_point last_data = Clock::now();
  std::chrono::milliseconds idle_timeout{0};  // 0: none
  size_t max_body = 0;
};

size_t KubeClient::OnWrite(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * nmemb;
  t->last_data = Clock::now();
  if (!t->status_known) {
    long code = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
    t->streaming = t->on_data != nullptr && code == 200;
    t->status_known = true;
  }
  if (t->streaming) {
    if (!(*t->on_data)(std::string_view(data, n))) {
      t->resp->aborted = true;
      return 0;  // makes libcurl end the transfer
    }
    return n;
  }
  // Past the cap the rest is not even downloaded: a hostile or huge answer costs at most max_body.
  std::string& body = t->resp->body;
  if (body.size() + n > t->max_body) {
    t->resp->truncated = true;
    return 0;  // makes libcurl end the transfer
  }
  body.append(data, n);
  return n;
}

KubeClient::KubeClient(ClientConfig cfg) : cfg_(std::move(cfg)), auth_(cfg_) {
  auth_.set_cancel(&interrupted_);
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  multi_ = curl_multi_init();
}

KubeClient::~KubeClient() {
  if (multi_ != nullptr) curl_multi_cleanup(static_cast<CURLM*>(multi_));
}

std::string KubeClient::Escape(std::string_view value) {
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

void KubeClient::InvalidateToken() { auth_.Invalidate(); }

void KubeClient::Interrupt() {
  interrupted_.store(true);
  curl_multi_wakeup(static_cast<CURLM*>(multi_));
}

void KubeClient::ClearInterrupt() { interrupted_.store(false); }

KubeResponse KubeClient::Get(const std::string& path_query, std::chrono::milliseconds timeout) {
  Transfer t;
  return Run(path_query, t, timeout);
}

KubeResponse KubeClient::Watch(const std::string& path_query, const OnData& on_data,
                               std::chrono::milliseconds idle_timeout) {
  Transfer t;
  t.on_data = &on_data;
  t.idle_timeout = idle_timeout;
  return Run(path_query, t, std::chrono::milliseconds(0));
}

namespace {

// Request options shared by lists and watches; returns the header list to free afterwards.
// Sets a PEM blob option; libcurl copies the bytes, so the blob only has to outlive the call.
void SetBlob(CURL* easy, CURLoption option, const std::string& pem) {
  curl_blob blob{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_COPY};
  curl_easy_setopt(easy, option, &blob);
}

// TLS material and basic auth: files are named (and re-read per connection), PEM blobs inline.
void ConfigureCredentials(CURL* easy, const ClientConfig& cfg) {
  const config::TlsConfig& tls = cfg.tls;
  if (!cfg.ca_pem.empty()) {
    SetBlob(easy, CURLOPT_CAINFO_BLOB, cfg.ca_pem);
  } else if (!tls.ca_file.empty()) {
    curl_easy_setopt(easy, CURLOPT_CAINFO, tls.ca_file.c_str());
  }
#if LIBCURL_VERSION_NUM >= 0x075700
  // libcurl >= 7.87 may keep a parsed CA file for 24 h; a rotated CA must count at the next
  // connection, and parsing it once per list or watch costs nothing.
  curl_easy_setopt(easy, CURLOPT_CA_CACHE_TIMEOUT, 0L);
#endif
  if (!cfg.cert_pem.empty()) {
    SetBlob(easy, CURLOPT_SSLCERT_BLOB, cfg.cert_pem);
    curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
  } else if (!tls.cert_file.empty()) {
    curl_easy_setopt(easy, CURLOPT_SSLCERT, tls.cert_file.c_str());
  }
  if (!cfg.key_pem.empty()) {
    SetBlob(easy, CURLOPT_SSLKEY_BLOB, cfg.key_pem);
    curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
  } else if (!tls.key_file.empty()) {
    curl_easy_setopt(easy, CURLOPT_SSLKEY, tls.key_file.c_str());
  }
  if (tls.insecure_skip_verify) {
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (long v = io::CurlSslVersion(tls.min_version, tls.max_version); v != 0) {
    curl_easy_setopt(easy, CURLOPT_SSLVERSION, v);
  }
  if (!cfg.proxy_url.empty()) {
    curl_easy_setopt(easy, CURLOPT_PROXY, cfg.proxy_url.c_str());
    if (!cfg.no_proxy.empty()) curl_easy_setopt(easy, CURLOPT_NOPROXY, cfg.no_proxy.c_str());
  }
  if (!cfg.username.empty()) {
    curl_easy_setopt(easy, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(easy, CURLOPT_USERNAME, cfg.username.c_str());
    curl_easy_setopt(easy, CURLOPT_PASSWORD, cfg.password.c_str());
  }
}

curl_slist* Configure(CURL* easy, const std::string& url, const std::string& authorization,
                      const ClientConfig& cfg, std::chrono::milliseconds total_timeout,
                      bool compressed) {
  curl_slist* headers = curl_slist_append(nullptr, "Accept: application/json");
  if (!authorization.empty())
    headers = curl_slist_append(headers, ("Authorization: " + authorization).c_str());
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(kConnectTimeout.count() * 1000));
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(total_timeout.count()));
  // Keepalive probes find a half-open watch connection (node or LB gone) long before idle does.
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPIDLE, 30L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPINTVL, 15L);
  if (compressed) curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");  // gzip for big lists
  ConfigureCredentials(easy, cfg);
  return headers;
}

}  // namespace

KubeResponse KubeClient::Run(const std::string& path_query, Transfer& t,
                             std::chrono::milliseconds total_timeout) {
  KubeResponse resp;
  t.resp = &resp;
  t.max_body = cfg_.max_body;
  auto authorization = auth_.Header();
  if (!authorization) {
    resp.error = authorization.error().message();
    return resp;
  }
  CURL* easy = curl_easy_init();
  t.easy = easy;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = Configure(easy, cfg_.server + path_query, *authorization, cfg_,
                                  total_timeout, /*compressed=*/t.on_data == nullptr);
  curl_slist* proxy_headers = nullptr;  // sent in the CONNECT request to proxy_url only
  for (const std::string& line : cfg_.proxy_connect_header) {
    proxy_headers = curl_slist_append(proxy_headers, line.c_str());
  }
  if (proxy_headers != nullptr) {
    curl_easy_setopt(easy, CURLOPT_HEADEROPT, CURLHEADER_SEPARATE);
    curl_easy_setopt(easy, CURLOPT_PROXYHEADER, proxy_headers);
  }
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, OnWrite);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t);

  auto* multi = static_cast<CURLM*>(multi_);
  curl_multi_add_handle(multi, easy);
  Pump(t, resp);
  CURLcode result = CURLE_OK;
  int queued = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
    if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy) result = msg->data.result;
  }
  long code = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
  resp.status = static_cast<int>(code);
  if (code == 401 || code == 403) auth_.Invalidate();  // the credentials were refused
  if (code == 429 || code == 503) {
    curl_off_t retry_after = 0;  // libcurl parses both forms, as seconds from now
    if (curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0)
      resp.retry_after = std::chrono::seconds(retry_after);
  }
  if (result != CURLE_OK && !resp.aborted && !resp.interrupted && !resp.truncated) {
    resp.error = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(result);
  }
  curl_multi_remove_handle(multi, easy);
  curl_easy_cleanup(easy);
  curl_slist_free_all(headers);
  curl_slist_free_all(proxy_headers);
  return resp;
}

// Drives the transfer until it completes, goes quiet for idle_timeout, or Interrupt() is called.
void KubeClient::Pump(Transfer& t, KubeResponse& resp) {
  auto* multi = static_cast<CURLM*>(multi_);
  t.last_data = Clock::now();
  int running = 1;
  while (true) {
    if (curl_multi_perform(multi, &running) != CURLM_OK || running == 0) return;
    if (interrupted_.load()) {
      resp.interrupted = true;
      return;
    }
    auto wait = kPollStep;
    if (t.idle_timeout.count() > 0) {
      const auto idle =
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t.last_data);
      if (idle >= t.idle_timeout) {
        resp.idle_timeout = true;
        return;
      }
      wait = std::min(wait, t.idle_timeout - idle);
    }
    curl_multi_poll(multi, nullptr, 0, static_cast<int>(wait.count()), nullptr);
  }
}

}  // namespace skidder::kubernetes
