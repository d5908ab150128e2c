// KubeClient: the few HTTP GETs pod discovery makes to the Kubernetes API server (list, and a
// streaming watch), a thin layer over io::HttpClient (which owns TLS, proxies, timeouts and the
// CA cache for all of the agent's HTTP) that adds the API server's address and credentials.
//
// Owned by one discovery worker thread, which is the only caller of Get()/Watch(). Interrupt()
// may be called from any thread: it wakes a blocked request, which then returns promptly with
// `interrupted` set.
//
// Credentials: the token is sent only in the Authorization header and never appears in any
// message or log this file produces.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "io/http_client.h"
#include "kubernetes/auth.h"
#include "util/status.h"

namespace skidder::kubernetes {

// Where and how to reach the API server, resolved from a KubernetesSdConfig (see discovery.h).
struct ClientConfig {
  std::string server;              // "https://10.96.0.1:443"; no trailing '/'
  std::string bearer_token;        // static token; used when bearer_token_file is empty
  std::string bearer_token_file;   // re-read every token_refresh and right after a 401
  std::string username, password;  // basic auth; never with a token
  std::string proxy_url;           // "" = the *_proxy environment variables
  std::string no_proxy;            // with proxy_url: hosts reached directly
  std::vector<std::string> proxy_connect_header;  // "Name: value" lines of the CONNECT request
  std::optional<config::OAuth2Config> oauth2;     // a client-credentials token instead (auth.h)
  config::TlsConfig tls;
  // PEM given inline (kubeconfig *-data); each, when set, is used instead of its tls.*_file, from
  // memory (libcurl blobs), so secrets never go to a temporary file.
  std::string ca_pem, cert_pem, key_pem;
  std::chrono::seconds token_refresh{60};
  size_t max_body = 64 << 20;  // a non-streamed body is cut (and its download stopped) past this
};

struct KubeResponse {
  int status = 0;             // HTTP status; 0 when there was none
  std::string body;           // non-streamed body (or an error body of a watch), capped
  std::string error;          // transport error; never contains credentials
  bool interrupted = false;   // Interrupt() was called
  bool idle_timeout = false;  // the watch sent nothing for idle_timeout
  bool aborted = false;       // the watch consumer asked to stop reading
  bool truncated = false;     // the body passed max_body: the download was stopped there
  // Retry-After of a 429 or 503 (seconds or an HTTP date); 0 when absent or for other statuses.
  std::chrono::seconds retry_after{0};
};

// What the API server said in an error body: a Status object's message (a 403's names the service
// account and the resource it may not read), else the body's start; at most 300 bytes,
// credentials masked.
std::string ApiMessage(std::string_view body);

class KubeClient {
 public:
  explicit KubeClient(ClientConfig cfg,
                      std::unique_ptr<io::HttpClient> http = io::NewCurlHttpClient());
  KubeClient(const KubeClient&) = delete;
  KubeClient& operator=(const KubeClient&) = delete;

  // GET server+path_query, the whole body collected.
  KubeResponse Get(const std::string& path_query, std::chrono::milliseconds timeout);

  // GET server+path_query, streaming: on_data gets the body in arbitrary chunks as they arrive
  // (only for a 2xx response) and returns false to stop reading. Ends when the server closes,
  // on a transport error, after idle_timeout without a byte, or on Interrupt().
  using OnData = io::BodyChunkFn;
  KubeResponse Watch(const std::string& path_query, const OnData& on_data,
                     std::chrono::milliseconds idle_timeout);

  // Drops the cached token so the next request re-reads the token file or fetches a new OAuth2
  // token (after a 401; a 401 or 403 answer does it too).
  void InvalidateToken() { auth_.Invalidate(); }
  // Wakes and ends the current request, and every later one, until ClearInterrupt().
  void Interrupt();
  void ClearInterrupt();
  // Requests end (within io::HttpClient::kCancelPoll) once *flag is true, instead of on
  // Interrupt(): for a caller that owns the flag (a Secret read a shutdown ends).
  void CancelWith(const std::atomic<bool>* flag);

  // Percent-encodes a query parameter value.
  static std::string Escape(std::string_view value);

 private:
  io::HttpRequest Request(const std::string& path_query) const;
  KubeResponse Send(io::HttpRequest& req);

  const ClientConfig cfg_;
  KubeAuth auth_{cfg_};  // the Authorization header (auth.h)
  const std::unique_ptr<io::HttpClient> http_;
  std::atomic<bool> interrupted_{false};
  const std::atomic<bool>* cancel_ = &interrupted_;
};

}  // namespace skidder::kubernetes
