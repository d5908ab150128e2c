#include "kubernetes/endpoint_join.h"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

#include "kubernetes/pod_json.h"

namespace skidder::kubernetes {
namespace {

using rapidjson::Value;

constexpr std::string_view kContainerPrefix = "__meta_kubernetes_pod_container_";
constexpr const char* kPortNumber = "__meta_kubernetes_pod_container_port_number";
constexpr const char* kContainerName = "__meta_kubernetes_pod_container_name";
constexpr const char* kPodIp = "__meta_kubernetes_pod_ip";
constexpr const char* kNamespace = "__meta_kubernetes_namespace";

std::string IntOrString(const Value& obj, const char* key) {
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd()) return "";
  if (it->value.IsInt64()) return std::to_string(it->value.GetInt64());
  if (it->value.IsString()) return it->value.GetString();
  return "";
}

std::string Get(const Labels& ls, std::string_view name) {
  const std::string* v = ls.Get(name);
  return v != nullptr ? *v : std::string();
}

// base with every label of over set on it (over wins).
Labels Merge(const Labels& base, const Labels& over) {
  LabelsBuilder b(base);
  b.Reserve(over.size());
  for (const Label& l : over) b.Add(l.name, l.value);
  return b.Build();
}

// Names of the per-address labels of a role's target (the rest is the object's, shared).
bool PerAddress(Role role, std::string_view name) {
  if (name == "__address__") return true;
  if (role == Role::kEndpoints) return name.starts_with("__meta_kubernetes_endpoint_");
  return name.starts_with("__meta_kubernetes_endpointslice_port") ||
         name.starts_with("__meta_kubernetes_endpointslice_endpoint_") ||
         name.starts_with("__meta_kubernetes_endpointslice_address_target_");
}

struct Names {
  std::string service_key, target_kind, target_name;
};
Names NamesOf(Role role, const Labels& first) {
  const std::string ns = Get(first, kNamespace);
  if (role == Role::kEndpoints) {
    return {ns + "/" + Get(first, "__meta_kubernetes_endpoints_name"),
            "__meta_kubernetes_endpoint_address_target_kind",
            "__meta_kubernetes_endpoint_address_target_name"};
  }
  const std::string svc =
      Get(first, "__meta_kubernetes_endpointslice_label_kubernetes_io_service_name");
  return {svc.empty() ? "" : ns + "/" + svc, "__meta_kubernetes_endpointslice_address_target_kind",
          "__meta_kubernetes_endpointslice_address_target_name"};
}

std::string EndpointPort(Role role, const Labels& target) {
  if (role == Role::kEndpointSlice) return Get(target, "__meta_kubernetes_endpointslice_port");
  const std::string addr = Get(target, "__address__");
  const size_t colon = addr.rfind(':');
  return colon == std::string::npos ? "" : addr.substr(colon + 1);
}

// The container port set matching port: Prometheus stops at a container's first match but goes
// on to later containers, so the last container with a match wins.
const Labels* MatchingPort(const std::vector<Labels>& pod, const std::string& port) {
  const Labels* match = nullptr;
  for (size_t i = 1; i < pod.size(); ++i) {
    if (Get(pod[i], kPortNumber) != port) continue;
    if (match == nullptr || Get(*match, kContainerName) != Get(pod[i], kContainerName)) {
      match = &pod[i];
    }
  }
  return match;
}

struct SeenPod {
  const std::vector<Labels>* sets;
  std::vector<std::string> ports;  // endpoint ports that made a target of it
};

}  // namespace

