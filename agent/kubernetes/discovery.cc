#include "kubernetes/discovery.h"

#include <random>
#include <vector>

#include "kubernetes/endpoint_join.h"
#include "kubernetes/watcher.h"
#include "telemetry/agent_metrics.h"
#include "util/log.h"

namespace skidder::kubernetes {
PodDiscovery::PodDiscovery(config::KubernetesSdConfig cfg, Callback callback, DiscoveryOptions opts)
    : cfg_(std::move(cfg)), callback_(std::move(callback)), opts_(std::move(opts)) {}

PodDiscovery::~PodDiscovery() { Stop(); }

Status PodDiscovery::Start() {
  auto resolved = ResolveSdConfig(cfg_, opts_.env, opts_.role);
  if (!resolved) return resolved.error();
  resolved->client.token_refresh = opts_.token_refresh;
  resolved->client.max_body = opts_.max_list_body;
  stop_.store(false);
  for (PodQuery& q : resolved->queries) {
    LOG_INFO("kubernetes discovery starting",
             {{"role", opts_.role ? std::string(ResourceOf(*opts_.role).resource) : cfg_.role},
              {"server", resolved->client.server},
              {"namespace", q.namespace_name.empty() ? "(all)" : q.namespace_name},
              {"field_selector", q.field_selector},
              {"label_selector", q.label_selector}});
    watchers_.push_back(std::make_unique<Watcher>(std::move(q), resolved->client));
  }
  AddJoinWatchers(resolved->client);
  for (auto& w : watchers_) w->thread = std::thread([this, &w = *w] { Run(w); });
  return Status::Ok();
}

void PodDiscovery::Stop() {
  {
    std::lock_guard lock(sleep_mu_);
    stop_.store(true);
  }
  sleep_cv_.notify_all();
  for (auto& w : watchers_) w->client.Interrupt();
  for (auto& w : watchers_) {
    if (w->thread.joinable()) w->thread.join();
  }
  watchers_.clear();
}

bool PodDiscovery::Synced() const {
  std::lock_guard lock(state_mu_);
  if (watchers_.empty()) return false;
  for (const auto& w : watchers_) {
    if (!w->synced) return false;
  }
  return true;
}

bool PodDiscovery::Sleep(std::chrono::milliseconds d) {
  std::unique_lock lock(sleep_mu_);
  return !sleep_cv_.wait_for(lock, d, [this] { return stop_.load(); });
}

void PodDiscovery::CountError(const char* reason) {
  if (opts_.metrics != nullptr) opts_.metrics->kubernetes_api_errors.With({reason})->Add();
}

void PodDiscovery::CountRestart(const char* reason) {
  if (opts_.metrics != nullptr) opts_.metrics->kubernetes_watch_restarts.With({reason})->Add();
}

// One exponential backoff per failure kind, so a server that fails in one way (every watch
// closed at once) cannot reset the backoff of another (the list that follows succeeds).
class PodDiscovery::Backoffs {
 public:
  // Exponential backoff with jitter: each delay is drawn from [d/2, d], d doubling up to max.
  class Backoff {
   public:
    Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max) : min_(min), max_(max) {}
    std::chrono::milliseconds Next(std::mt19937& rng) {
      const auto d = cur_.count() == 0 ? min_ : std::min(max_, cur_ * 2);
      cur_ = d;
      std::uniform_int_distribution<int64_t> dist(d.count() / 2, std::max<int64_t>(d.count(), 1));
      return std::chrono::milliseconds(dist(rng));
    }
    void Reset() { cur_ = std::chrono::milliseconds(0); }

   private:
    std::chrono::milliseconds min_, max_, cur_{0};
  };

  explicit Backoffs(const DiscoveryOptions& o)
      : b_{{o.backoff_min, o.backoff_max},
           {o.backoff_min, o.backoff_max},
           {o.backoff_min, o.backoff_max},
           {o.backoff_min, o.backoff_max}} {}
  Backoff& operator[](Failure f) { return b_[static_cast<size_t>(f)]; }
  void ResetAll() {
    for (Backoff& b : b_) b.Reset();
  }

