// KubeEventsSource: one kubernetes_events scrape config (Alloy's loki.source.kubernetes_events).
// Lists, then watches, the Events of the configured namespaces (or of the cluster) through
// kubernetes::PodDiscovery's list/watch machinery (role kEvent), and sends each new or changed
// Event as a log line (event_line.h) through the job's pipeline into the EntrySink.
//
// Labels: the job's `labels` (Alloy: job and instance), `namespace` of the involved object, then
// the job's relabel_configs; `__` labels are dropped. The entry's timestamp is the event's (see
// EventLine::time_us), the time it was read when the event has none.
//
// What is sent again: PodDiscovery remembers each event's resourceVersion, so a relist after an
// API outage or a 410 hands on only the events that are new or changed since. Across restarts
// the positions file keeps, for each watch (PositionKey: the cluster's, or each namespace's of
// `namespaces`), a time P: every event of that watch last seen (EventLine::seen_us) before P was
// acknowledged by Loki. P is the oldest such time of an event
// still in flight, else the newest acknowledged, never later than now, and it does not rise
// while the watch is being listed (a list comes in name order, not time order, and may stop
// half way). A start skips, in each namespace's first list only, events last seen before P;
// what comes after that list is new or changed whatever its time says (a late write, a node's
// clock behind). Alloy skips events not newer than the last it handed on, recorded before Loki
// took it. Events of P's own second (Kubernetes writes whole seconds) are sent again after a
// restart; Loki's queries return an identical line of a stream at the same time once. With no
// position, every event the API server still holds (an hour's, by default) is sent, as Alloy
// does. A namespace that cannot be listed (refused, too large) keeps its own P where it was; the
// others' move on (Alloy too keeps a position per namespace).
//
// Backpressure: while the sink is Saturated() the watch is not read (the API server holds the
// stream, or drops it: the relist then repeats nothing already sent).
//
// Threads: Start/Stop/SyncPositions on the owner's (main) thread; events arrive on the
// discovery's threads (one per namespace), one at a time; a ticker thread flushes the pipeline's
// timed stages (multiline) once a second. mu_ serializes the pipeline between them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "config/config.h"
#include "kubernetes/discovery.h"
#include "kubernetes/relabel.h"
#include "model/ack.h"
#include "model/sink.h"
#include "pipeline/pipeline.h"
#include "sources/file/positions.h"
#include "sources/kube_events/event_line.h"
#include "telemetry/agent_metrics.h"
#include "util/clock.h"
#include "util/log_limiter.h"

namespace skidder::sources::kube_events {

// Objects per list and per watch. Events are not bounded by Kubernetes' 150k pods (discovery's
// default): a cluster keeping 42 a second for their hour of life has that many, and a list past
// the cap never completes, so its watch never starts. A million (~280 a second) still bounds a
// server that never stops paginating.
inline constexpr size_t kMaxEvents = 1'000'000;

inline kubernetes::DiscoveryOptions EventsDiscoveryOptions() {
  kubernetes::DiscoveryOptions d;
  d.max_pods = kMaxEvents;
  return d;
}

struct KubeEventsOptions {
  std::string job_name;
  config::KubernetesEventsConfig config;
  kubernetes::RelabelRules relabel;
  pipeline::Pipeline* pipeline = nullptr;  // the job's; used under mu_ only
  // env, backoffs (tests), metrics
  kubernetes::DiscoveryOptions discovery = EventsDiscoveryOptions();
};

class KubeEventsSource {
 public:
  KubeEventsSource(KubeEventsOptions opts, Positions* positions, EntrySink* sink,
                   telemetry::AgentMetrics* metrics, const Clock* clock);
  ~KubeEventsSource() { Stop(); }
  KubeEventsSource(const KubeEventsSource&) = delete;
  KubeEventsSource& operator=(const KubeEventsSource&) = delete;

  // Resolves the API server settings and starts listing; errors are configuration errors.
  Status Start();
  // Stops the watches and the ticker, flushes the pipeline; events in flight stay tracked.
  void Stop();
  // Puts P (see above) into the positions (not saved here).
  void SyncPositions();

  // Where P of the watch of `namespace_name` ("": the whole cluster's) is kept.
  static std::string PositionKey(const std::string& job_name,
                                 const std::string& namespace_name = "") {
    std::string key = "kubernetes-events-" + job_name;
    if (!namespace_name.empty()) key += "/" + namespace_name;
    return key;
  }

 private:
  // One list + watch (a namespace's, or the cluster's) and its P.
  struct Watch {
    // Its own checkpoints: an event of another watch Loki has not taken holds back none of this
    // one's position.
    std::shared_ptr<AckTracker> tracker = AckTracker::Create(0);
    uint64_t seq = 0;      // the last checkpoint opened (one per event)
    int64_t start_us = 0;  // P at start: older events were sent by an earlier run
    int64_t saved_us = 0;  // P as last put into the positions
    int64_t acked_us = 0;  // the newest time of an acknowledged event
    std::deque<std::pair<uint64_t, int64_t>> in_flight;  // checkpoint -> its event's time
    bool listed = false;                                 // its last list handed on every event
    bool listed_once = false;                            // listed to the end since Start()
  };

  void OnEvent(const rapidjson::Value& event);
  const Labels* LabelsFor(const std::string& namespace_name);  // under mu_; null: dropped
  void Tick();
  void Skipped(const char* reason);
  // The watch that brought the event (under mu_); null for a namespace not watched.
  Watch* WatchOf(const EventLine& ev);

  KubeEventsOptions opts_;
  Positions* positions_;
  EntrySink* sink_;
  telemetry::AgentMetrics* metrics_;  // may be null (tests)
  const Clock* clock_;
  const LineFormat format_;
  std::unique_ptr<kubernetes::PodDiscovery> discovery_;
  std::mutex mu_;  // the pipeline, out_, labels_, watches_
  pipeline::BatchEmitter out_;
  std::map<std::string, Labels> labels_;  // namespace -> relabelled stream labels (empty: dropped)
  std::map<std::string, Watch> watches_;  // namespace ("": all) -> its watch; fixed at Start()
  log::LogLimiter skipped_;

  std::atomic<bool> stop_{false};
  std::mutex tick_mu_;
  std::condition_variable tick_cv_;
  std::thread ticker_;
};

}  // namespace skidder::sources::kube_events
