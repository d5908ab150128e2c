// PodDiscovery: one kubernetes_sd_configs entry. Lists then watches the role's objects on the API
// server and reports the resulting targets: for role pod (node-scoped) one label set per
// container (pod_targets.h); for node, service, endpoints, endpointslice and ingress the label
// sets Prometheus builds (role_targets.h).
//
// Owned by the app's target manager, one per kubernetes_sd_configs entry. Start() and Stop() are
// called from the owner's thread; the callback runs on a discovery thread (one per namespace
// watched), never two at once, and must not call back into PodDiscovery (it runs under its
// lock). It receives the complete target set each time the set changes: first after the initial
// list (even when empty), never an empty set merely because the API server is unreachable. Until
// a list succeeds again the last known targets stand, so tailing goes on through an API outage.
//
// Only GET on the role's resource is ever sent (list and watch), so RBAC get/list/watch on it
// (pods for role pod) is enough; endpoints and endpointslice also list and watch pods and
// services, whose labels their targets carry (role_targets.h), and publish once all three listed.
// Resilience: 410 Gone (status or ERROR event) relists; other errors back off exponentially with
// jitter; a watch quiet for longer than watch_idle_timeout is restarted from its resourceVersion;
// a 401 re-reads the token file at once (it is re-read every minute anyway, for bound tokens).
// A hostile or broken server must not make a DaemonSet hammer its control plane: each failure
// kind (list, watch, watch ended early, 410 Gone) has its own backoff, reset only once a watch
// has lived watch_healthy_after (receiving data is not enough: a server may send one newline and
// close); a 429/503 Retry-After is honoured; a failure is logged when it starts or changes kind,
// not per retry, and recovery is logged with the number of failures in between.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "kubernetes/client.h"
#include "kubernetes/pod_targets.h"
#include "kubernetes/role_targets.h"
#include "model/labels.h"
#include "util/status.h"

namespace skidder::telemetry {
struct AgentMetrics;
}

namespace skidder::kubernetes {

// The process environment discovery depends on, injectable for tests.
struct DiscoveryEnv {
  std::string service_host;  // KUBERNETES_SERVICE_HOST
  std::string service_port;  // KUBERNETES_SERVICE_PORT
  std::string node_name;     // NODE_NAME, else HOSTNAME (the Promtail chart sets it to the node)
  bool node_from_hostname = false;  // node_name is HOSTNAME's (NODE_NAME is not set)
  std::string service_account_dir = "/var/run/secrets/kubernetes.io/serviceaccount";

  static DiscoveryEnv FromProcess();
};

struct DiscoveryOptions {
  DiscoveryEnv env = DiscoveryEnv::FromProcess();
  std::chrono::milliseconds backoff_min{500};
  std::chrono::milliseconds backoff_max{std::chrono::seconds(30)};
  // Server-side timeoutSeconds of a watch, jittered up to twice this.
  std::chrono::seconds watch_timeout{std::chrono::minutes(5)};
  // A watch that delivers nothing (not even a bookmark) for this long is restarted.
  std::chrono::milliseconds watch_idle_timeout{std::chrono::minutes(3)};
  std::chrono::milliseconds list_timeout{std::chrono::seconds(60)};
  // A watch that lived this long was healthy: backoffs reset and the next watch starts at once.
  // One that ended sooner (closed after a byte, a bookmark, an idle restart) backs off instead.
  std::chrono::milliseconds watch_healthy_after{std::chrono::seconds(30)};
  // The longest Retry-After honoured (a server may ask for days).
  std::chrono::milliseconds retry_after_max{std::chrono::minutes(5)};
  std::chrono::seconds token_refresh{60};
  int list_page_size = 500;
  // Bounds on a list, so a server whose pagination never ends (or a cluster-wide list of a huge
  // cluster) cannot grow the agent until it dies: past either the list is abandoned, logged and
  // retried after a backoff. A cluster holds at most 150k pods (Kubernetes' scalability limit).
  int max_list_pages = 1000;
  size_t max_pods = 150000;  // per list, and per watcher while watching
  // The largest list page body (decompressed) read; the download stops there, and the page is
  // asked again with half the limit.
  size_t max_list_body = 32 << 20;
  // Which pod label/annotation meta labels to keep (ReadableMetaLabels); empty keeps all.
  MetaLabelFilter keep_meta;
  telemetry::AgentMetrics* metrics = nullptr;  // optional
  // The role watched instead of the config's (kEvent, for sources/kube_events: then only the
  // config's client settings and namespaces are used).
  std::optional<Role> role;
  // Objects as a stream (role kEvent): called with each object that is new or changed (by its
  // targets, there its resourceVersion) since it was last seen, from lists and watches, on a
  // discovery thread under the discovery's lock (so never two at once; it must not call back).
  // The targets callback is then never called.
  std::function<void(const rapidjson::Value& object)> on_object;
  // With on_object: called when a list of a query's namespace ("" = all) starts (complete
  // false) and when it has handed on every object (true), on the same threads, under the same
  // lock. Until then objects of that namespace may still come in any order (a list is sorted by
  // name, not by time); a failed list stays incomplete until one succeeds.
  std::function<void(const std::string& namespace_name, bool complete)> on_list;
};

// What one list/watch asks the API server for.
struct PodQuery {
  Role role = Role::kPod;      // which resource: pods, nodes, services, ...
  std::string namespace_name;  // "" = all namespaces
  std::string label_selector;
  std::string field_selector;  // includes spec.nodeName=<node> when node-scoped
};

// Resolved settings: where the server is, how to authenticate, what to watch.
struct ResolvedSd {
  ClientConfig client;
  std::vector<PodQuery> queries;  // one per namespace (one with "" for all)
};

// Validates cfg and resolves in-cluster defaults or the kubeconfig_file. `role`, when given, is
// watched instead of cfg.role.
Result<ResolvedSd> ResolveSdConfig(const config::KubernetesSdConfig& cfg, const DiscoveryEnv& env,
                                   std::optional<Role> role = std::nullopt);

class PodDiscovery {
 public:
  using Callback = std::function<void(std::vector<Labels> targets)>;

