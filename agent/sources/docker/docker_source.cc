#include "sources/docker/docker_source.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "sources/docker/containers.h"
#include "util/log.h"

namespace skidder::sources::docker {
namespace {

constexpr size_t kMaxListBody = 64 << 20;
constexpr std::chrono::seconds kFlushPeriod{1};
// Containers asked about per refresh whether the daemon still has them (one request): a host
// that keeps thousands of stopped containers is asked about them in turns.
constexpr size_t kRemovedChecksPerRefresh = 100;

}  // namespace

DockerSource::DockerSource(DockerSourceOptions opts, Positions* positions, EntrySink* sink,
                           telemetry::AgentMetrics* metrics, const Clock* clock)
    : opts_(std::move(opts)), positions_(positions), sink_(sink), metrics_(metrics), clock_(clock) {
  for (const config::DockerSdConfig& c : opts_.configs) endpoints_.push_back(Endpoint::From(c));
  ctx_.job_name = opts_.job_name;
  ctx_.relabel = &opts_.relabel;
  ctx_.pipeline = opts_.pipeline;
  ctx_.pipeline_mu = &pipeline_mu_;
  ctx_.sink = sink_;
  ctx_.metrics = metrics_;
  ctx_.clock = clock_;
  ctx_.max_line = opts_.max_line;
  ctx_.errors = &errors_;
  readers_.resize(endpoints_.size());
  retired_.resize(endpoints_.size());
  checked_last_.resize(endpoints_.size());
  next_refresh_.resize(endpoints_.size());
}

void DockerSource::Start() {
  thread_ = std::thread([this] { Run(); });
}

void DockerSource::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_ && !thread_.joinable()) return;
    stop_ = true;
    cancel_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  for (auto& daemon : readers_) {  // all at once: each may take a second to notice
    for (auto& [id, r] : daemon) r->RequestStop();
  }
  for (auto& daemon : readers_) {
    for (auto& [id, r] : daemon) r->Stop();
  }
  pipeline::SinkEmitter out(sink_);
  std::lock_guard plock(pipeline_mu_);
  opts_.pipeline->Flush(clock_->NowNs(), /*force=*/true, out);
}

void DockerSource::Run() {
  while (true) {
    for (size_t d = 0; d < endpoints_.size(); ++d) {
      if (std::chrono::steady_clock::now() >= next_refresh_[d]) {
        Refresh(d);
        next_refresh_[d] = std::chrono::steady_clock::now() +
                           std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                               endpoints_[d].cfg.refresh_interval);
      }
    }
    {
      pipeline::SinkEmitter out(sink_);
      std::lock_guard plock(pipeline_mu_);
      opts_.pipeline->Flush(clock_->NowNs(), /*force=*/false, out);
    }
    auto wake = std::chrono::steady_clock::now() + kFlushPeriod;
    for (auto t : next_refresh_) wake = std::min(wake, t);
    std::unique_lock lock(mu_);
    if (cv_.wait_until(lock, wake, [this] { return stop_; })) return;
  }
}

