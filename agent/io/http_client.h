// HttpClient: the one seam through which the agent talks HTTP (the Loki sink's pushes and token
// requests, the Kubernetes API's lists and watches), so TLS options, the CA cache, proxies and
// timeouts are decided in one place and tests can swap the transport.
//
// One HttpClient per thread: an instance is not thread-safe, except Wake(), and the libcurl
// implementation keeps a single easy handle so consecutive requests reuse the same keep-alive
// connection. Post()/Get() block until a response, a transport error, a timeout or a cancel.
//
// Credentials: nothing this file returns (transport_error) contains URL userinfo or query
// values; callers put secrets in headers, never in messages.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace skidder::io {

struct TlsOptions {
  std::string ca_file;    // PEM bundle to verify the server with; "" = system store
  std::string cert_file;  // client certificate (mTLS)
  std::string key_file;   // client key (mTLS)
  // Name sent as SNI and that the server certificate must match, when it differs from the URL's
  // host (e.g. connecting to an IP). Done by asking libcurl for https://<server_name>/... and
  // routing that name to the real host with CURLOPT_CONNECT_TO; the Host header keeps the URL's.
  std::string server_name;
  bool insecure_skip_verify = false;     // no peer or host verification
  std::string min_version, max_version;  // "TLS10".."TLS13" (Go's names); "" = library default
  // PEM given inline (kubeconfig *-data); each, when set, is used instead of its *_file, from
  // memory (libcurl blobs), so secrets never go to a temporary file.
  std::string ca_pem, cert_pem, key_pem;
};

// Hands a streamed body on as it arrives; returns false to stop reading (HttpResponse::aborted).
using BodyChunkFn = std::function<bool(std::string_view chunk)>;

struct HttpRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  // Post() only. Not owned: must stay valid for the duration of Post(); a batch body is not copied.
  std::string_view body;
  // Whole request, connect included; 0 = none (a watch, ended by idle_timeout or cancel instead).
  std::chrono::milliseconds timeout{10000};
  std::chrono::milliseconds connect_timeout{0};  // 0 = bounded by timeout only
  TlsOptions tls;
  std::string proxy_url;                // "" = none, unless proxy_from_environment
  std::string no_proxy;                 // comma-separated hosts that bypass proxy_url
  bool proxy_from_environment = false;  // use http_proxy/https_proxy/no_proxy when no proxy_url
  // "Name: value" lines sent to the proxy only, in its CONNECT request (io/proxy.h).
  std::vector<std::string> proxy_connect_header;
  bool follow_redirects = false;   // follow 3xx (at most 10), keeping the POST and body
  bool http2 = true;               // false = HTTP/1.1 only
  bool accept_compressed = false;  // ask for gzip/deflate and decode it (big JSON lists)
  bool read_2xx_body = false;      // keep a 2xx body up to kMaxResponseBody (token replies)
  // > 0: read the whole body, whatever the status, up to max_body bytes; past that the download
  // stops and body_truncated is set. Replaces the short look described at HttpResponse.
  size_t max_body = 0;
  // Streaming: when set, a 2xx body goes to on_body chunk by chunk instead of into
  // HttpResponse::body; any other status's body is kept as usual (its message).
  BodyChunkFn on_body;
  // > 0: the request ends (HttpResponse::idle_timeout) after this long without a byte.
  std::chrono::milliseconds idle_timeout{0};
  // When set and it turns true, an in-progress request gives up promptly (at the latest after
  // kCancelPoll; at once after HttpClient::Wake()) with `cancelled` set. Checked before starting.
  const std::atomic<bool>* cancel = nullptr;
};

// The status line decides: once a final status has arrived, that is the answer, whatever
// happens to the body. Unless max_body or on_body says otherwise, a body is read only as far as
// it is useful and only for a short while after the headers (a 2xx body is not needed at all; an
// error body is needed for its message), so a server that streams an endless or huge body cannot
// turn a success into a timeout or make the agent download a gigabyte per request.
struct HttpResponse {
  int status = 0;               // HTTP status, 0 when no response was received
  std::string body;             // the start of the body: at most kMaxResponseBody (2xx: kMax2xx)
  std::string transport_error;  // why there is no status, or why the body stopped short; never
                                // contains credentials
  int curl_code = 0;            // CURLcode, 0 = CURLE_OK
  bool body_truncated = false;  // the agent stopped reading the body (too long or too slow)
  bool cancelled = false;       // HttpRequest::cancel turned true
  bool idle_timeout = false;    // nothing arrived for HttpRequest::idle_timeout
  bool aborted = false;         // on_body returned false
  // Retry-After of a 429 or 503 (seconds, or an HTTP date as seconds from now); 0 when absent or
  // for other statuses.
  std::chrono::seconds retry_after{0};

  static constexpr size_t kMaxResponseBody = 64 * 1024;
  static constexpr size_t kMax2xxBody = 4096;
  // How long a body may take to arrive once the headers are in.
  static constexpr std::chrono::milliseconds kBodyGrace{2000};
  // Longest a request goes without looking at its cancel flag.
  static constexpr std::chrono::milliseconds kCancelPoll{100};
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // POST req.body.
  virtual HttpResponse Post(const HttpRequest& req) = 0;
  // GET (req.body is ignored). Not every test double implements it.
  virtual HttpResponse Get(const HttpRequest& req);
  // Any thread: makes a request in progress look at its cancel flag now rather than within
  // kCancelPoll. Harmless when nothing is in progress.
  virtual void Wake() {}
};

// libcurl implementation; calls curl_global_init once per process.
std::unique_ptr<HttpClient> NewCurlHttpClient();

// The URL with any "user:password@" removed and query values masked (?token=<redacted>), for
// logs and error messages.
std::string RedactUrl(std::string_view url);
// "host[:port]" of a URL (no userinfo), e.g. the metrics host label.
std::string UrlHost(std::string_view url);
// msg with everything secret in the given URLs (userinfo, its password, query values, the URL
// itself) replaced, for libcurl messages that may quote a URL.
std::string ScrubUrlSecrets(std::string msg, std::string_view url, std::string_view proxy_url);
// False when a header name or value could split the request (CR, LF, NUL) or the name is empty
// or not a token.
bool ValidHeader(std::string_view name, std::string_view value);
// The CURLOPT_SSLVERSION value for Go-named TLS bounds ("TLS12", ...); 0 (libcurl's default)
// when both are empty.
long CurlSslVersion(std::string_view min_version, std::string_view max_version);
// True when TLS server_name is empty or equals the URL's host (nothing to rewrite).
bool ServerNameApplies(std::string_view url, std::string_view server_name);

}  // namespace skidder::io
