#include "app/targets.h"

#include <dirent.h>
#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <set>

#include "kubernetes/pod_targets.h"
#include "model/entry.h"
#include "util/log.h"

namespace skidder::app {
namespace {

constexpr std::string_view kUidLabel = "__meta_kubernetes_pod_uid";
constexpr std::string_view kConfigHashLabel =
    "__meta_kubernetes_pod_annotation_kubernetes_io_config_hash";
constexpr std::string_view kNodeLabel = "__meta_kubernetes_pod_node_name";
// A pod no cluster has: its uid marks where the pod directory starts in a probed __path__.
constexpr std::string_view kProbeUid = "0c0ffee0-5k1d-probe-uid";

// Names of the subdirectories of dir ("." and ".." excluded); empty when it cannot be read.
std::vector<std::string> SubDirs(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN && e->d_type != DT_LNK) continue;
    out.emplace_back(name);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

// The relabeled target for one label set, or nullopt when it is dropped.
std::optional<sources::FileTarget> MakeTarget(const ScrapeJob& job, Labels labels) {
  if (!kubernetes::Relabel(job.relabel, labels)) return std::nullopt;
  const std::string* path = labels.Get(kPathLabel);
  if (path == nullptr || path->empty()) return std::nullopt;  // Promtail drops such targets too
  // Meta labels only matter to relabeling; the file source needs just the __path__ pair.
  Labels kept = std::move(labels);
  kept.RemoveIf(
      [](const Label& l) { return l.name.starts_with("__meta_") || l.name.starts_with("__tmp"); });
  sources::FileTarget t;
  t.id = job.job_name + kept.ToString();
  t.labels = std::move(kept);
  t.handler = job.file_handler;
  t.decompression = job.decompression;
  t.tail_from_end = job.tail_from_end;
  return t;
}

}  // namespace

std::string PodLogRoot(const kubernetes::RelabelRules& rules) {
  const std::string dir = "skidder-probe_skidder-probe_" + std::string(kProbeUid);
  auto labels = kubernetes::PathLabels("/probe/" + dir + "/skidder-probe/0.log");
  if (!labels) return "";
  labels->Set(kNodeLabel, "skidder-probe");
  if (!kubernetes::Relabel(rules, *labels)) return "";
  const std::string* path = labels->Get(kPathLabel);
  if (path == nullptr) return "";
  const size_t at = path->find(kProbeUid);
  const size_t slash = at == std::string::npos ? at : path->rfind('/', at);
  if (slash == std::string::npos || slash == 0 || path->front() != '/') return "";
  std::string root = path->substr(0, slash);
  if (root.find_first_of("*?[]{}\\") != std::string::npos) return "";
  return root;
}

std::string FilterNeedsDiscovery(const kubernetes::RelabelRules& rules) {
  using A = kubernetes::RelabelAction;
  // Names whose value a path target has as the pod's target would: the path's own meta labels,
  // the node (the fallback sets it), and labels earlier rules made only from such names. A name
  // no rule made and discovery does not give (e.g. "app" before a rule sets it) is absent from
  // both. Unknown: the other meta labels, __address__, whatever rules made from them, and after
  // a labelmap (which copies names the path may not show) any name not known.
  std::set<std::string> known, unknown;
  const std::string probe = "/p/ns_pod_" + std::string(kProbeUid) + "/c/0.log";
  for (const Label& l : kubernetes::PathLabels(probe).value_or(Labels())) known.insert(l.name);
  known.insert(std::string(kNodeLabel));
  bool mapped = false;
  auto is_unknown = [&](const std::string& name) {
    if (unknown.contains(name)) return true;
    if (known.contains(name)) return false;
    return name.starts_with("__meta_") || name == "__address__" || mapped;
  };
  auto any_unknown = [&](const kubernetes::RelabelRule& r) -> const std::string* {
    for (const std::string& name : r.source_labels) {
      if (is_unknown(name)) return &name;
    }
    return nullptr;
  };
  for (size_t i = 0; i < rules.size(); ++i) {
    const kubernetes::RelabelRule& r = rules[i];
    const char* filter = nullptr;
    switch (r.action) {
      case A::kKeep:
        filter = "keep";
        break;
      case A::kDrop:
        filter = "drop";
        break;
      case A::kKeepEqual:
        filter = "keepequal";
        break;
      case A::kDropEqual:
        filter = "dropequal";
        break;
      case A::kReplace:
      case A::kHashMod:
      case A::kLowercase:
      case A::kUppercase:
        if (r.target_has_vars) {
          mapped = mapped || any_unknown(r) != nullptr;  // names made from unknown values
        } else if (any_unknown(r) != nullptr || is_unknown(r.target_label)) {
          // (a replace whose regex does not match leaves the target as it was: still unknown)
          unknown.insert(r.target_label);
        } else {
          known.insert(r.target_label);
        }
        break;
      case A::kLabelMap:
        mapped = true;
        break;
      case A::kLabelDrop:
      case A::kLabelKeep:
        break;  // removing labels decides nothing by itself
    }
    if (filter == nullptr) continue;
    const std::string* name = any_unknown(r);
    if (name == nullptr && (r.action == A::kKeepEqual || r.action == A::kDropEqual) &&
        is_unknown(r.target_label)) {
      name = &r.target_label;
    }
    if (name != nullptr) return fmt::format("relabel_configs[{}] ({}) reads {}", i, filter, *name);
  }
  return "";
}

PathFallback MakePathFallback(const config::ScrapeConfig& sc, const kubernetes::RelabelRules& rules,
                              const std::string& node_name) {
  PathFallback fb;
  if (sc.kubernetes_sd_configs.empty()) return fb;
  bool any_namespace = false;
  for (const config::KubernetesSdConfig& sd : sc.kubernetes_sd_configs) {
    if (sd.role != "pod") return fb;  // a pod log path says nothing about nodes, services...
    // A label or field selector filters on what a path does not show, and own_namespace on a
    // file the app does not read: such a job waits for discovery, as Promtail does.
    if (!sd.selectors.empty() || sd.own_namespace) {
      LOG_INFO("files of pods not yet discovered wait for discovery (selectors/own_namespace)",
               {{"job", sc.job_name}});
      return fb;
    }
    if (sd.namespaces.empty()) any_namespace = true;
    fb.namespaces.insert(sd.namespaces.begin(), sd.namespaces.end());
  }
  if (std::string why = FilterNeedsDiscovery(rules); !why.empty()) {
    LOG_INFO(
        "files of pods not yet discovered wait for discovery: a filtering rule reads what a "
        "log path does not show",
        {{"job", sc.job_name}, {"rule", why}});
    return PathFallback{};
  }
  if (any_namespace) fb.namespaces.clear();
  fb.root = PodLogRoot(rules);
  fb.node_name = node_name;
  fb.sd_configs = sc.kubernetes_sd_configs.size();
  if (fb.root.empty()) {
    LOG_INFO(
        "relabel rules do not put __path__ under a pod log directory; files of pods not yet "
        "discovered wait for discovery",
        {{"job", sc.job_name}});
  }
  return fb;
}

TargetSet::TargetSet(std::vector<ScrapeJob>* jobs, Publish publish, Options opts)
    : jobs_(jobs),
      publish_(std::move(publish)),
      opts_(opts),
      started_(std::chrono::steady_clock::now()) {}

void TargetSet::Update(size_t job, const std::string& source, std::vector<Labels> discovered) {
  std::lock_guard lock(mu_);
  // Only a job with a path fallback needs them, and only its scans (ScanPodLogs) forget them:
  // kept for every job, the uids of every pod a busy node ever ran piled up.
  if (!(*jobs_)[job].fallback.root.empty()) {
    std::set<std::string>& seen = seen_ids_[job];
    for (const Labels& ls : discovered) {
      for (std::string_view name : {kUidLabel, kConfigHashLabel}) {
        if (const std::string* id = ls.Get(name)) seen.insert(*id);
      }
    }
  }
  discovered_[{job, source}] = std::move(discovered);
  Rebuild();
}

bool TargetSet::ScansPodLogs() const {
  for (const ScrapeJob& job : *jobs_) {
    if (!job.fallback.root.empty()) return true;
  }
  return false;
}

void TargetSet::ScanPodLogs() {
  // Snapshot what is known, list without the lock (disk I/O), then merge.
  std::vector<std::pair<size_t, std::set<std::string>>> todo;
  {
    std::lock_guard lock(mu_);
    for (size_t j = 0; j < jobs_->size(); ++j) {
      if ((*jobs_)[j].fallback.root.empty() || !FallbackActive(j)) continue;
      todo.emplace_back(j, seen_ids_[j]);
    }
  }
  if (todo.empty()) return;
  std::vector<std::pair<size_t, std::vector<PodDir>>> found;
  for (const auto& [job, known] : todo) found.emplace_back(job, ListRoot(job, known));
  std::lock_guard lock(mu_);
  bool changed = false;
  for (auto& [job, dirs] : found) {
    // Forget reported pods whose directory is gone and that discovery no longer reports.
    std::set<std::string> on_disk, reported = ReportedIds(job);
    for (const PodDir& d : dirs) on_disk.insert(d.uid);
    std::erase_if(seen_ids_[job], [&](const std::string& id) {
      return !on_disk.contains(id) && !reported.contains(id);
    });
    std::vector<PodDir>& old = on_disk_[job];
    if (old != dirs) {
      old = std::move(dirs);
      changed = true;
    }
  }
  if (changed) Rebuild();
}

std::vector<TargetSet::PodDir> TargetSet::ListRoot(size_t job,
                                                   const std::set<std::string>& known) const {
  const PathFallback& fb = (*jobs_)[job].fallback;
  std::vector<PodDir> out;
  for (std::string& name : SubDirs(fb.root)) {
    auto p = kubernetes::ParsePodLogPath(fb.root + "/" + name + "/c/0.log");
    if (!p) continue;  // not a <namespace>_<pod>_<uid> directory
    if (!fb.namespaces.empty() && !fb.namespaces.contains(p->namespace_name)) continue;
    PodDir d{std::move(name), std::move(p->uid), {}};
    // Containers are listed only for pods discovery does not know: the common case costs
    // nothing beyond the root's own listing.
    if (!known.contains(d.uid)) d.containers = SubDirs(fb.root + "/" + d.name);
    out.push_back(std::move(d));
  }
  return out;
}

bool TargetSet::FallbackActive(size_t job) const {
  if (std::chrono::steady_clock::now() - started_ >= opts_.fallback_grace) return true;
  size_t listed = 0;
  for (const auto& [key, sets] : discovered_) {
    if (key.first == job && key.second.starts_with("kubernetes/")) ++listed;
  }
  return listed >= (*jobs_)[job].fallback.sd_configs;
}

std::set<std::string> TargetSet::ReportedIds(size_t job) const {
  std::set<std::string> ids;
  for (const auto& [key, sets] : discovered_) {
    if (key.first != job) continue;
    for (const Labels& ls : sets) {
      for (std::string_view name : {kUidLabel, kConfigHashLabel}) {
        if (const std::string* id = ls.Get(name)) ids.insert(*id);
      }
    }
  }
  return ids;
}

void TargetSet::Rebuild() {
  current_ = Build();
  publish_(current_);
}

std::vector<sources::FileTarget> TargetSet::Build() const {
  std::vector<sources::FileTarget> out;
  for (const auto& [key, sets] : discovered_) {
    const ScrapeJob& job = (*jobs_)[key.first];
    for (const Labels& labels : sets) {
      if (auto t = MakeTarget(job, labels)) out.push_back(std::move(*t));
    }
  }
  for (const auto& [j, dirs] : on_disk_) {
    const ScrapeJob& job = (*jobs_)[j];
    auto seen = seen_ids_.find(j);
    for (const PodDir& d : dirs) {
      if (seen != seen_ids_.end() && seen->second.contains(d.uid)) continue;
      for (const std::string& c : d.containers) {
        auto labels = kubernetes::PathLabels(job.fallback.root + "/" + d.name + "/" + c + "/0.log");
        if (!labels) continue;
        if (!job.fallback.node_name.empty()) labels->Set(kNodeLabel, job.fallback.node_name);
        if (auto t = MakeTarget(job, std::move(*labels))) out.push_back(std::move(*t));
      }
    }
  }
  return out;
}

std::string TargetSet::Describe() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& t : current_) out.append(t.id).push_back('\n');
  return out;
}

size_t TargetSet::Size() const {
  std::lock_guard lock(mu_);
  return current_.size();
}

}  // namespace skidder::app
