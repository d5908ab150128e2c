// ResolveSdConfig: kubernetes_sd_configs entry + process environment -> what PodDiscovery asks.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "io/proxy.h"
#include "kubernetes/discovery.h"
#include "kubernetes/kubeconfig.h"
#include "util/kube_names.h"

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

// basic_auth: the *_file forms are read here, once (the API server's basic auth is a static
// credential; a token file is what rotates).
Status ResolveBasicAuth(const config::KubernetesSdConfig& cfg, ClientConfig& c) {
  if (!cfg.basic_auth) return Status::Ok();
  const config::BasicAuth& a = *cfg.basic_auth;
  c.username = a.username;
  c.password = a.password;
  for (auto [file, out] :
       {std::pair{&a.username_file, &c.username}, {&a.password_file, &c.password}}) {
    if (file->empty()) continue;
    auto v = ReadTrimmed(*file);
    if (!v) return InvalidArgument("kubernetes_sd_configs: basic_auth: " + v.error().message());
    *out = std::move(*v);
  }
  return Status::Ok();
}

Status ResolveServer(const config::KubernetesSdConfig& cfg, const DiscoveryEnv& env,
                     ClientConfig& c) {
  if (cfg.api_server.empty()) {
    // Like Prometheus: custom credentials only make sense with an explicit api_server.
    if (!cfg.bearer_token.empty() || !cfg.bearer_token_file.empty() || cfg.basic_auth ||
        cfg.oauth2 || !cfg.tls_config.ca_file.empty() || !cfg.tls_config.cert_file.empty() ||
        !cfg.tls_config.ca.empty() || !cfg.tls_config.cert.empty() ||
        cfg.tls_config.insecure_skip_verify) {
      return InvalidArgument(
          "kubernetes_sd_configs: bearer_token/basic_auth/oauth2/tls_config require 'api_server' "
          "to be set");
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
  c.oauth2 = cfg.oauth2;
  return ResolveBasicAuth(cfg, c);
}

// Off-cluster through a kubeconfig: it alone says where the server is and how to authenticate
// (Prometheus refuses the same combinations). own_namespace then means the context's namespace.
Status ResolveKubeconfig(const config::KubernetesSdConfig& cfg, ClientConfig& c,
                         std::string& own_namespace) {
  if (!cfg.api_server.empty()) {
    return InvalidArgument(
        "kubernetes_sd_configs: set either api_server or kubeconfig_file, not both");
  }
  if (!cfg.bearer_token.empty() || !cfg.bearer_token_file.empty() || cfg.basic_auth || cfg.oauth2 ||
      !cfg.tls_config.ca_file.empty() || !cfg.tls_config.cert_file.empty() ||
      !cfg.tls_config.key_file.empty() || !cfg.tls_config.ca.empty() ||
      !cfg.tls_config.cert.empty() || !cfg.tls_config.key.empty() ||
      cfg.tls_config.insecure_skip_verify) {
    return InvalidArgument(
        "kubernetes_sd_configs: bearer_token/bearer_token_file/oauth2/tls_config cannot be "
        "combined with "
        "kubeconfig_file; put the credentials in the kubeconfig");
  }
  auto kc = LoadKubeconfig(cfg.kubeconfig_file);
  if (!kc) return kc.error();
  c = std::move(kc->client);
  own_namespace = std::move(kc->namespace_name);
  return Status::Ok();
}

// own_namespace: the kubeconfig context's namespace, or "" for the service account's.
Result<std::vector<std::string>> ResolveNamespaces(const config::KubernetesSdConfig& cfg,
                                                   const DiscoveryEnv& env,
                                                   const std::string& own_namespace) {
  std::vector<std::string> names = cfg.namespaces;
  if (cfg.own_namespace && !own_namespace.empty()) {
    names.push_back(own_namespace);
  } else if (cfg.own_namespace) {
    auto own = ReadTrimmed(env.service_account_dir + "/namespace");
    if (!own) {
      return Err(InvalidArgument("kubernetes_sd_configs: own_namespace: " + own.error().message()));
    }
    names.push_back(*own);
  }
  for (const std::string& ns : names) {
    if (!IsDnsLabel(ns)) {  // it goes into the request path
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
  if (env.node_name.empty()) {
    env.node_name = Env("HOSTNAME");
    env.node_from_hostname = !env.node_name.empty();
  }
  return env;
}

Result<ResolvedSd> ResolveSdConfig(const config::KubernetesSdConfig& cfg, const DiscoveryEnv& env,
                                   std::optional<Role> given) {
  const std::optional<Role> role = given ? given : ParseRole(cfg.role);
  if (!role) {
    return Err(InvalidArgument(fmt::format(
        "kubernetes_sd_configs: unknown role \"{}\"; use one of pod, node, service, endpoints, "
        "endpointslice, ingress",
        cfg.role)));
  }
  ResolvedSd out;
  std::string own_namespace;
  Status s = cfg.kubeconfig_file.empty() ? ResolveServer(cfg, env, out.client)
                                         : ResolveKubeconfig(cfg, out.client, own_namespace);
  if (!s.ok()) return Err(std::move(s));
  out.client.proxy_url = cfg.proxy_url;  // with a kubeconfig too: it names no proxy we read
  out.client.no_proxy = cfg.no_proxy;
  out.client.proxy_connect_header = io::ProxyConnectHeaderLines(cfg.proxy_connect_header);

  std::string label, field;
  bool seen_selector = false;
  for (const auto& sel : cfg.selectors) {
    if (sel.role != cfg.role) {
      return Err(InvalidArgument(
          fmt::format("kubernetes_sd_configs: selector role \"{}\" is not supported for role {}",
                      sel.role, cfg.role)));
    }
    if (seen_selector) {
      return Err(InvalidArgument(
          fmt::format("kubernetes_sd_configs: duplicated selector role: {}", cfg.role)));
    }
    seen_selector = true;
    label = sel.label;
    field = sel.field;
  }
  // Node scoping: a DaemonSet only ever needs the pods of its own node, and the API server does
  // the filtering, so the agent holds no cluster-wide state. Other roles are cluster objects.
  if (*role == Role::kPod && !env.node_name.empty() &&
      field.find("spec.nodeName") == std::string::npos) {
    if (!field.empty()) field.push_back(',');
    field.append("spec.nodeName=").append(env.node_name);
  }
  auto namespaces = ResolveNamespaces(cfg, env, own_namespace);
  if (!namespaces) return Err(namespaces.error());
  // Nodes belong to no namespace: one cluster-wide query whatever namespaces says (Prometheus
  // ignores it too).
  if (!ResourceOf(*role).namespaced) namespaces = std::vector<std::string>{""};
  for (std::string& ns : *namespaces) {
    out.queries.push_back(PodQuery{*role, std::move(ns), label, field});
  }
  return out;
}

}  // namespace skidder::kubernetes
