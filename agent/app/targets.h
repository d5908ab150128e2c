// Turns discovered label sets into file targets: relabel, drop what has no __path__, attach the
// scrape config's pipeline. Shared by static_configs and Kubernetes discovery.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "kubernetes/relabel.h"
#include "model/labels.h"
#include "sources/file/file_source.h"

namespace skidder::app {

// Everything a scrape config contributes, fixed at build time.
struct ScrapeJob {
  std::string job_name;
  pipeline::Pipeline* pipeline = nullptr;
  kubernetes::RelabelRules relabel;
  std::vector<Labels> static_targets;  // labels of static_configs, before relabeling
};

// Collects the targets each job currently has and hands the union to the FileSource.
// Thread-safe: discovery threads call Update(); the main thread calls it at start.
class TargetSet {
 public:
  TargetSet(std::vector<ScrapeJob>* jobs, sources::FileSource* source)
      : jobs_(jobs), source_(source) {}
  // Replaces the discovered (pre-relabel) label sets of job `index` and of discovery `source`.
  void Update(size_t job, const std::string& source, std::vector<Labels> discovered);
  // Human-readable list for /targets.
  std::string Describe() const;
  size_t Size() const;

 private:
  std::vector<sources::FileTarget> Build() const;  // mu_ held
  std::vector<ScrapeJob>* jobs_;
  sources::FileSource* source_;
  mutable std::mutex mu_;
  std::map<std::pair<size_t, std::string>, std::vector<Labels>> discovered_;
  std::vector<sources::FileTarget> current_;
};

}  // namespace skidder::app
