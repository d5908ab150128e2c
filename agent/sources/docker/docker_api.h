// DockerApi: the few Docker Engine API calls the Docker source makes, over libcurl: on the
// daemon's Unix socket (CURLOPT_UNIX_SOCKET_PATH) for unix:// hosts, over TCP for tcp:// and
// http(s):// hosts. The HTTP client settings (basic auth, bearer token, authorization, OAuth2,
// TLS, redirects) apply to http(s):// hosts only, as in Prometheus' Docker discovery; the proxy
// settings to tcp:// hosts too. Credentials are io::Credentials: secret files re-read when they
// change, an OAuth2 token fetched before the first call; after a 401/403 they are refreshed and
// the call is made once more.
//
// One instance per thread (one libcurl easy handle, kept for keep-alive). Unversioned paths:
// the daemon answers them with its own API version, as the Docker client does after version
// negotiation.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "io/credentials.h"
#include "util/status.h"

namespace skidder::sources::docker {

// The most of a container's inspect answer (GET /containers/{id}/json) read.
inline constexpr size_t kMaxInspectBody = 4 << 20;

// Where and how to reach one daemon; derived from a DockerSdConfig once.
struct Endpoint {
  std::string socket_path;      // unix:// hosts; "" for TCP
  std::string base_url;         // "http://localhost" for a socket, else scheme://host:port
  bool http_settings = false;   // apply auth and TLS (http:// and https:// hosts)
  bool proxy_settings = false;  // apply the proxy settings (every host but unix://)
  config::DockerSdConfig cfg;

  static Endpoint From(const config::DockerSdConfig& cfg);
};

class DockerApi {
 public:
  explicit DockerApi(Endpoint ep);
  ~DockerApi();
  DockerApi(const DockerApi&) = delete;
  DockerApi& operator=(const DockerApi&) = delete;

  // GET path; the body (at most max_body bytes) of a 2xx answer, else an error naming the
  // status or the transport failure.
  // cancel (may be null) ends the request early when it turns true.
  Result<std::string> Get(const std::string& path, size_t max_body,
                          std::chrono::milliseconds timeout,
                          const std::atomic<bool>* cancel = nullptr);
  // GET path and hand each piece of the 2xx body to on_data until the daemon ends it, on_data
  // returns false, or cancel turns true (checked at least once a second). Ok when the body
  // ended normally (the container stopped); an error otherwise.
  Status Stream(const std::string& path, const std::function<bool(std::string_view)>& on_data,
                const std::atomic<bool>* cancel);

 private:
  Status Perform(const std::string& path, void* call, std::chrono::milliseconds timeout);
  Status PerformOnce(const std::string& path, void* call, std::chrono::milliseconds timeout);
  // The Authorization header value ("" = none); loads the credentials on first use.
  Result<std::string> Authorization(const std::atomic<bool>* cancel);
  Endpoint ep_;
  void* easy_ = nullptr;
  std::optional<io::Credentials> creds_;  // http(s):// hosts with credentials, once loaded
};

// "/containers/json?filters=..." for the configured filters (URL-encoded JSON).
std::string ListPath(const config::DockerSdConfig& cfg);
// "/containers/json?all=1&filters=..." listing those of the containers that the daemon still
// has, running or not (Docker's id filter).
std::string ExistingPath(const std::vector<std::string>& ids);
std::string UrlEncode(std::string_view s);

}  // namespace skidder::sources::docker
