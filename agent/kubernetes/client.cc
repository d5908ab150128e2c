#include "kubernetes/client.h"

#include <fmt/format.h>
#include <rapidjson/document.h>

#include "io/credentials.h"
#include "io/tls_from_config.h"
#include "kubernetes/pod_json.h"
#include "util/json_parse.h"
#include "util/redact.h"

namespace skidder::kubernetes {
namespace {

constexpr auto kConnectTimeout = std::chrono::seconds(10);

}  // namespace

// --- Requests ------------------------------------------------------------------------------

KubeClient::KubeClient(ClientConfig cfg, std::unique_ptr<io::HttpClient> http)
    : cfg_(std::move(cfg)), http_(std::move(http)) {
  auth_.set_cancel(&interrupted_);  // an OAuth2 token request gives up with the call
}

std::string ApiMessage(std::string_view body) {
  rapidjson::Document doc;
  if (ParseJsonBounded(doc, body).ok() && doc.IsObject()) {
    if (std::string_view m = JsonString(doc, "message"); !m.empty()) body = m;
  }
  return RedactSecrets(body.substr(0, 300));
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

void KubeClient::Interrupt() {
  interrupted_.store(true);
  http_->Wake();
}

void KubeClient::ClearInterrupt() { interrupted_.store(false); }

void KubeClient::CancelWith(const std::atomic<bool>* flag) {
  cancel_ = flag;
  auth_.set_cancel(flag);
}

// What lists and watches share: the address, TLS and proxy, and the cancel flag.
io::HttpRequest KubeClient::Request(const std::string& path_query) const {
  io::HttpRequest req;
  req.url = cfg_.server + path_query;
  req.headers.emplace_back("Accept", "application/json");
  req.connect_timeout = kConnectTimeout;
  req.tls = io::TlsFromConfig(cfg_.tls);
  // A kubeconfig's *-data (never set together with tls_config's inline PEM: sd_config refuses it).
  if (!cfg_.ca_pem.empty()) req.tls.ca_pem = cfg_.ca_pem;
  if (!cfg_.cert_pem.empty()) req.tls.cert_pem = cfg_.cert_pem;
  if (!cfg_.key_pem.empty()) req.tls.key_pem = cfg_.key_pem;
  req.proxy_url = cfg_.proxy_url;
  req.no_proxy = cfg_.no_proxy;
  req.proxy_from_environment = true;  // as client-go: HTTPS_PROXY/NO_PROXY unless proxy_url
  req.proxy_connect_header = cfg_.proxy_connect_header;
  req.max_body = cfg_.max_body;
  req.cancel = cancel_;
  return req;
}

KubeResponse KubeClient::Send(io::HttpRequest& req) {
  KubeResponse resp;
  if (!cfg_.username.empty()) {
    req.headers.emplace_back("Authorization",
                             "Basic " + io::Base64(cfg_.username + ":" + cfg_.password));
  } else {
    auto auth = auth_.Header();
    if (!auth) {
      resp.error = auth.error().message();
      return resp;
    }
    if (!auth->empty()) req.headers.emplace_back("Authorization", std::move(*auth));
  }
  io::HttpResponse r = http_->Get(req);
  if (r.status == 401 || r.status == 403) auth_.Invalidate();  // the credentials were refused
  resp.status = r.status;
  resp.body = std::move(r.body);
  resp.interrupted = r.cancelled;
  resp.idle_timeout = r.idle_timeout;
  resp.aborted = r.aborted;
  resp.truncated = r.body_truncated;
  resp.retry_after = r.retry_after;
  // Ends the caller asked for, or knows from the flags, are not transport errors.
  if (!resp.interrupted && !resp.idle_timeout && !resp.aborted && !resp.truncated) {
    resp.error = std::move(r.transport_error);
  }
  return resp;
}

KubeResponse KubeClient::Get(const std::string& path_query, std::chrono::milliseconds timeout) {
  io::HttpRequest req = Request(path_query);
  req.timeout = timeout;
  req.accept_compressed = true;  // a list of thousands of pods compresses tenfold
  return Send(req);
}

KubeResponse KubeClient::Watch(const std::string& path_query, const OnData& on_data,
                               std::chrono::milliseconds idle_timeout) {
  io::HttpRequest req = Request(path_query);
  req.timeout = std::chrono::milliseconds(0);  // a watch lasts until the server's timeoutSeconds
  req.idle_timeout = idle_timeout;
  req.on_body = [&on_data](std::string_view chunk) { return on_data(chunk); };
  return Send(req);
}

}  // namespace skidder::kubernetes