 private:
  Backoff b_[4];
};

bool PodDiscovery::Pause(Watcher& w, Backoffs& b, Failure kind) {
  auto delay = b[kind].Next(w.rng);
  if (w.retry_after.count() > 0) {
    delay =
        std::max(delay, std::min<std::chrono::milliseconds>(w.retry_after, opts_.retry_after_max));
    w.retry_after = std::chrono::seconds(0);
  }
  return Sleep(delay);
}

void PodDiscovery::NoteFailure(
    Watcher& w, std::string state, std::string_view msg,
    std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  ++w.failures;
  if (state == w.failing) return;  // logged when it started; NoteHealthy() reports the count
  w.failing = std::move(state);
  std::vector<log::Field> given;
  for (const log::Field& f : fields) {  // without the empty ones ("error" of an HTTP status, ...)
    if (!f.second.empty()) given.push_back(f);
  }
  // The messages say "pod" (the alerts' runbooks quote them); this names what was read.
  given.emplace_back("resource", ResourceOf(w.query.role).resource);
  log::Write(log::Level::kWarn, msg, given);
}

void PodDiscovery::NoteHealthy(Watcher& w) {
  w.page_cut_logged = false;
  if (w.failing.empty()) return;
  LOG_INFO("kubernetes pod discovery recovered",
           {{"namespace", w.query.namespace_name.empty() ? "(all)" : w.query.namespace_name},
            {"failures", std::to_string(w.failures)}});
  w.failing.clear();
  w.failures = 0;
}

void PodDiscovery::NoteDecodeError(Watcher& w, std::string_view what, const char* reason) {
  CountError(reason);
  ++w.decode_errors_unlogged;
  const auto now = std::chrono::steady_clock::now();
  if (now < w.next_decode_log) return;  // at most one line a minute: a stream may be all garbage
  w.next_decode_log = now + std::chrono::minutes(1);
  LOG_WARN("kubernetes watch event skipped",
           {{"error", what}, {"count", std::to_string(w.decode_errors_unlogged)}});
  w.decode_errors_unlogged = 0;
}

void PodDiscovery::Run(Watcher& w) {
  Backoffs backoffs(opts_);
  bool need_list = true;
  while (!stop_.load()) {
    if (need_list) {
      if (!List(w)) {
        if (!Pause(w, backoffs, Failure::kList)) return;
        continue;
      }
      need_list = false;
    }
    const auto started = std::chrono::steady_clock::now();
    const WatchEnd end = WatchOnce(w);
    if (end == WatchEnd::kStopped) return;
    // Only a watch that lived proves the server well: data alone does not (one byte, then close).
    const bool healthy = std::chrono::steady_clock::now() - started >= opts_.watch_healthy_after;
    if (healthy) {
      backoffs.ResetAll();
      NoteHealthy(w);
    }
    Failure failure = Failure::kWatch;
    if (end == WatchEnd::kRelist) {
      CountRestart("gone");
      need_list = true;
      // What was seen is compacted away: relist at least as new as it, from the watch cache.
      w.list_from =
          w.resource_version.empty() ? Watcher::ListFrom::kEtcd : Watcher::ListFrom::kSeen;
      if (healthy) continue;
      NoteFailure(w, "gone",
                  "kubernetes pod watch expired (410 Gone, or a resource version the server "
                  "does not have) soon after a list",
                  {});
      failure = Failure::kGone;
    } else if (end == WatchEnd::kRewatch) {
      if (healthy) continue;
      NoteFailure(w, "short", "kubernetes pod watch ended early; backing off",
                  {{"min_healthy_ms", std::to_string(opts_.watch_healthy_after.count())}});
      failure = Failure::kShortWatch;
    } else {
      CountRestart("error");
    }
    if (!Pause(w, backoffs, failure)) return;
  }
}