  PodDiscovery(config::KubernetesSdConfig cfg, Callback callback, DiscoveryOptions opts = {});
  ~PodDiscovery();  // Stop()
  PodDiscovery(const PodDiscovery&) = delete;
  PodDiscovery& operator=(const PodDiscovery&) = delete;

  // Resolves the config and starts the watch threads; errors are configuration errors.
  Status Start();
  // Interrupts any request in flight and joins the threads; prompt (well under a second).
  void Stop();

  // True once every namespace has been listed successfully at least once.
  bool Synced() const;

 private:
  struct Watcher;
  void Run(Watcher& w);
  bool ListAndWatch(Watcher& w);
  void WarnIfNoPodOnTheNode(Watcher& w);  // state_mu_ held
  bool List(Watcher& w);
  // GETs one page of the list into resp, asking again with half the limit while the body is over
  // max_list_body; false (counted, logged) when the page cannot be had.
  bool GetPage(Watcher& w, const std::string& cont, int& limit, KubeResponse& resp);
  enum class WatchEnd { kRewatch, kRelist, kError, kStopped };
  WatchEnd WatchOnce(Watcher& w);
  bool Sleep(std::chrono::milliseconds d);
  // Failure bookkeeping (discovery.cc): what to log, and how long to wait before the next try.
  enum class Failure { kList, kWatch, kShortWatch, kGone };
  class Backoffs;
  bool Pause(Watcher& w, Backoffs& b, Failure kind);
  void NoteFailure(Watcher& w, std::string state, std::string_view msg,
                   std::initializer_list<std::pair<std::string_view, std::string_view>> fields);
  void NoteHealthy(Watcher& w);
  // A watch event skipped (reason counted; logged at most once a minute).
  void NoteDecodeError(Watcher& w, std::string_view what, const char* reason = "decode");
  void Publish();
  void AddJoinWatchers(const ClientConfig& client);
  std::vector<Labels> JoinedTargets() const;
  void CountError(const char* reason);
  void CountRestart(const char* reason);

  config::KubernetesSdConfig cfg_;
  Callback callback_;
  DiscoveryOptions opts_;
  std::vector<std::unique_ptr<Watcher>> watchers_;
  std::atomic<bool> stop_{false};
  std::mutex sleep_mu_;
  std::condition_variable sleep_cv_;
  mutable std::mutex state_mu_;  // watchers' pod maps, last_ and the callback
  std::vector<Labels> last_;
  bool published_ = false;
  bool joins_ = false;  // endpoints roles: pod and service watchers feed JoinedTargets()
};

}  // namespace skidder::kubernetes
