#include "app/targets.h"

#include "model/entry.h"

namespace skidder::app {

void TargetSet::Update(size_t job, const std::string& source, std::vector<Labels> discovered) {
  std::vector<sources::FileTarget> targets;
  {
    std::lock_guard lock(mu_);
    discovered_[{job, source}] = std::move(discovered);
    current_ = Build();
    targets = current_;
  }
  source_->SetTargets(std::move(targets));
}

std::vector<sources::FileTarget> TargetSet::Build() const {
  std::vector<sources::FileTarget> out;
  for (const auto& [key, sets] : discovered_) {
    const ScrapeJob& job = (*jobs_)[key.first];
    for (Labels labels : sets) {
      if (!kubernetes::Relabel(job.relabel, labels)) continue;
      const std::string* path = labels.Get(kPathLabel);
      if (path == nullptr || path->empty()) continue;  // Promtail drops such targets too
      // Meta labels only matter to relabeling; the file source needs just the __path__ pair.
      Labels kept;
      for (const Label& l : labels) {
        if (!l.name.starts_with("__meta_") && !l.name.starts_with("__tmp")) kept.Set(l.name, l.value);
      }
      sources::FileTarget t;
      t.id = job.job_name + kept.ToString();
      t.labels = std::move(kept);
      t.pipeline = job.pipeline;
      out.push_back(std::move(t));
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
