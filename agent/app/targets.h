// Turns discovered label sets into file targets: relabel, drop what has no __path__, attach the
// scrape config's pipeline. Shared by static_configs and Kubernetes discovery. Owned by the
// Runtime, one per running config.
//
// Path fallback: for a job with kubernetes_sd_configs, a container log directory under the pod
// log root (/var/log/pods on a node) whose pod discovery has not reported is still collected.
// Its target is built from the path alone (kubernetes::PathLabels: namespace, pod name, uid,
// container; plus this node's name) and the job's own relabel rules, so nothing waits on the API
// server: not a pod younger than the watch, not a pod started while the API is down. When
// discovery reports the pod, the fallback target is replaced by the real one in the same
// update, and the file source moves the open file over without reading it again. A pod that
// discovery reported and then lost (deleted) never gets a fallback: its files are drained and
// released. The root is derived from the job's relabel rules (see PodLogRoot), so there is
// nothing to configure and a test can point __path__ anywhere.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "kubernetes/relabel.h"
#include "model/labels.h"
#include "sources/file/file_source.h"

namespace skidder::pipeline {
class Pipeline;
}

namespace skidder::app {

// Which pod log directories a job may collect before discovery reports their pod.
struct PathFallback {
  std::string root;                  // e.g. /var/log/pods; "" = no fallback for this job
  std::set<std::string> namespaces;  // empty = every namespace
  std::string node_name;             // __meta_kubernetes_pod_node_name of fallback targets
  size_t sd_configs = 0;             // kubernetes_sd_configs entries of the job
};

// Everything a scrape config contributes; read-only once targets flow (the Runtime fills in
// `fallback` at start, before any discovery thread runs).
struct ScrapeJob {
  std::string job_name;
  pipeline::Pipeline* pipeline = nullptr;
  // The pipeline wrapping the sink, for the job's file targets (set when the file source starts).
  sources::ReadHandler* file_handler = nullptr;
  kubernetes::RelabelRules relabel;
  std::vector<Labels> static_targets;  // labels of static_configs, before relabeling
  PathFallback fallback;
  config::DecompressionConfig decompression;  // copied into each of the job's file targets
  bool tail_from_end = false;                 // likewise (Alloy's loki.source.file)
};

// The directory the job's rules put pod log files under: the relabel rules are run over the
// path labels of a made-up pod, and the part of the resulting __path__ before the pod's
// directory is the root, if it is an absolute path without wildcards. "" when the rules drop
// such a target or build __path__ some other way.
std::string PodLogRoot(const kubernetes::RelabelRules& rules);

// Why a file of a pod discovery has not reported cannot be judged by the job's rules: the first
// keep/drop/keepequal/dropequal rule that reads a label a log path does not show (a pod label,
// an annotation, the controller, ...), directly or through labels earlier rules made from such
// labels, named as "relabel_configs[i] (<action>) reads <label>". "" when every filtering rule
// reads only what the path shows, so a path target is kept or dropped as the pod's would be.
std::string FilterNeedsDiscovery(const kubernetes::RelabelRules& rules);

// The path fallback of a job: off when its discovery is filtered by selectors or its rules
// filter on what a path does not show (a path shows no pod labels: a pod excluded by an
// annotation must not be shipped because discovery is late), limited to the listed namespaces
// when every sd config lists some.
PathFallback MakePathFallback(const config::ScrapeConfig& sc, const kubernetes::RelabelRules& rules,
                              const std::string& node_name);

// Collects the targets each job currently has and hands the union to the file source.
// Thread-safe: discovery threads call Update(); the main thread calls Update() at start and
// ScanPodLogs() about once a second. The publish callback runs under the lock, so target sets
// reach the file source in the order they were built.
class TargetSet {
 public:
  using Publish = std::function<void(std::vector<sources::FileTarget>)>;
  struct Options {
    // Without a first successful list, fallback targets start after this long anyway (the API
    // server is down at start); before it, a list that is merely slow wins.
    std::chrono::milliseconds fallback_grace{std::chrono::seconds(15)};
  };

  TargetSet(std::vector<ScrapeJob>* jobs, Publish publish, Options opts);
  TargetSet(std::vector<ScrapeJob>* jobs, Publish publish)
      : TargetSet(jobs, std::move(publish), Options{}) {}

  // Replaces the discovered (pre-relabel) label sets of job `job` and of discovery `source`
  // ("static", "file/<n>" or "kubernetes/<n>" for the job's n-th file_sd_configs or
  // kubernetes_sd_configs entry).
  void Update(size_t job, const std::string& source, std::vector<Labels> discovered);
  // Lists the pod log roots (one readdir each, plus one per pod directory not reported by
  // discovery) and publishes when the fallback targets changed. Main thread.
  void ScanPodLogs();
  // Whether ScanPodLogs has anything to do: some job has a path fallback.
  bool ScansPodLogs() const;
  // Human-readable list for /targets.
  std::string Describe() const;
  size_t Size() const;

 private:
  // A pod log directory <namespace>_<pod>_<uid> found under a job's root.
  struct PodDir {
    std::string name;                     // the directory name
    std::string uid;                      // or the static pod's config hash
    std::vector<std::string> containers;  // filled only while the pod is unknown
    bool operator==(const PodDir&) const = default;
  };

  void Rebuild();                                       // mu_ held
  std::vector<sources::FileTarget> Build() const;       // mu_ held
  std::set<std::string> ReportedIds(size_t job) const;  // mu_ held
  bool FallbackActive(size_t job) const;                // mu_ held
  std::vector<PodDir> ListRoot(size_t job, const std::set<std::string>& known) const;

  std::vector<ScrapeJob>* jobs_;
  Publish publish_;
  Options opts_;
  const std::chrono::steady_clock::time_point started_;
  mutable std::mutex mu_;
  std::map<std::pair<size_t, std::string>, std::vector<Labels>> discovered_;
  // Per job with a path fallback: pod uids (and static pods' config hashes) discovery has ever
  // reported whose directory is still on disk. A pod that was reported and is gone is deleted,
  // not unknown.
  std::map<size_t, std::set<std::string>> seen_ids_;
  std::map<size_t, std::vector<PodDir>> on_disk_;  // per job, from the last scan
  std::vector<sources::FileTarget> current_;
};

}  // namespace skidder::app
