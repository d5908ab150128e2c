#include "sources/docker/containers.h"

#include <fmt/format.h>

#include <map>

#include "kubernetes/pod_targets.h"
#include "util/json_parse.h"

namespace skidder::sources::docker {
namespace {

using Value = rapidjson::Value;

std::string Str(const Value& obj, const char* key) {
  if (!obj.IsObject()) return "";
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || !it->value.IsString()) return "";
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

const Value* Member(const Value& obj, const char* key) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(key);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

void AddStringMap(const Value* map, std::string_view prefix, LabelsBuilder& b) {
  if (map == nullptr || !map->IsObject()) return;
  for (const auto& m : map->GetObject()) {
    if (!m.value.IsString()) continue;
    b.Add(std::string(prefix) + kubernetes::SanitizeLabelName(m.name.GetString()),
          m.value.GetString());
  }
}

// Network id -> its labels (id, name, scope, internal, ingress, label_*).
std::map<std::string, std::vector<Label>> NetworkLabels(const rapidjson::Document& nets) {
  std::map<std::string, std::vector<Label>> out;
  if (!nets.IsArray()) return out;
  for (const Value& n : nets.GetArray()) {
    std::string id = Str(n, "Id");
    LabelsBuilder b;
    b.Add("__meta_docker_network_id", id);
    b.Add("__meta_docker_network_name", Str(n, "Name"));
    b.Add("__meta_docker_network_scope", Str(n, "Scope"));
    for (auto [field, label] : {std::pair{"Internal", "__meta_docker_network_internal"},
                                std::pair{"Ingress", "__meta_docker_network_ingress"}}) {
      const Value* v = Member(n, field);
      b.Add(label, v != nullptr && v->IsBool() && v->GetBool() ? "true" : "false");
    }
    AddStringMap(Member(n, "Labels"), "__meta_docker_network_label_", b);
    Labels l = b.Build();
    out[id] = std::vector<Label>(l.begin(), l.end());
  }
  return out;
}

// The network whose labels the container gets: NetworkSettings.Networks, or those of the
// container whose network it shares ("container:<id>").
const Value* PickNetwork(const Value& c, const std::map<std::string, const Value*>& by_id,
                         bool first_by_name) {
  const Value* cur = &c;
  for (int hops = 0; hops < 8 && cur != nullptr; ++hops) {
    const Value* settings = Member(*cur, "NetworkSettings");
    const Value* nets = settings ? Member(*settings, "Networks") : nullptr;
    if (nets != nullptr && nets->IsObject() && nets->MemberCount() > 0) {
      const Value* best = nullptr;
      std::string best_name;
      for (const auto& m : nets->GetObject()) {
        if (!m.value.IsObject()) continue;
        std::string name = m.name.GetString();
        if (best == nullptr || (first_by_name && name < best_name)) {
          best = &m.value;
          best_name = std::move(name);
        }
      }
      return best;
    }
    const Value* hc = Member(*cur, "HostConfig");
    std::string mode = hc ? Str(*hc, "NetworkMode") : "";
    if (!mode.starts_with("container:")) return nullptr;
    auto it = by_id.find(mode.substr(10));
    cur = it == by_id.end() ? nullptr : it->second;
  }
  return nullptr;
}

// Go's net.JoinHostPort: an IPv6 address in brackets.
std::string JoinHostPort(const std::string& ip, uint64_t port) {
  if (ip.find(':') != std::string::npos) return fmt::format("[{}]:{}", ip, port);
  return fmt::format("{}:{}", ip, port);
}

void AddAddress(const Value& c, const Value* net, const config::DockerSdConfig& cfg,
                const std::string& mode, LabelsBuilder& b) {
  std::string ip = net ? Str(*net, "IPAddress") : "";
  b.Add("__meta_docker_network_ip", ip);
  const Value* ports = Member(c, "Ports");
  if (ports != nullptr && ports->IsArray()) {
    for (const Value& p : ports->GetArray()) {
      if (Str(p, "Type") != "tcp") continue;
      const Value* priv = Member(p, "PrivatePort");
      const Value* pub = Member(p, "PublicPort");
      uint64_t private_port = priv && priv->IsUint64() ? priv->GetUint64() : 0;
      b.Add("__meta_docker_port_private", std::to_string(private_port));
      if (pub != nullptr && pub->IsUint64() && pub->GetUint64() > 0) {
        b.Add("__meta_docker_port_public", std::to_string(pub->GetUint64()));
        b.Add("__meta_docker_port_public_ip", Str(p, "IP"));
      }
      b.Add("__address__", JoinHostPort(ip, private_port));
      return;
    }
  }
  b.Add("__address__", mode == "host" ? cfg.host_networking_host : JoinHostPort(ip, cfg.port));
}

}  // namespace

Result<std::vector<ContainerTarget>> ParseContainers(std::string_view containers,
                                                     std::string_view networks,
                                                     const config::DockerSdConfig& cfg) {
  rapidjson::Document list, nets;
  if (JsonParseResult r = ParseJsonBounded(list, containers); !r.ok() || !list.IsArray()) {
    return Err(Status(StatusCode::kInvalidArgument,
                      "the container list is not a JSON array: " + r.Describe()));
  }
  if (JsonParseResult r = ParseJsonBounded(nets, networks); !r.ok()) {
    return Err(
        Status(StatusCode::kInvalidArgument, "the network list is not JSON: " + r.Describe()));
  }
  const auto net_labels = NetworkLabels(nets);
  std::map<std::string, const Value*> by_id;
  for (const Value& c : list.GetArray()) by_id[Str(c, "Id")] = &c;
  std::vector<ContainerTarget> out;
  for (const Value& c : list.GetArray()) {
    const Value* names = Member(c, "Names");
    std::string id = Str(c, "Id");
    if (id.empty() || names == nullptr || !names->IsArray() || names->Empty() ||
        !(*names)[0].IsString()) {
      continue;  // Prometheus skips containers without a name
    }
    const Value* hc = Member(c, "HostConfig");
    std::string mode = hc ? Str(*hc, "NetworkMode") : "";
    LabelsBuilder b;
    b.Add("__meta_docker_container_id", id);
    b.Add("__meta_docker_container_name", (*names)[0].GetString());
    b.Add("__meta_docker_container_network_mode", mode);
    AddStringMap(Member(c, "Labels"), "__meta_docker_container_label_", b);
    const Value* net = PickNetwork(c, by_id, cfg.match_first_network);
    if (net != nullptr) {
      auto it = net_labels.find(Str(*net, "NetworkID"));
      if (it != net_labels.end()) {
        for (const Label& l : it->second) b.Add(l.name, l.value);
      }
    }
    AddAddress(c, net, cfg, mode, b);
    out.push_back(ContainerTarget{std::move(id), b.Build()});
  }
  return out;
}

Result<std::set<std::string>> ParseContainerIds(std::string_view containers) {
  rapidjson::Document list;
  if (JsonParseResult r = ParseJsonBounded(list, containers); !r.ok() || !list.IsArray()) {
    return Err(Status(StatusCode::kInvalidArgument,
                      "the container list is not a JSON array: " + r.Describe()));
  }
  std::set<std::string> ids;
  for (const Value& c : list.GetArray()) {
    if (std::string id = Str(c, "Id"); !id.empty()) ids.insert(std::move(id));
  }
  return ids;
}

Result<bool> ParseTty(std::string_view inspect) {
  rapidjson::Document doc;
  if (JsonParseResult r = ParseJsonBounded(doc, inspect); !r.ok() || !doc.IsObject()) {
    return Err(Status(StatusCode::kInvalidArgument, "the container inspection is not JSON"));
  }
  const Value* config = Member(doc, "Config");
  const Value* tty = config ? Member(*config, "Tty") : nullptr;
  return tty != nullptr && tty->IsBool() && tty->GetBool();
}

}  // namespace skidder::sources::docker
