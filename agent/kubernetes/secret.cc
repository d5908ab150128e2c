#include "kubernetes/secret.h"

#include <fmt/format.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <thread>

#include "kubernetes/client.h"
#include "kubernetes/pod_json.h"
#include "util/json_parse.h"
#include "util/redact.h"

namespace skidder::kubernetes {
namespace {

using Clock = std::chrono::steady_clock;

// Transient: an outage, an overloaded or restarting API server. Asked again within the timeout.
bool Transient(const KubeResponse& r) {
  return r.status == 0 || r.status == 429 || r.status >= 500;
}

Result<std::map<std::string, std::string>> DataOf(const KubeResponse& resp,
                                                  const std::string& what) {
  rapidjson::Document doc;
  if (!ParseJsonBounded(doc, resp.body).ok() || !doc.IsObject() ||
      JsonString(doc, "kind") != "Secret") {
    return Err(InvalidArgument(
        fmt::format("cannot read {}: the API server's answer is not a Secret", what)));
  }
  std::map<std::string, std::string> data;
  auto it = doc.FindMember("data");
  if (it == doc.MemberEnd() || it->value.IsNull()) return data;  // a Secret without data
  if (!it->value.IsObject()) {
    return Err(InvalidArgument(fmt::format("cannot read {}: its data is not an object", what)));
  }
  for (const auto& m : it->value.GetObject()) {
    if (!m.value.IsString()) {
      return Err(InvalidArgument(fmt::format("cannot read {}: the value of {} is not a string",
                                             what, m.name.GetString())));
    }
    data.emplace(std::string(m.name.GetString(), m.name.GetStringLength()),
                 std::string(m.value.GetString(), m.value.GetStringLength()));
  }
  return data;
}

}  // namespace

Result<std::map<std::string, std::string>> ReadSecretData(const config::KubernetesSdConfig& client,
                                                          const std::string& namespace_name,
                                                          const std::string& name,
                                                          std::chrono::milliseconds timeout,
                                                          const DiscoveryEnv& env,
                                                          const std::atomic<bool>* cancel) {
  config::KubernetesSdConfig cfg = client;
  cfg.role = "pod";  // ResolveSdConfig wants a role; only its client settings are used here
  Result<ResolvedSd> resolved = ResolveSdConfig(cfg, env);
  if (!resolved) {
    // Its messages name discovery's key; here the settings are the component's client block.
    std::string msg = resolved.error().message();
    if (msg.starts_with("kubernetes_sd_configs: ")) msg.erase(0, 23);
    return Err(Status(resolved.error().code(), std::move(msg)));
  }
  // A Secret's data is at most 1 MiB, base64 a third more, and kubectl's last-applied annotation
  // may hold it all again: 4 MiB is room for that, and a bound on a hostile server.
  resolved->client.max_body = 4 << 20;
  KubeClient kube(resolved->client);
  if (cancel != nullptr) kube.CancelWith(cancel);
  auto cancelled = [&] { return cancel != nullptr && cancel->load(); };
  const std::string what = fmt::format("secret {}/{}", namespace_name, name);
  const std::string path =
      fmt::format("/api/v1/namespaces/{}/secrets/{}", KubeClient::Escape(namespace_name),
                  KubeClient::Escape(name));
  // Transient failures are asked again, with a doubling pause, until the timeout is spent: an
  // API server restarting at node boot or during an upgrade should not fail the load.
  const Clock::time_point deadline = Clock::now() + timeout;
  std::chrono::milliseconds pause(250);
  KubeResponse resp;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    resp = kube.Get(path, std::max(left, std::chrono::milliseconds(1)));
    if (!Transient(resp) || Clock::now() + pause >= deadline) break;
    // The pause in short steps, so that a cancel ends it too.
    for (const auto until = Clock::now() + pause; Clock::now() < until && !cancelled();) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (cancelled()) break;
    pause = std::min(pause * 2, std::chrono::milliseconds(4000));
  }
  if (cancelled()) return Err(Unavailable(fmt::format("reading {} was cancelled", what)));
  if (resp.status == 0) {
    return Err(Unavailable(fmt::format("cannot read {} from {}: {}", what,
                                       MaskUrlCredentials(resolved->client.server, "<secret>"),
                                       resp.error)));
  }
  if (resp.status == 403) {
    return Err(FailedPrecondition(fmt::format(
        "cannot read {}: {} (the agent's service account needs get on it: with the chart, "
        "rbac.secrets: [{{namespace: {}, name: {}}}]; else a Role with resources [secrets], "
        "resourceNames [{}], verbs [get] in namespace {}, bound to it)",
        what, ApiMessage(resp.body), namespace_name, name, name, namespace_name)));
  }
  if (resp.status == 404) return Err(NotFound(fmt::format("{} does not exist", what)));
  if (resp.status != 200 || resp.truncated) {
    const std::string why = resp.truncated ? "the body is too large" : ApiMessage(resp.body);
    const std::string msg = fmt::format("cannot read {}: HTTP {}: {}", what, resp.status, why);
    return Err(Transient(resp) ? Unavailable(msg) : InvalidArgument(msg));
  }
  return DataOf(resp, what);
}

}  // namespace skidder::kubernetes
