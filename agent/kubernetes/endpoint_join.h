// Internal to agent/kubernetes: what endpoints and endpointslice targets take from the pods and
// services around them, as Prometheus' endpoints.go and endpointslice.go do. PodDiscovery
// watches pods (Role::kPodMeta) and services (Role::kServiceMeta) beside the role's objects and
// joins them in here each time it publishes. Pure functions, callable from any thread.
#pragma once

#include <rapidjson/document.h>

#include <functional>
#include <string>
#include <vector>

#include "kubernetes/pod_targets.h"
#include "kubernetes/role_targets.h"
#include "model/labels.h"

namespace skidder::kubernetes {

// Role kPodMeta's label sets for a pod: first its pod labels (Prometheus' podLabels(): name, ip,
// uid, ready, phase, node name, host ip, controller kind and name, labels and annotations, with
// the namespace), then one set per container port, containers before init containers
// (container name, image and init, port name, number and protocol). Empty for a pod without
// containers.
std::vector<Labels> PodMetaSets(const Pod& pod, const rapidjson::Value& obj,
                                const MetaLabelFilter& keep);

// An object's label sets by "<namespace>/<name>"; nullptr when there is no such object.
using ObjectLookup = std::function<const std::vector<Labels>*(const std::string& key)>;

// The targets of one endpoints or endpointslice object (as ObjectTargetsFromJson built them) with
// what Prometheus adds: the labels of the object's service (the endpoints' own name, or an
// endpointslice's kubernetes.io/service-name label); for an address whose targetRef is a known
// pod, that pod's labels and those of its container port matching the endpoint port; and, per
// pod seen, one more target at <pod ip>:<port> for each container port no endpoint port covered.
std::vector<Labels> JoinEndpointTargets(Role role, const std::vector<Labels>& targets,
                                        const ObjectLookup& pods, const ObjectLookup& services);

// The node a target of the role runs on, for attach_metadata.node: a pod's node, an endpoint's
// nodeName, or an endpointslice endpoint's targetRef when that is a Node. "" when unknown.
std::string NodeOfTarget(Role role, const Labels& target);

}  // namespace skidder::kubernetes
