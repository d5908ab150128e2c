#include "kubernetes/pod_json.h"

#include <fmt/format.h>

#include <cctype>

#include "util/json_parse.h"

namespace skidder::kubernetes {
namespace {

using rapidjson::Value;

constexpr size_t kMaxContainers = 512;         // a pod's containers and init containers
constexpr size_t kMaxLabelCells = 256 * 1024;  // labels of all of a pod's targets, ~25 MB

std::vector<std::pair<std::string, std::string>> StringMap(const Value* obj) {
  std::vector<std::pair<std::string, std::string>> out;
  if (obj == nullptr) return out;
  out.reserve(obj->MemberCount());
  for (auto it = obj->MemberBegin(); it != obj->MemberEnd(); ++it) {
    if (!it->value.IsString()) continue;
    out.emplace_back(std::string(it->name.GetString(), it->name.GetStringLength()),
                     std::string(it->value.GetString(), it->value.GetStringLength()));
  }
  return out;
}

void ParseOwner(const Value& meta, Pod& pod) {
  const Value* owners = JsonArray(meta, "ownerReferences");
  if (owners == nullptr) return;
  for (const Value& o : owners->GetArray()) {
    if (!o.IsObject()) continue;
    auto c = o.FindMember("controller");
    if (c == o.MemberEnd() || !c->value.IsBool() || !c->value.GetBool()) continue;
    pod.controller_kind = JsonString(o, "kind");
    pod.controller_name = JsonString(o, "name");
    return;
  }
}

size_t ArraySize(const Value* array) { return array == nullptr ? 0 : array->Size(); }

std::string ContainerId(const Value* statuses, std::string_view name) {
  if (statuses == nullptr) return {};
  for (const Value& s : statuses->GetArray()) {
    if (s.IsObject() && JsonString(s, "name") == name)
      return std::string(JsonString(s, "containerID"));
  }
  return {};
}

void ParseContainers(const Value* list, const Value* statuses, bool init, Pod& pod) {
  if (list == nullptr) return;
  for (const Value& c : list->GetArray()) {
    if (!c.IsObject()) continue;
    PodContainer pc;
    pc.name = JsonString(c, "name");
    if (pc.name.empty()) continue;
    pc.image = JsonString(c, "image");
    pc.container_id = ContainerId(statuses, pc.name);
    pc.init = init;
    pod.containers.push_back(std::move(pc));
  }
}

void ParseStatus(const Value& status, Pod& pod) {
  pod.ip = JsonString(status, "podIP");
  pod.host_ip = JsonString(status, "hostIP");
  pod.phase = JsonString(status, "phase");
  if (const Value* conds = JsonArray(status, "conditions")) {
    for (const Value& c : conds->GetArray()) {
      if (!c.IsObject() || JsonString(c, "type") != "Ready") continue;
      std::string s(JsonString(c, "status"));
      for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (!s.empty()) pod.ready = std::move(s);
    }
  }
}

}  // namespace

std::string_view JsonString(const Value& obj, const char* key) {
  if (!obj.IsObject()) return {};
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || !it->value.IsString()) return {};
  return {it->value.GetString(), it->value.GetStringLength()};
}

const Value* JsonObject(const Value& obj, const char* key) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(key);
  return it != obj.MemberEnd() && it->value.IsObject() ? &it->value : nullptr;
}

const Value* JsonArray(const Value& obj, const char* key) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(key);
  return it != obj.MemberEnd() && it->value.IsArray() ? &it->value : nullptr;
}

Result<Pod> PodFromJson(const Value& obj) {
  const Value* meta = JsonObject(obj, "metadata");
  if (meta == nullptr) return Err(InvalidArgument("pod without metadata"));
  Pod pod;
  pod.namespace_name = JsonString(*meta, "namespace");
  pod.name = JsonString(*meta, "name");
  if (pod.namespace_name.empty() || pod.name.empty()) {
    return Err(InvalidArgument("pod without namespace or name"));
  }
  pod.uid = JsonString(*meta, "uid");
  pod.resource_version = JsonString(*meta, "resourceVersion");
  pod.labels = StringMap(JsonObject(*meta, "labels"));
  pod.annotations = StringMap(JsonObject(*meta, "annotations"));
  ParseOwner(*meta, pod);

  static const Value kEmpty(rapidjson::kObjectType);
  const Value* spec = JsonObject(obj, "spec");
  const Value* status = JsonObject(obj, "status");
  if (spec == nullptr) spec = &kEmpty;
  if (status == nullptr) status = &kEmpty;
  pod.node_name = JsonString(*spec, "nodeName");
  // Each container's target holds every label and annotation twice (the value and its
  // _present label): a pod made to have 20k containers and 20k labels (one object of 1.5 MB,
  // within the API server's limits) would be 10^9 labels, the agent killed for memory on every
  // list. Such a pod is skipped (counted as a decode error; its files keep their path labels).
  const size_t containers =
      ArraySize(JsonArray(*spec, "containers")) + ArraySize(JsonArray(*spec, "initContainers"));
  const size_t cells = containers * 2 * (pod.labels.size() + pod.annotations.size());
  if (containers > kMaxContainers || cells > kMaxLabelCells) {
    return Err(InvalidArgument(
        fmt::format("pod {}/{} skipped: {} containers with {} labels and annotations (at most {} "
                    "containers, and {} labels over all its targets)",
                    pod.namespace_name, pod.name, containers,
                    pod.labels.size() + pod.annotations.size(), kMaxContainers, kMaxLabelCells)));
  }
  ParseStatus(*status, pod);
  ParseContainers(JsonArray(*spec, "containers"), JsonArray(*status, "containerStatuses"),
                  /*init=*/false, pod);
  ParseContainers(JsonArray(*spec, "initContainers"), JsonArray(*status, "initContainerStatuses"),
                  /*init=*/true, pod);
  return pod;
}

Result<Pod> ParsePod(std::string_view json) {
  rapidjson::Document doc;
  if (JsonParseResult r = ParseJsonBounded(doc, json); !r.ok()) {
    return Err(InvalidArgument("pod JSON: " + r.Describe()));
  }
  return PodFromJson(doc);
}

}  // namespace skidder::kubernetes
