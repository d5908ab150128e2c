// The discovery roles besides pod (node, service, endpoints, endpointslice, ingress): where each
// lives in the API, and the target label sets Prometheus' kubernetes_sd builds from one object,
// with its meta label names exactly (see docs/kubernetes.md for the list).
//
// Pure functions: no I/O, callable from any thread. PodDiscovery (discovery.h) lists and watches
// the role's resource and calls ObjectTargetsFromJson() for each object.
//
// Differences from Prometheus, on purpose: endpoints and endpointslice targets do not carry the
// labels of the pod and service behind them (__meta_kubernetes_pod_*, _service_*), because that
// needs two more cluster-wide watches for labels a log agent hardly uses.
#pragma once

#include <rapidjson/document.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kubernetes/pod_targets.h"
#include "model/labels.h"
#include "util/status.h"

namespace skidder::kubernetes {

enum class Role { kPod, kNode, kService, kEndpoints, kEndpointSlice, kIngress };

std::optional<Role> ParseRole(std::string_view name);

// The API path of a role's resource: "<group_path>[/namespaces/<ns>]/<resource>".
struct RoleResource {
  std::string_view group_path;  // "/api/v1", "/apis/discovery.k8s.io/v1", ...
  std::string_view resource;    // "pods", "nodes", ...
  bool namespaced = true;
};
RoleResource ResourceOf(Role role);

// One object's key ("<namespace>/<name>", or "<name>" for nodes) and its targets.
struct ObjectTargets {
  std::string key;
  std::vector<Labels> targets;
};

// Targets of one API object of the role (an item of a list, or a watch event's object). keep
// filters the label/annotation meta labels as for pods (see MetaLabelFilter).
Result<ObjectTargets> ObjectTargetsFromJson(Role role, const rapidjson::Value& obj,
                                            const MetaLabelFilter& keep = {});
Result<ObjectTargets> ObjectTargetsFromJson(Role role, std::string_view json,
                                            const MetaLabelFilter& keep = {});

}  // namespace skidder::kubernetes
