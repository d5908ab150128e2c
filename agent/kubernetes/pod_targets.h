// Pod -> targets: the Kubernetes API's Pod object reduced to what log collection needs, and the
// Prometheus __meta_kubernetes_* label sets built from it (one per container, init containers too).
//
// Pure functions and value types: no I/O, no clock, callable from any thread. PodDiscovery
// (discovery.h) parses API JSON with ParsePod() and turns each pod into targets with
// PodTargets(); the app runs relabel rules (relabel.h) over those label sets.
//
// Labels, as Prometheus' kubernetes_sd role=pod (and so Promtail) emits them:
//   __meta_kubernetes_namespace, __meta_kubernetes_pod_{name,uid,ip,node_name,host_ip,phase,ready},
//   __meta_kubernetes_pod_container_{name,id,image,init},
//   __meta_kubernetes_pod_controller_{kind,name},
//   __meta_kubernetes_pod_label_<n>, _labelpresent_<n>, _annotation_<n>, _annotationpresent_<n>
//   (<n> sanitised to [a-zA-Z0-9_]) and __address__ (the pod IP).
// Differences from Prometheus, on purpose: a pod without an IP yet (or any more) still yields
// targets, because its containers may be writing logs; container ports do not multiply targets.
//
// Beyond Promtail, the owning workload without asking the API for ReplicaSets or Jobs:
//   __meta_kubernetes_pod_workload_kind / __meta_kubernetes_pod_workload_name
//   - controller ReplicaSet whose name ends in "-<pod-template-hash label>": Deployment, name
//     without that suffix (a bare ReplicaSet stays kind ReplicaSet);
//   - controller Job whose name ends in "-<8 digits>" that read as minutes since the epoch fall
//     in [2015, 2100): CronJob, name without the suffix. The CronJob controller names its Jobs
//     "<cronjob>-<scheduled time in minutes>"; the date range keeps a Job called
//     "backup-20240101" a Job;
//   - any other controller (StatefulSet, DaemonSet, Job, Node for static pods, ...): itself;
//   - no controller: no workload labels.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/labels.h"
#include "util/status.h"

namespace skidder::kubernetes {

struct PodContainer {
  std::string name;
  std::string image;
  std::string container_id;  // from the pod status, e.g. "containerd://4f1c..."; may be empty
  bool init = false;
};

struct Pod {
  std::string namespace_name;
  std::string name;
  std::string uid;
  std::string resource_version;
  std::string ip;
  std::string node_name;
  std::string host_ip;
  std::string phase;
  std::string ready = "unknown";  // the Ready condition's status, lower-cased
  std::vector<std::pair<std::string, std::string>> labels;
  std::vector<std::pair<std::string, std::string>> annotations;
  std::string controller_kind;  // the ownerReference with controller: true
  std::string controller_name;
  std::vector<PodContainer> containers;  // spec.containers, then spec.initContainers

  // "<namespace>/<name>", the key the discovery cache uses.
  std::string Key() const { return namespace_name + "/" + name; }
  const std::string* Label(std::string_view key) const;
  const std::string* Annotation(std::string_view key) const;
};

// Parses one Pod object (the JSON of GET .../pods/<name>, or an item of a list).
Result<Pod> ParsePod(std::string_view json);

// Says which __meta_kubernetes_pod_{label,labelpresent,annotation,annotationpresent}_<n> labels
// to build: relabeling reads only some, and a pod may carry megabytes of annotations no rule
// reads, which would otherwise be kept once per container. Empty keeps all.
// See ReadableMetaLabels() in relabel.h.
using MetaLabelFilter = std::function<bool(std::string_view meta_name)>;

// One label set per container, in spec order (containers, then init containers). The other
// meta labels (namespace, pod name, uid, ...) are always built.
std::vector<Labels> PodTargets(const Pod& pod, const MetaLabelFilter& keep = {});

// The Deployment or CronJob owning the pod when its controller's name says so (see above).
struct Workload {
  std::string kind, name;
};
std::optional<Workload> WorkloadOf(const Pod& pod);

// Replaces every character outside [a-zA-Z0-9_] with '_', as Prometheus' SanitizeLabelName does
// (a UTF-8 character, or a byte of none, is one '_'). Kubernetes and Docker label keys alike.
std::string SanitizeLabelName(std::string_view name);

// A kubelet log file path: <anything>/<namespace>_<pod>_<uid>/<container>/<file>.
struct PodLogPath {
  std::string namespace_name, pod, uid, container;
};
std::optional<PodLogPath> ParsePodLogPath(std::string_view log_path);

// The meta labels a path alone proves (namespace, pod name, uid, container name), so a file of a
// pod discovery has not seen yet (API down, pod just started) can be labelled by the same
// relabel rules. nullopt when the path is not under a kubelet pod log directory.
std::optional<Labels> PathLabels(std::string_view log_path);

}  // namespace skidder::kubernetes
