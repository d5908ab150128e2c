#include "kubernetes/secret.h"

#include <fmt/format.h>
#include <rapidjson/document.h>

#include "kubernetes/client.h"
#include "util/json_parse.h"

namespace skidder::kubernetes {

Result<std::map<std::string, std::string>> ReadSecretData(const config::KubernetesSdConfig& client,
                                                          const std::string& namespace_name,
                                                          const std::string& name,
                                                          std::chrono::milliseconds timeout,
                                                          const DiscoveryEnv& env) {
  config::KubernetesSdConfig cfg = client;
  cfg.role = "pod";  // ResolveSdConfig wants a role; only its client settings are used here
  Result<ResolvedSd> resolved = ResolveSdConfig(cfg, env);
  if (!resolved) {
    // Its messages name discovery's key; here the settings are the component's client block.
    std::string msg = resolved.error().message();
    if (msg.starts_with("kubernetes_sd_configs: ")) msg.erase(0, 23);
    return Err(Status(resolved.error().code(), std::move(msg)));
  }
  resolved->client.max_body = 4 << 20;  // a Secret is at most 1 MiB
  KubeClient kube(resolved->client);
  const std::string what = fmt::format("secret {}/{}", namespace_name, name);
  const KubeResponse resp =
      kube.Get(fmt::format("/api/v1/namespaces/{}/secrets/{}", KubeClient::Escape(namespace_name),
                           KubeClient::Escape(name)),
               timeout);
  if (resp.status == 0) {
    return Err(Unavailable(
        fmt::format("cannot read {} from {}: {}", what, resolved->client.server, resp.error)));
  }
  if (resp.status == 403) {
    return Err(FailedPrecondition(fmt::format(
        "cannot read {}: {} (the agent's service account needs get on it: add a Role with "
        "resources [secrets], resourceNames [{}], verbs [get] in namespace {}, and bind it)",
        what, ApiMessage(resp.body), name, namespace_name)));
  }
  if (resp.status == 404) return Err(NotFound(fmt::format("{} does not exist", what)));
  if (resp.status != 200 || resp.truncated) {
    return Err(
        Unavailable(fmt::format("cannot read {}: HTTP {}: {}", what, resp.status,
                                resp.truncated ? "the body is too large" : ApiMessage(resp.body))));
  }
  rapidjson::Document doc;
  if (!ParseJsonBounded(doc, resp.body).ok() || !doc.IsObject()) {
    return Err(
        InvalidArgument(fmt::format("cannot read {}: the API server's answer is not JSON", what)));
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

}  // namespace skidder::kubernetes
