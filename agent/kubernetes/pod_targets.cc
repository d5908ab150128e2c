#include "kubernetes/pod_targets.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "formats/utf8.h"

namespace skidder::kubernetes {
namespace {

constexpr std::string_view kMeta = "__meta_kubernetes_";

// The CronJob controller names a Job "<cronjob>-<scheduled time in minutes since the epoch>".
// Only 8-digit suffixes between 2015-01-01 and 2100-01-01 count, so date-named Jobs
// ("backup-20240101" reads as 2008) stay Jobs.
constexpr uint64_t kMinMinutes = 23667840;  // 2015-01-01T00:00Z
constexpr uint64_t kMaxMinutes = 68374080;  // 2100-01-01T00:00Z

const std::string* Find(const std::vector<std::pair<std::string, std::string>>& kv,
                        std::string_view key) {
  for (const auto& [k, v] : kv) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::string MetaName(std::string_view suffix) {
  std::string n(kMeta);
  n += suffix;
  return n;
}

// The labels every container target of the pod shares, built in one go: a pod may carry 100k
// labels and annotations (the API allows it), and adding them one by one is quadratic.
Labels PodLabels(const Pod& pod, const MetaLabelFilter& keep) {
  LabelsBuilder ls;
  ls.Reserve(16 + 2 * (pod.labels.size() + pod.annotations.size()));
  ls.Add(MetaName("namespace"), pod.namespace_name);
  ls.Add(MetaName("pod_name"), pod.name);
  ls.Add(MetaName("pod_uid"), pod.uid);
  ls.Add(MetaName("pod_ip"), pod.ip);
  ls.Add(MetaName("pod_ready"), pod.ready);
  ls.Add(MetaName("pod_phase"), pod.phase);
  ls.Add(MetaName("pod_node_name"), pod.node_name);
  ls.Add(MetaName("pod_host_ip"), pod.host_ip);
  ls.Add(MetaName("pod_controller_kind"), pod.controller_kind);
  ls.Add(MetaName("pod_controller_name"), pod.controller_name);
  ls.Add("__address__", pod.ip);
  if (auto w = WorkloadOf(pod)) {
    ls.Add(MetaName("pod_workload_kind"), w->kind);
    ls.Add(MetaName("pod_workload_name"), w->name);
  }
  auto add = [&](std::string_view kind, std::string_view key, std::string_view value) {
    std::string name = MetaName(kind) + SanitizeLabelName(key);
    if (!keep || keep(name)) ls.Add(std::move(name), std::string(value));
  };
  for (const auto& [k, v] : pod.labels) {
    add("pod_label_", k, v);
    add("pod_labelpresent_", k, "true");
  }
  for (const auto& [k, v] : pod.annotations) {
    add("pod_annotation_", k, v);
    add("pod_annotationpresent_", k, "true");
  }
  return ls.Build();
}

bool IsCronJobSuffix(std::string_view digits) {
  if (digits.size() != 8) return false;
  uint64_t minutes = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), minutes);
  if (ec != std::errc() || end != digits.data() + digits.size()) return false;
  return minutes >= kMinMinutes && minutes < kMaxMinutes;
}

}  // namespace

const std::string* Pod::Label(std::string_view key) const { return Find(labels, key); }
const std::string* Pod::Annotation(std::string_view key) const { return Find(annotations, key); }

std::string SanitizeLabelName(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  while (!name.empty()) {
    const unsigned char u = name.front();
    if ((std::isalnum(u) && u < 0x80) || u == '_') {
      out.push_back(static_cast<char>(u));
      name.remove_prefix(1);
      continue;
    }
    // Go's regexp replaces a character, not a byte: "é" is one "_"; a byte that starts no
    // well-formed sequence is a character of its own (U+FFFD), as Go decodes it.
    out.push_back('_');
    name.remove_prefix(std::max<size_t>(formats::Utf8SequenceLength(name), 1));
  }
  return out;
}

std::optional<Workload> WorkloadOf(const Pod& pod) {
  const std::string& kind = pod.controller_kind;
  const std::string& name = pod.controller_name;
  if (kind.empty() || name.empty()) return std::nullopt;
  if (kind == "ReplicaSet") {
    const std::string* hash = pod.Label("pod-template-hash");
    if (hash != nullptr && !hash->empty() && name.size() > hash->size() + 1 &&
        name.ends_with(*hash) && name[name.size() - hash->size() - 1] == '-') {
      return Workload{"Deployment", name.substr(0, name.size() - hash->size() - 1)};
    }
  } else if (kind == "Job") {
    const size_t dash = name.rfind('-');
    if (dash != std::string::npos && dash > 0 &&
        IsCronJobSuffix(std::string_view(name).substr(dash + 1))) {
      return Workload{"CronJob", name.substr(0, dash)};
    }
  }
  return Workload{kind, name};
}

std::vector<Labels> PodTargets(const Pod& pod, const MetaLabelFilter& keep) {
  const Labels common = PodLabels(pod, keep);
  std::vector<Labels> out;
  out.reserve(pod.containers.size());
  for (const PodContainer& c : pod.containers) {
    LabelsBuilder ls(common);
    ls.Add(MetaName("pod_container_name"), c.name);
    ls.Add(MetaName("pod_container_image"), c.image);
    ls.Add(MetaName("pod_container_id"), c.container_id);
    ls.Add(MetaName("pod_container_init"), c.init ? "true" : "false");
    out.push_back(ls.Build());
  }
  return out;
}

std::optional<PodLogPath> ParsePodLogPath(std::string_view path) {
  // Walk back over "<pod dir>/<container>/<file>".
  std::string_view parts[3];
  for (int i = 2; i >= 0; --i) {
    const size_t slash = path.rfind('/');
    if (slash == std::string_view::npos) return std::nullopt;
    parts[i] = path.substr(slash + 1);
    path = path.substr(0, slash);
    if (parts[i].empty()) return std::nullopt;
  }
  // Namespace and pod names never contain '_' (DNS names); neither does a UID or config hash.
  const std::string_view dir = parts[0];
  const size_t a = dir.find('_');
  const size_t b = a == std::string_view::npos ? a : dir.find('_', a + 1);
  if (b == std::string_view::npos || a == 0 || b == a + 1 || b + 1 == dir.size() ||
      dir.find('_', b + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  return PodLogPath{std::string(dir.substr(0, a)), std::string(dir.substr(a + 1, b - a - 1)),
                    std::string(dir.substr(b + 1)), std::string(parts[1])};
}

std::optional<Labels> PathLabels(std::string_view log_path) {
  auto p = ParsePodLogPath(log_path);
  if (!p) return std::nullopt;
  Labels ls;
  ls.Set(MetaName("namespace"), p->namespace_name);
  ls.Set(MetaName("pod_name"), p->pod);
  ls.Set(MetaName("pod_uid"), p->uid);
  ls.Set(MetaName("pod_container_name"), p->container);
  return ls;
}

}  // namespace skidder::kubernetes