// One discovery pass over one daemon.
void DockerSource::Refresh(size_t d) {
  const Endpoint& ep = endpoints_[d];
  DockerApi api(ep);
  const auto timeout = std::chrono::milliseconds(30'000);
  auto list = api.Get(ListPath(ep.cfg), kMaxListBody, timeout, &cancel_);
  Result<std::string> nets = list ? api.Get("/networks", kMaxListBody, timeout, &cancel_) : list;
  Result<std::vector<ContainerTarget>> found =
      nets ? ParseContainers(*list, *nets, ep.cfg) : Err(nets.error());
  if (!found) {
    int64_t times = 0;
    if (metrics_ != nullptr) metrics_->docker_errors.With({"list"})->Add(1);
    if (errors_.Allow(&times)) {
      LOG_WARN("cannot list Docker containers; retrying at the next refresh",
               {{"job", opts_.job_name},
                {"host", ep.cfg.host},
                {"error", found.error().message()},
                {"times", std::to_string(times)}});
    }
    return;
  }
  Sync(d, *found);
  ForgetRemoved(d, api);
}

// A container's position outlives its reader: a stopped container is not listed but may start
// again, and reads on from it. Once the daemon no longer has it (removed), nothing can resume
// from the position, and it goes; without this a host running short-lived containers (CI jobs,
// `docker run --rm`) grows its positions file, and every save, by one entry per container
// forever. One request a refresh asks which of up to kRemovedChecksPerRefresh of them the daemon
// still has (all=1: stopped ones too); those missing from its answer are gone. Only containers
// dropped in this run are known to belong to this daemon: positions of containers that were not
// running when the source started (a restart, a reload) and are removed later stay (the keys
// carry no daemon), unless the config names one Docker host (AdoptUnlisted).
void DockerSource::ForgetRemoved(size_t d, DockerApi& api) {
  std::vector<std::string> check;
  {
    std::lock_guard lock(mu_);
    const std::set<std::string>& retired = retired_[d];
    auto it = retired.upper_bound(checked_last_[d]);
    while (check.size() < std::min(retired.size(), kRemovedChecksPerRefresh)) {
      if (it == retired.end()) it = retired.begin();
      check.push_back(*it++);
    }
    if (!check.empty()) checked_last_[d] = check.back();
  }
  if (check.empty()) return;
  auto answer =
      api.Get(ExistingPath(check), kMaxListBody, std::chrono::milliseconds(10'000), &cancel_);
  Result<std::set<std::string>> existing =
      answer ? ParseContainerIds(*answer) : Err(answer.error());
  if (!existing) {  // asked again at the next refresh
    LOG_DEBUG("cannot ask the Docker daemon which stopped containers it still has",
              {{"job", opts_.job_name}, {"error", existing.error().message()}});
    return;
  }
  std::lock_guard lock(mu_);
  if (stop_) return;
  for (const std::string& id : check) {
    if (existing->contains(id)) continue;
    retired_[d].erase(id);
    // Read again meanwhile by a reader of this or another config: that reader's position.
    bool read = false;
    for (const Readers& readers : readers_) read = read || readers.contains(id);
    if (read) continue;
    positions_->RemoveCursor(ContainerReader::PositionKey(id));
    positions_->RemoveCursor(ContainerReader::PromtailPositionKey(id));
    LOG_DEBUG("forgot the position of a removed Docker container",
              {{"job", opts_.job_name}, {"container", id}});
  }
}

Position DockerSource::SavedPosition(const std::string& id) const {
  // Ours first; then Promtail's "cursor-<id>" (whole seconds), imported as "journal-<id>".
  for (const std::string& key :
       {ContainerReader::PositionKey(id), ContainerReader::PromtailPositionKey(id)}) {
    if (auto saved = positions_->GetCursor(key)) {
      if (auto p = ParsePosition(*saved)) return *p;
    }
  }
  return Position{};
}

// With one Docker host in the whole config, every Docker position is of its containers: those of
// containers not running now (stopped, or removed while the agent was down or since an earlier
// config) are taken as dropped in this run, so ForgetRemoved asks about them too. Once, at the
// first listing. Promtail's imported keys ("journal-<id>") count only with a container id's
// 64 hex digits: "journal-<job>" is also the journal source's key.
void DockerSource::AdoptUnlisted(size_t d) {
  adopted_ = true;
  const auto running = [&](const std::string& id) {
    for (const Readers& readers : readers_) {
      if (readers.contains(id)) return true;
    }
    return false;
  };
  const std::string ours = ContainerReader::PositionKey(""),
                    promtail = ContainerReader::PromtailPositionKey("");
  for (const std::string& key : positions_->CursorKeys(ours)) {
    std::string id = key.substr(ours.size());
    if (!id.empty() && !running(id)) retired_[d].insert(std::move(id));
  }
  for (const std::string& key : positions_->CursorKeys(promtail)) {
    std::string id = key.substr(promtail.size());
    const bool hex = id.size() == 64 && std::all_of(id.begin(), id.end(), [](char c) {
                       return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                     });
    if (hex && !running(id)) retired_[d].insert(std::move(id));
  }
}

void DockerSource::Sync(size_t d, const std::vector<ContainerTarget>& found) {
  std::set<std::string> listed;
  std::lock_guard lock(mu_);
  if (stop_) return;
  auto& readers = readers_[d];
  for (const ContainerTarget& t : found) {
    listed.insert(t.id);
    for (auto& retired : retired_) retired.erase(t.id);  // it runs (again)
    auto it = readers.find(t.id);
    if (it == readers.end() && HeldByAnother(d, t.id)) continue;
    if (it == readers.end()) {
      auto r = std::make_unique<ContainerReader>(&ctx_, endpoints_[d], t.id, t.labels,
                                                 SavedPosition(t.id));
      LOG_INFO("reading a Docker container's logs", {{"job", opts_.job_name}, {"container", t.id}});
      it = readers.emplace(t.id, std::move(r)).first;
    }
    it->second->Start();  // no-op while it reads; again after its stream ended
  }
  // Gone from the list: keep a reader until its stream ended and Loki took all it read; its last
  // position goes into the positions as it is dropped.
  for (auto it = readers.begin(); it != readers.end();) {
    ContainerReader& r = *it->second;
    if (!listed.contains(it->first) && !r.Running() && r.Idle()) {
      it = Retire(d, it);
    } else {
      ++it;
    }
  }
  if (opts_.sole_daemon && !adopted_) AdoptUnlisted(d);
  if (metrics_ != nullptr) {
    size_t n = 0;
    for (auto& daemon : readers_) n += daemon.size();
    metrics_->docker_targets.With({opts_.job_name})->Set(static_cast<double>(n));
  }
}

// Two docker_sd_configs of the job on one daemon (different filters, or an Alloy array.concat
// of two discovery.docker) may both list a container: one reader, as Promtail keeps one target
// per container of a job and host; two would send every line twice and write one position.
// The other config's reader keeps it while it reads, or waits for Loki to take what it read;
// one whose stream ended with everything taken (the container restarted, or that config's
// listing fails and it is never started again) is handed over: its position saved, it goes,
// and the caller starts one of its own from that position.
bool DockerSource::HeldByAnother(size_t d, const std::string& id) {
  for (size_t other = 0; other < endpoints_.size(); ++other) {
    if (other == d || endpoints_[other].cfg.host != endpoints_[d].cfg.host) continue;
    auto it = readers_[other].find(id);
    if (it == readers_[other].end()) continue;
    if (it->second->Running() || !it->second->Idle()) return true;
    Retire(other, it, /*may_be_removed=*/false);  // it runs: listed here
    return false;
  }
  return false;
}

// Drops a reader whose stream ended with everything taken; its last position goes into the
// positions as it goes.
DockerSource::Readers::iterator DockerSource::Retire(size_t d, Readers::iterator it,
                                                     bool may_be_removed) {
  if (auto pos = it->second->TakeCommitted()) {
    positions_->PutCursor(ContainerReader::PositionKey(it->first), *pos);
  }
  it->second->Stop();
  if (may_be_removed) retired_[d].insert(it->first);
  return readers_[d].erase(it);
}

void DockerSource::SyncPositions() {
  std::lock_guard lock(mu_);
  for (auto& daemon : readers_) {
    for (auto& [id, r] : daemon) {
      if (auto pos = r->TakeCommitted())
        positions_->PutCursor(ContainerReader::PositionKey(id), *pos);
    }
  }
}

size_t DockerSource::Targets() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& daemon : readers_) n += daemon.size();
  return n;
}

}  // namespace skidder::sources::docker

namespace skidder::sources::docker {

std::string DockerSource::Describe() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& daemon : readers_) {
    for (const auto& [id, r] : daemon) {
      out += fmt::format("docker/{}/{} {}{}\n", opts_.job_name, id, r->meta().ToString(),
                         r->Running() ? "" : " (not running)");
    }
  }
  return out;
}

}  // namespace skidder::sources::docker
