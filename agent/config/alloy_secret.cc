// remote.kubernetes.secret: a Secret's data for other components' attributes, as Grafana's
// k8s-monitoring chart writes loki.write credentials (`password =
// remote.kubernetes.secret.loki.data["password"]`).
//
// Alloy polls the Secret every poll_frequency and re-evaluates what reads it. skidder's
// configuration is fixed between loads, so the Secret is read when the config is loaded and on
// every reload (SIGHUP, POST /reload): a rotated credential takes effect with a reload. A Secret
// that cannot be read fails the load with the reason (at start, the agent exits; on reload, the
// running config stays), as Alloy's components that read it fail to evaluate.
#include <fmt/format.h>

#include "config/alloy_internal.h"
#include "config/sections.h"
#include "lang/alloy/eval.h"

namespace skidder::config::alloy_internal {

Result<Value> Loader::SecretData(const Block& b, Pos pos) {
  const std::string id = Id(b);
  if (auto it = secrets_.find(id); it != secrets_.end()) return it->second;
  if (Status s = CheckBody(b, {"name", "namespace", "poll_frequency", "poll_timeout"}, {"client"});
      !s.ok()) {
    return Err(std::move(s));
  }
  SecretRef ref;
  ref.timeout = std::chrono::seconds(15);  // Alloy's poll_timeout
  for (const char* required : {"name", "namespace"}) {
    const Attribute* a = b.Attr(required);
    if (a == nullptr) {
      return Err(ErrorAt(b.pos, fmt::format("remote.kubernetes.secret: {} is required", required)));
    }
    Result<Value> v = Eval(*a);
    if (!v) return v;
    if (v->kind != Value::Kind::kString || v->str.empty()) {
      return Err(ErrorAt(a->pos, fmt::format("{}: expected the Secret's {}", required, required)));
    }
    (a->name == "name" ? ref.name : ref.namespace_name) = v->str;
  }
  if (const Attribute* a = b.Attr("poll_timeout")) {
    if (Status s = DurationAttr(*a, &ref.timeout); !s.ok()) return Err(std::move(s));
  }
  if (const Attribute* a = b.Attr("poll_frequency")) {
    Duration unused;
    if (Status s = DurationAttr(*a, &unused); !s.ok()) return Err(std::move(s));
  }
  // The client block: the API server settings discovery.kubernetes takes, read by the same code.
  YAML::Node job;
  job["job_name"] = id;
  YAML::Node sd(YAML::NodeType::Map);
  for (const Block& nb : b.blocks) {
    if (Status s = CheckBody(nb,
                             {"api_server", "kubeconfig_file", "bearer_token", "bearer_token_file",
                              "proxy_url", "no_proxy", "proxy_from_environment",
                              "proxy_connect_header", "follow_redirects", "enable_http2"},
                             {"basic_auth", "authorization", "oauth2", "tls_config"});
        !s.ok()) {
      return Err(std::move(s));
    }
    Result<YAML::Node> client = KubernetesSd(*this, nb);
    if (!client) return Err(client.error());
    sd = *client;
  }
  sd["role"] = "pod";
  job["kubernetes_sd_configs"].push_back(sd);
  ScrapeConfig read;
  std::vector<std::string> no_warnings;
  if (Status s = internal::ReadScrapeConfig(job, Where(b.blocks.empty() ? b.pos : b.blocks[0].pos),
                                            id + ".client", &read, &no_warnings);
      !s.ok()) {
    return Err(std::move(s));
  }
  ref.client = read.kubernetes_sd_configs.at(0);
  if (hooks_.offline) {
    cfg_->warnings.push_back(
        fmt::format("{}: {} is not read by -check-syntax: what reads its data "
                    "was checked with null values",
                    Where(b.pos), id));
    return secrets_.emplace(id, Value::MakeObject({})).first->second;
  }
  if (!hooks_.read_secret) {
    return Err(ErrorAt(pos, fmt::format("{}: this command does not read Kubernetes Secrets", id)));
  }
  Result<std::map<std::string, std::string>> data = hooks_.read_secret(ref);
  if (!data) return Err(ErrorAt(b.pos, fmt::format("{}: {}", id, data.error().message())));
  lang::alloy::Object fields;
  for (const auto& [key, base64] : *data) {
    Result<Value> decoded =
        lang::alloy::CallFunction("encoding.from_base64", {Value::String(base64)});
    if (!decoded) {
      return Err(ErrorAt(b.pos, fmt::format("{}: the value of {} is not base64", id, key)));
    }
    fields.emplace_back(key, std::move(*decoded));
  }
  return secrets_.emplace(id, Value::MakeObject(std::move(fields))).first->second;
}

}  // namespace skidder::config::alloy_internal