std::vector<Labels> PodMetaSets(const Pod& pod, const Value& obj, const MetaLabelFilter& keep) {
  std::vector<Labels> targets = PodTargets(pod, keep);
  if (targets.empty()) return {};
  std::vector<Labels> out{std::move(targets[0])};
  out[0].RemoveIf([](const Label& l) {
    return l.name == "__address__" || std::string_view(l.name).starts_with(kContainerPrefix);
  });
  const Value* spec = JsonObject(obj, "spec");
  for (auto [field, init] : {std::pair{"containers", "false"}, {"initContainers", "true"}}) {
    const Value* cs = spec != nullptr ? JsonArray(*spec, field) : nullptr;
    for (size_t i = 0; cs != nullptr && i < cs->Size(); ++i) {
      const Value& c = (*cs)[i];
      const Value* ports = c.IsObject() ? JsonArray(c, "ports") : nullptr;
      for (size_t j = 0; ports != nullptr && j < ports->Size(); ++j) {
        const Value& p = (*ports)[j];
        if (!p.IsObject()) continue;
        LabelsBuilder b;
        b.Add(kContainerName, std::string(JsonString(c, "name")));
        b.Add("__meta_kubernetes_pod_container_image", std::string(JsonString(c, "image")));
        b.Add("__meta_kubernetes_pod_container_init", init);
        b.Add("__meta_kubernetes_pod_container_port_name", std::string(JsonString(p, "name")));
        b.Add(kPortNumber, IntOrString(p, "containerPort"));
        b.Add("__meta_kubernetes_pod_container_port_protocol",
              std::string(JsonString(p, "protocol")));
        out.push_back(b.Build());
      }
    }
  }
  return out;
}

std::vector<Labels> JoinEndpointTargets(Role role, const std::vector<Labels>& targets,
                                        const ObjectLookup& pods, const ObjectLookup& services) {
  if (targets.empty()) return {};
  const Names names = NamesOf(role, targets[0]);
  Labels service;  // group labels: a target's own labels win over them
  if (const std::vector<Labels>* s =
          names.service_key.empty() ? nullptr : services(names.service_key);
      s != nullptr && !s->empty()) {
    service = (*s)[0];
  }
  std::vector<Labels> out;
  std::vector<std::pair<std::string, SeenPod>> seen;  // in the order first seen
  for (const Labels& t : targets) {
    Labels joined = Merge(service, t);
    const std::vector<Labels>* pod = nullptr;
    if (Get(t, names.target_kind) == "Pod") {
      pod = pods(Get(t, kNamespace) + "/" + Get(t, names.target_name));
    }
    if (pod == nullptr || pod->empty()) {
      out.push_back(std::move(joined));
      continue;
    }
    joined = Merge(joined, (*pod)[0]);
    const std::string port = EndpointPort(role, t);
    if (const Labels* cport = MatchingPort(*pod, port)) joined = Merge(joined, *cport);
    out.push_back(std::move(joined));
    const std::string key =
        Get((*pod)[0], kNamespace) + "/" + Get((*pod)[0], "__meta_kubernetes_pod_name");
    auto it = std::find_if(seen.begin(), seen.end(), [&](const auto& s) { return s.first == key; });
    if (it == seen.end()) it = seen.insert(seen.end(), {key, SeenPod{pod, {}}});
    it->second.ports.push_back(port);
  }
  if (seen.empty()) return out;
  Labels group = Merge(service, targets[0]);
  group.RemoveIf([role](const Label& l) { return PerAddress(role, l.name); });
  for (const auto& [key, sp] : seen) {
    const std::vector<Labels>& pod = *sp.sets;
    for (size_t i = 1; i < pod.size(); ++i) {
      const std::string port = Get(pod[i], kPortNumber);
      if (std::find(sp.ports.begin(), sp.ports.end(), port) != sp.ports.end()) continue;
      Labels t = Merge(Merge(group, pod[0]), pod[i]);
      t.Set("__address__", HostPort(Get(pod[0], kPodIp), port));
      out.push_back(std::move(t));
    }
  }
  return out;
}

std::string NodeOfTarget(Role role, const Labels& target) {
  switch (role) {
    case Role::kPod:
      return Get(target, "__meta_kubernetes_pod_node_name");
    case Role::kEndpoints:
      return Get(target, "__meta_kubernetes_endpoint_node_name");
    case Role::kEndpointSlice:
      if (Get(target, "__meta_kubernetes_endpointslice_address_target_kind") == "Node") {
        return Get(target, "__meta_kubernetes_endpointslice_address_target_name");
      }
      return Get(target, "__meta_kubernetes_endpointslice_endpoint_node_name");
    default:
      return "";
  }
}

}  // namespace skidder::kubernetes
