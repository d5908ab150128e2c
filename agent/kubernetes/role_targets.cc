#include "kubernetes/role_targets.h"

#include <fmt/format.h>

#include "kubernetes/endpoint_join.h"
#include "kubernetes/pod_json.h"
#include "util/json_parse.h"

namespace skidder::kubernetes {
namespace {

using rapidjson::Value;

std::string Meta(std::string_view suffix) { return fmt::format("__meta_kubernetes_{}", suffix); }

// obj[key] as text: strings as they are, integers in decimal, booleans as true/false; "" else.
std::string Text(const Value* obj, const char* key) {
  if (obj == nullptr || !obj->IsObject()) return "";
  auto it = obj->FindMember(key);
  if (it == obj->MemberEnd()) return "";
  const Value& v = it->value;
  if (v.IsString()) return {v.GetString(), v.GetStringLength()};
  if (v.IsInt64()) return std::to_string(v.GetInt64());
  if (v.IsBool()) return v.GetBool() ? "true" : "false";
  return "";
}
bool Has(const Value* obj, const char* key) {
  return obj != nullptr && obj->IsObject() && obj->HasMember(key);
}

// The labels every target of the object shares: namespace (when namespaced), <kind>_name and
// the object's labels and annotations as <kind>_label_<n>, _labelpresent_<n>, ...
struct Common {
  Labels labels;
  std::string ns, name;
};
Result<Common> CommonLabels(std::string_view kind, const Value& obj, bool namespaced,
                            const MetaLabelFilter& keep) {
  const Value* meta = JsonObject(obj, "metadata");
  Common c;
  c.name = Text(meta, "name");
  c.ns = Text(meta, "namespace");
  if (c.name.empty() || (namespaced && c.ns.empty())) {
    return Err(InvalidArgument(fmt::format("{} without name or namespace", kind)));
  }
  LabelsBuilder b;
  if (namespaced) b.Add(Meta("namespace"), c.ns);
  b.Add(Meta(fmt::format("{}_name", kind)), c.name);
  auto add_map = [&](const char* field, std::string_view what) {
    const Value* m = JsonObject(*meta, field);
    if (m == nullptr) return;
    for (auto it = m->MemberBegin(); it != m->MemberEnd(); ++it) {
      if (!it->value.IsString()) continue;
      const std::string key = SanitizeLabelName({it->name.GetString(), it->name.GetStringLength()});
      std::string name = Meta(fmt::format("{}_{}_{}", kind, what, key));
      if (!keep || keep(name)) b.Add(std::move(name), it->value.GetString());
      name = Meta(fmt::format("{}_{}present_{}", kind, what, key));
      if (!keep || keep(name)) b.Add(std::move(name), "true");
    }
  };
  add_map("labels", "label");
  add_map("annotations", "annotation");
  c.labels = b.Build();
  return c;
}

std::vector<Labels> NodeTargets(const Value& obj, const Common& c) {
  static constexpr std::string_view kPreference[] = {"InternalIP",  "InternalDNS",  "ExternalIP",
                                                     "ExternalDNS", "LegacyHostIP", "Hostname"};
  const Value* status = JsonObject(obj, "status");
  Labels ls = c.labels;
  ls.Set(Meta("node_provider_id"), Text(JsonObject(obj, "spec"), "providerID"));
  std::vector<std::pair<std::string, std::string>> first;  // type -> first address of it
  if (const Value* addrs = status ? JsonArray(*status, "addresses") : nullptr) {
    for (const Value& a : addrs->GetArray()) {
      const std::string type = Text(&a, "type"), addr = Text(&a, "address");
      if (type.empty() || ls.Has(Meta("node_address_" + SanitizeLabelName(type)))) continue;
      ls.Set(Meta("node_address_" + SanitizeLabelName(type)), addr);
      first.emplace_back(type, addr);
    }
  }
  std::string host;
  for (std::string_view want : kPreference) {
    for (const auto& [type, addr] : first) {
      if (host.empty() && type == want) host = addr;
    }
  }
  if (host.empty()) return {};  // Prometheus skips a node without an address
  const Value* daemon = status ? JsonObject(*status, "daemonEndpoints") : nullptr;
  const Value* kubelet = daemon ? JsonObject(*daemon, "kubeletEndpoint") : nullptr;
  ls.Set("__address__",
         HostPort(host, Text(kubelet, "Port").empty() ? "0" : Text(kubelet, "Port")));
  ls.Set("instance", c.name);
  return {std::move(ls)};
}

std::vector<Labels> ServiceTargets(const Value& obj, const Common& c) {
  const Value* spec = JsonObject(obj, "spec");
  const std::string type = Text(spec, "type");
  Labels base = c.labels;
  base.Set(Meta("service_type"), type);
  if (type == "ExternalName") {
    base.Set(Meta("service_external_name"), Text(spec, "externalName"));
  } else {
    base.Set(Meta("service_cluster_ip"), Text(spec, "clusterIP"));
  }
  if (type == "LoadBalancer")
    base.Set(Meta("service_loadbalancer_ip"), Text(spec, "loadBalancerIP"));
  std::vector<Labels> out;
  const Value* ports = spec ? JsonArray(*spec, "ports") : nullptr;
  if (ports == nullptr) return out;
  for (const Value& p : ports->GetArray()) {
    Labels ls = base;
    const std::string port = Text(&p, "port");
    ls.Set("__address__", fmt::format("{}.{}.svc:{}", c.name, c.ns, port));
    ls.Set(Meta("service_port_name"), Text(&p, "name"));
    ls.Set(Meta("service_port_number"), port);
    ls.Set(Meta("service_port_protocol"), Text(&p, "protocol"));
    out.push_back(std::move(ls));
  }
  return out;
}

// targetRef of an endpoint address: <prefix>address_target_kind / _name.
void TargetRef(const Value* ref, std::string_view prefix, Labels& ls) {
  if (ref == nullptr) return;
  ls.Set(Meta(fmt::format("{}address_target_kind", prefix)), Text(ref, "kind"));
  ls.Set(Meta(fmt::format("{}address_target_name", prefix)), Text(ref, "name"));
}

std::vector<Labels> EndpointsTargets(const Value& obj, const Common& c) {
  std::vector<Labels> out;
  const Value* subsets = JsonArray(obj, "subsets");
  if (subsets == nullptr) return out;
  for (const Value& sub : subsets->GetArray()) {
    const Value* ports = JsonArray(sub, "ports");
    if (ports == nullptr) continue;
    for (const Value& p : ports->GetArray()) {
      for (auto [field, ready] : {std::pair{"addresses", "true"}, {"notReadyAddresses", "false"}}) {
        const Value* addrs = JsonArray(sub, field);
        if (addrs == nullptr) continue;
        for (const Value& a : addrs->GetArray()) {
          Labels ls = c.labels;
          ls.Set("__address__", HostPort(Text(&a, "ip"), Text(&p, "port")));
          ls.Set(Meta("endpoint_port_name"), Text(&p, "name"));
          ls.Set(Meta("endpoint_port_protocol"), Text(&p, "protocol"));
          ls.Set(Meta("endpoint_ready"), ready);
          if (Has(&p, "appProtocol"))
            ls.Set(Meta("endpoint_port_app_protocol"), Text(&p, "appProtocol"));
          if (!Text(&a, "hostname").empty())
            ls.Set(Meta("endpoint_hostname"), Text(&a, "hostname"));
          if (Has(&a, "nodeName")) ls.Set(Meta("endpoint_node_name"), Text(&a, "nodeName"));
          TargetRef(JsonObject(a, "targetRef"), "endpoint_", ls);
          out.push_back(std::move(ls));
        }
      }
    }
  }
  return out;
}

void SliceEndpoint(const Value& ep, Labels& ls) {
  const Value* conds = JsonObject(ep, "conditions");
  for (const char* cond : {"ready", "serving", "terminating"}) {
    if (Has(conds, cond)) {
      ls.Set(Meta(fmt::format("endpointslice_endpoint_conditions_{}", cond)), Text(conds, cond));
    }
  }
  if (Has(&ep, "hostname")) ls.Set(Meta("endpointslice_endpoint_hostname"), Text(&ep, "hostname"));
  if (Has(&ep, "nodeName")) ls.Set(Meta("endpointslice_endpoint_node_name"), Text(&ep, "nodeName"));
  if (Has(&ep, "zone")) ls.Set(Meta("endpointslice_endpoint_zone"), Text(&ep, "zone"));
  TargetRef(JsonObject(ep, "targetRef"), "endpointslice_", ls);
  if (const Value* topo = JsonObject(ep, "deprecatedTopology")) {
    for (auto it = topo->MemberBegin(); it != topo->MemberEnd(); ++it) {
      if (!it->value.IsString()) continue;
      const std::string k = SanitizeLabelName(it->name.GetString());
      ls.Set(Meta("endpointslice_endpoint_topology_" + k), it->value.GetString());
      ls.Set(Meta("endpointslice_endpoint_topology_present_" + k), "true");
    }
  }
}

std::vector<Labels> EndpointSliceTargets(const Value& obj, const Common& c) {
  std::vector<Labels> out;
  Labels base = c.labels;
  base.Set(Meta("endpointslice_address_type"), Text(&obj, "addressType"));
  const Value* ports = JsonArray(obj, "ports");
  const Value* eps = JsonArray(obj, "endpoints");
  if (ports == nullptr || eps == nullptr) return out;
  for (const Value& p : ports->GetArray()) {
    for (const Value& ep : eps->GetArray()) {
      const Value* addrs = JsonArray(ep, "addresses");
      if (addrs == nullptr || addrs->Empty() || !(*addrs)[0].IsString()) continue;
      Labels ls = base;
      ls.Set("__address__", HostPort((*addrs)[0].GetString(), Text(&p, "port")));
      ls.Set(Meta("endpointslice_port"), Text(&p, "port"));
      if (Has(&p, "name")) ls.Set(Meta("endpointslice_port_name"), Text(&p, "name"));
      if (Has(&p, "protocol")) ls.Set(Meta("endpointslice_port_protocol"), Text(&p, "protocol"));
      if (Has(&p, "appProtocol")) {
        ls.Set(Meta("endpointslice_port_app_protocol"), Text(&p, "appProtocol"));
      }
      SliceEndpoint(ep, ls);
      out.push_back(std::move(ls));
    }
  }
  return out;
}

// Kubernetes' TLS host matching: exact, or "*.example.com" for exactly one more label.
bool HostMatches(std::string_view pattern, std::string_view host) {
  if (pattern == host) return true;
  if (!pattern.starts_with("*.")) return false;
  const size_t dot = host.find('.');
  return dot != std::string_view::npos && dot > 0 && host.substr(dot) == pattern.substr(1);
}

std::vector<Labels> IngressTargets(const Value& obj, const Common& c) {
  const Value* spec = JsonObject(obj, "spec");
  const Value* meta = JsonObject(obj, "metadata");
  Labels base = c.labels;
  std::string cls = Text(spec, "ingressClassName");
  if (cls.empty())
    cls = Text(meta ? JsonObject(*meta, "annotations") : nullptr, "kubernetes.io/ingress.class");
  base.Set(Meta("ingress_class_name"), cls);
  std::vector<Labels> out;
  const Value* rules = spec ? JsonArray(*spec, "rules") : nullptr;
  if (rules == nullptr) return out;
  const Value* tls = JsonArray(*spec, "tls");
  for (const Value& rule : rules->GetArray()) {
    const std::string host = Text(&rule, "host");
    std::string scheme = "http";
    for (size_t i = 0; tls != nullptr && i < tls->Size(); ++i) {
      const Value* hosts = JsonArray((*tls)[i], "hosts");
      if (hosts == nullptr) continue;
      for (const Value& h : hosts->GetArray()) {
        if (h.IsString() && HostMatches(h.GetString(), host)) scheme = "https";
      }
    }
    std::vector<std::string> paths;
    const Value* http = JsonObject(rule, "http");
    if (const Value* ps = http ? JsonArray(*http, "paths") : nullptr) {
      for (const Value& p : ps->GetArray()) {
        const std::string path = Text(&p, "path");
        paths.push_back(path.empty() ? "/" : path);
      }
    }
    if (paths.empty()) paths.emplace_back("/");
    for (const std::string& path : paths) {
      Labels ls = base;
      ls.Set("__address__", host);
      ls.Set(Meta("ingress_scheme"), scheme);
      ls.Set(Meta("ingress_host"), host);
      ls.Set(Meta("ingress_path"), path);
      out.push_back(std::move(ls));
    }
  }
  return out;
}

}  // namespace

std::string HostPort(std::string_view host, std::string_view port) {
  const bool v6 = host.find(':') != std::string_view::npos;
  return fmt::format("{}{}{}:{}", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

std::optional<Role> ParseRole(std::string_view name) {
  if (name == "pod") return Role::kPod;
  if (name == "node") return Role::kNode;
  if (name == "service") return Role::kService;
  if (name == "endpoints") return Role::kEndpoints;
  if (name == "endpointslice") return Role::kEndpointSlice;
  if (name == "ingress") return Role::kIngress;
  return std::nullopt;
}

RoleResource ResourceOf(Role role) {
  switch (role) {
    case Role::kPod:
      return {"/api/v1", "pods", true};
    case Role::kNode:
      return {"/api/v1", "nodes", false};
    case Role::kService:
      return {"/api/v1", "services", true};
    case Role::kEndpoints:
      return {"/api/v1", "endpoints", true};
    case Role::kEndpointSlice:
      return {"/apis/discovery.k8s.io/v1", "endpointslices", true};
    case Role::kIngress:
      return {"/apis/networking.k8s.io/v1", "ingresses", true};
    case Role::kPodMeta:
      return {"/api/v1", "pods", true};
    case Role::kServiceMeta:
      return {"/api/v1", "services", true};
    case Role::kNodeMeta:
      return {"/api/v1", "nodes", false};
    case Role::kEvent:
      return {"/api/v1", "events", true};
  }
  return {"/api/v1", "pods", true};
}

Result<ObjectTargets> ObjectTargetsFromJson(Role role, const Value& obj,
                                            const MetaLabelFilter& keep) {
  if (role == Role::kPod || role == Role::kPodMeta) {
    auto pod = PodFromJson(obj);
    if (!pod) return Err(pod.error());
    if (role == Role::kPodMeta) return ObjectTargets{pod->Key(), PodMetaSets(*pod, obj, keep)};
    return ObjectTargets{pod->Key(), PodTargets(*pod, keep)};
  }
  if (role == Role::kServiceMeta) {  // the labels Prometheus' serviceLabels() builds
    auto common = CommonLabels("service", obj, true, keep);
    if (!common) return Err(common.error());
    return ObjectTargets{common->ns + "/" + common->name, {std::move(common->labels)}};
  }
  if (role == Role::kNodeMeta) {  // addNodeLabels(): the name and labels, no annotations
    auto common = CommonLabels("node", obj, false, keep);
    if (!common) return Err(common.error());
    common->labels.RemoveIf([](const Label& l) {
      return std::string_view(l.name).starts_with("__meta_kubernetes_node_annotation");
    });
    return ObjectTargets{common->name, {std::move(common->labels)}};
  }
  if (role == Role::kEvent) {
    const Value* meta = JsonObject(obj, "metadata");
    const std::string_view name = meta ? JsonString(*meta, "name") : "";
    if (name.empty()) return Err(InvalidArgument("event without metadata.name"));
    return ObjectTargets{
        fmt::format("{}/{}", JsonString(*meta, "namespace"), name),
        {Labels{{"resourceVersion", std::string(JsonString(*meta, "resourceVersion"))}}}};
  }
  static constexpr std::string_view kKinds[] = {"pod",       "node",          "service",
                                                "endpoints", "endpointslice", "ingress"};
  const bool namespaced = ResourceOf(role).namespaced;
  auto common = CommonLabels(kKinds[static_cast<int>(role)], obj, namespaced, keep);
  if (!common) return Err(common.error());
  ObjectTargets out;
  out.key = namespaced ? common->ns + "/" + common->name : common->name;
  switch (role) {
    case Role::kNode:
      out.targets = NodeTargets(obj, *common);
      break;
    case Role::kService:
      out.targets = ServiceTargets(obj, *common);
      break;
    case Role::kEndpoints:
      out.targets = EndpointsTargets(obj, *common);
      break;
    case Role::kEndpointSlice:
      out.targets = EndpointSliceTargets(obj, *common);
      break;
    default:
      out.targets = IngressTargets(obj, *common);
      break;
  }
  return out;
}

Result<ObjectTargets> ObjectTargetsFromJson(Role role, std::string_view json,
                                            const MetaLabelFilter& keep) {
  rapidjson::Document doc;
  if (JsonParseResult r = ParseJsonBounded(doc, json); !r.ok()) {
    return Err(InvalidArgument("object JSON: " + r.Describe()));
  }
  return ObjectTargetsFromJson(role, doc, keep);
}

}  // namespace skidder::kubernetes