// Endpoints roles join in the pods and services of the namespaces they watch (Prometheus watches
// the same three resources for them), so those are listed and watched too, with no selectors:
// the role's selectors are about its own objects. attach_metadata.node adds a node watch: of
// the agent's own node for the node-scoped pod role, of all nodes for endpoints roles.
void PodDiscovery::AddJoinWatchers(const ClientConfig& client) {
  const auto role = opts_.role ? opts_.role : ParseRole(cfg_.role);
  const bool endpoints = role == Role::kEndpoints || role == Role::kEndpointSlice;
  const bool nodes = cfg_.attach_metadata_node && (endpoints || role == Role::kPod);
  if (!endpoints && !nodes) return;
  joins_ = true;
  if (role == Role::kEndpointSlice) {  // the join needs the slice's service, whatever rules read
    opts_.keep_meta = [keep = std::move(opts_.keep_meta)](std::string_view name) {
      return !keep || keep(name) ||
             name == "__meta_kubernetes_endpointslice_label_kubernetes_io_service_name";
    };
  }
  const size_t role_watchers = watchers_.size();
  for (size_t i = 0; endpoints && i < role_watchers; ++i) {
    for (Role aux : {Role::kPodMeta, Role::kServiceMeta}) {
      PodQuery q;
      q.role = aux;
      q.namespace_name = watchers_[i]->query.namespace_name;
      watchers_.push_back(std::make_unique<Watcher>(std::move(q), client));
    }
  }
  if (nodes) {
    PodQuery q;
    q.role = Role::kNodeMeta;
    if (role == Role::kPod && !opts_.env.node_name.empty()) {
      q.field_selector = "metadata.name=" + opts_.env.node_name;
    }
    watchers_.push_back(std::make_unique<Watcher>(std::move(q), client));
  }
}

// The targets of a role that joins: each object's with its pods', service's and node's labels.
// Caller holds state_mu_.
std::vector<Labels> PodDiscovery::JoinedTargets() const {
  auto lookup = [this](Role role) {
    return [this, role](const std::string& key) -> const std::vector<Labels>* {
      for (const auto& w : watchers_) {
        if (w->query.role != role) continue;
        if (auto it = w->pods.find(key); it != w->pods.end()) return &it->second;
      }
      return nullptr;
    };
  };
  const ObjectLookup pods = lookup(Role::kPodMeta), services = lookup(Role::kServiceMeta);
  const ObjectLookup nodes = lookup(Role::kNodeMeta);
  std::vector<Labels> all;
  for (const auto& w : watchers_) {
    const Role role = w->query.role;
    if (role == Role::kPodMeta || role == Role::kServiceMeta || role == Role::kNodeMeta) continue;
    const bool endpoints = role == Role::kEndpoints || role == Role::kEndpointSlice;
    for (const auto& [key, targets] : w->pods) {
      std::vector<Labels> joined =
          endpoints ? JoinEndpointTargets(role, targets, pods, services) : targets;
      for (Labels& t : joined) {
        const std::string node = cfg_.attach_metadata_node ? NodeOfTarget(role, t) : "";
        const std::vector<Labels>* n = node.empty() ? nullptr : nodes(node);
        if (n == nullptr || n->empty()) continue;
        LabelsBuilder b(std::move(t));
        for (const Label& l : (*n)[0]) b.Add(l.name, l.value);
        t = b.Build();
      }
      all.insert(all.end(), std::make_move_iterator(joined.begin()),
                 std::make_move_iterator(joined.end()));
    }
  }
  return all;
}

// Publishes the union of every watcher's targets when it differs from the last one published.
// Joined targets wait until every watcher has listed once: a target first published without its
// pod's labels would be relabelled (and perhaps dropped) on what it lacks. Caller holds state_mu_.
void PodDiscovery::Publish() {
  if (opts_.on_object) return;  // a stream: each object was handed on as it came
  std::vector<Labels> all;
  if (joins_) {
    for (const auto& w : watchers_) {
      if (!w->synced) return;
    }
    all = JoinedTargets();
  } else {
    for (const auto& w : watchers_) {
      for (const auto& [key, targets] : w->pods)
        all.insert(all.end(), targets.begin(), targets.end());
    }
  }
  if (published_ && all == last_) return;
  published_ = true;
  last_ = all;
  callback_(std::move(all));
}

}  // namespace skidder::kubernetes
