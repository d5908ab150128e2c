// The discovery roles besides pod (node, service, endpoints, endpointslice, ingress): where each
// lives in the API, and the target label sets Prometheus' kubernetes_sd builds from one object,
// with its meta label names exactly (see docs/kubernetes.md for the list).
//
// Pure functions: no I/O, callable from any thread. PodDiscovery (discovery.h) lists and watches
// the role's resource and calls ObjectTargetsFromJson() for each object.
//
// Endpoints and endpointslice targets carry, as in Prometheus, the labels of the pod behind each
// address and of the service the object belongs to: PodDiscovery then also watches pods and
// services (roles kPodMeta and kServiceMeta below, never named in a config) and joins them in
// with JoinEndpointTargets() (endpoint_join.h).
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

enum class Role {
  kPod,
  kNode,
  kService,
  kEndpoints,
  kEndpointSlice,
  kIngress,
  // What endpoints roles join in, watched beside them: per pod, its Prometheus pod labels and
  // one label set per container port; per service, its service labels (endpoint_join.h).
  kPodMeta,
  kServiceMeta,
  // attach_metadata.node: per node, the labels Prometheus' addNodeLabels() adds.
  kNodeMeta,
  // Kubernetes Events, read as a stream by sources/kube_events (DiscoveryOptions::on_object):
  // per event, one label set holding only its resourceVersion, which tells a changed event from
  // one already seen when a relist brings them all again.
  kEvent,
};

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

// "host:port", with an IPv6 host in brackets: a target's __address__ as Prometheus writes it.
std::string HostPort(std::string_view host, std::string_view port);

}  // namespace skidder::kubernetes
