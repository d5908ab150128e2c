// ResolveSdConfig: kubernetes_sd_configs entry + process environment -> what PodDiscovery asks.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "kubernetes/discovery.h"

namespace skidder::kubernetes {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

Result<std::string> ReadTrimmed(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Err(NotFound(fmt::format("cannot read {}", path)));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

// A namespace goes into the request path: it must be a DNS label.
bool ValidNamespace(std::string_view ns) {
  if (ns.empty() || ns.size() > 63 || ns.front() == '-' || ns.back() == '-') return false;
  for (char c : ns) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

Status ResolveServer(const config::KubernetesSdConfig& cfg, const DiscoveryEnv& env,
                     ClientConfig& c) {
  if (cfg.api_server.empty()) {
    // Like Prometheus: custom credentials only make sense with an explicit api_server.
    if (!cfg.bearer_token.empty() || !cfg.bearer_token_file.empty() ||
        !cfg.tls_config.ca_file.empty() || !cfg.tls_config.cert_file.empty() ||
        cfg.tls_config.insecure_skip_verify) {
      return InvalidArgument(
          "kubernetes_sd_configs: bearer_token/tls_config require 'api_server' to be set");
    }
    if (env.service_host.empty() || env.service_port.empty()) {
      return InvalidArgument(
          "kubernetes_sd_configs: not running in a cluster (KUBERNETES_SERVICE_HOST/PORT unset) "
          "and no 'api_server' set");
    }
    const bool v6 = env.service_host.find(':') != std::string::npos;
    c.server = fmt::format("https://{}{}{}:{}", v6 ? "[" : "", env.service_host, v6 ? "]" : "",
                           env.service_port);
    c.bearer_token_file = env.service_account_dir + "/token";
    c.tls.ca_file = env.service_account_dir + "/ca.crt";
    return Status::Ok();
  }
  if (!cfg.api_server.starts_with("https://") && !cfg.api_server.starts_with("http://")) {
    return InvalidArgument(
        fmt::format("kubernetes_sd_configs: api_server \"{}\" must start with https:// or http://",
                    cfg.api_server));
  }
  if (!cfg.bearer_token.empty() && !cfg.bearer_token_file.empty()) {
    return InvalidArgument(
        "kubernetes_sd_configs: at most one of bearer_token and bearer_token_file may be set");
  }
  c.server = cfg.api_server;
  while (c.server.ends_with('/')) c.server.pop_back();
  c.bearer_token = cfg.bearer_token;
  c.bearer_token_file = cfg.bearer_token_file;
  c.tls = cfg.tls_config;
  return Status::Ok();
}

Result<std::vector<std::string>> ResolveNamespaces(const config::KubernetesSdConfig& cfg,
                                                   const DiscoveryEnv& env) {
  std::vector<std::string> names = cfg.namespaces;
  if (cfg.own_namespace) {
    auto own = ReadTrimmed(env.service_account_dir + "/namespace");
    if (!own) {
      return Err(InvalidArgument("kubernetes_sd_configs: own_namespace: " + own.error().message()));
    }
    names.push_back(*own);
  }
  for (const std::string& ns : names) {
    if (!ValidNamespace(ns)) {
      return Err(
          InvalidArgument(fmt::format("kubernetes_sd_configs: invalid namespace \"{}\"", ns)));
    }
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  if (names.empty()) names.emplace_back();  // all namespaces
  return names;
}

}  // namespace

DiscoveryEnv DiscoveryEnv::FromProcess() {
  DiscoveryEnv env;
  env.service_host = Env("KUBERNETES_SERVICE_HOST");
  env.service_port = Env("KUBERNETES_SERVICE_PORT");
  env.node_name = Env("NODE_NAME");
  if (env.node_name.empty()) env.node_name = Env("HOSTNAME");
  return env;
}

Result<ResolvedSd> ResolveSdConfig(const config::KubernetesSdConfig& cfg, const DiscoveryEnv& env) {
  if (cfg.role != "pod") {
    return Err(InvalidArgument(fmt::format(
        "kubernetes_sd_configs: role \"{}\" is not supported (only \"pod\")", cfg.role)));
  }
  if (!cfg.kubeconfig_file.empty()) {
    return Err(InvalidArgument(
        "kubernetes_sd_configs: kubeconfig_file is not supported yet; use api_server with "
        "bearer_token_file and tls_config"));
  }
  ResolvedSd out;
  if (Status s = ResolveServer(cfg, env, out.client); !s.ok()) return Err(std::move(s));

  std::string label, field;
  bool seen_pod_selector = false;
  for (const auto& sel : cfg.selectors) {
    if (sel.role != "pod") {
      return Err(InvalidArgument(fmt::format(
          "kubernetes_sd_configs: selector role \"{}\" is not supported for role pod", sel.role)));
    }
    if (seen_pod_selector) {
      return Err(InvalidArgument("kubernetes_sd_configs: duplicated selector role: pod"));
    }
    seen_pod_selector = true;
    label = sel.label;
    field = sel.field;
  }
  // Node scoping: a DaemonSet only ever needs the pods of its own node, and the API server does
  // the filtering, so the agent holds no cluster-wide state.
  if (!env.node_name.empty() && field.find("spec.nodeName") == std::string::npos) {
    if (!field.empty()) field.push_back(',');
    field.append("spec.nodeName=").append(env.node_name);
  }
  auto namespaces = ResolveNamespaces(cfg, env);
  if (!namespaces) return Err(namespaces.error());
  for (std::string& ns : *namespaces) out.queries.push_back(PodQuery{std::move(ns), label, field});
  return out;
}

}  // namespace skidder::kubernetes
