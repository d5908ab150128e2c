#include "sources/kube_events/kube_events_source.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <vector>

#include "util/log.h"

namespace skidder::sources::kube_events {

KubeEventsSource::KubeEventsSource(KubeEventsOptions opts, Positions* positions, EntrySink* sink,
                                   telemetry::AgentMetrics* metrics, const Clock* clock)
    : opts_(std::move(opts)),
      positions_(positions),
      sink_(sink),
      metrics_(metrics),
      clock_(clock),
      format_(opts_.config.log_format == "json" ? LineFormat::kJson : LineFormat::kLogfmt),
      out_(sink) {}

Status KubeEventsSource::Start() {
  if (opts_.pipeline == nullptr) return Internal("kubernetes_events: no pipeline");
  watches_.clear();
  const std::vector<std::string> all = {""};
  for (const std::string& ns : opts_.config.namespaces.empty() ? all : opts_.config.namespaces) {
    Watch& w = watches_[ns];
    if (std::optional<std::string> saved = positions_->GetCursor(PositionKey(opts_.job_name, ns))) {
      const char* end = saved->data() + saved->size();
      if (std::from_chars(saved->data(), end, w.start_us).ptr != end) w.start_us = 0;
    }
    w.saved_us = w.start_us;
  }
  kubernetes::DiscoveryOptions d = opts_.discovery;
  d.role = kubernetes::Role::kEvent;
  d.on_object = [this](const rapidjson::Value& event) { OnEvent(event); };
  d.on_list = [this](const std::string& namespace_name, bool complete) {
    std::lock_guard lock(mu_);
    auto it = watches_.find(namespace_name);
    if (it == watches_.end()) return;
    it->second.listed = complete;
    if (complete) it->second.listed_once = true;
  };
  config::KubernetesSdConfig sd = opts_.config.AsSdConfig();
  sd.namespaces = opts_.config.namespaces;
  discovery_ = std::make_unique<kubernetes::PodDiscovery>(
      std::move(sd), [](std::vector<Labels>) {}, std::move(d));
  stop_.store(false);
  if (Status st = discovery_->Start(); !st.ok()) {
    // Its messages name discovery's section; here the settings are the job's kubernetes_events.
    std::string msg = st.message();
    if (msg.starts_with("kubernetes_sd_configs: "))
      msg.erase(0, sizeof "kubernetes_sd_configs: " - 1);
    return Status(st.code(), "kubernetes_events: " + msg);
  }
  ticker_ = std::thread([this] { Tick(); });
  return Status::Ok();
}

void KubeEventsSource::Stop() {
  {
    std::lock_guard lock(tick_mu_);
    stop_.store(true);
  }
  tick_cv_.notify_all();
  if (discovery_) discovery_->Stop();  // OnEvent waiting for room sees stop_ and returns
  if (ticker_.joinable()) ticker_.join();
  if (opts_.pipeline == nullptr) return;
  std::lock_guard lock(mu_);
  opts_.pipeline->Flush(clock_->NowNs(), /*force=*/true, out_);
  out_.Flush();
}

void KubeEventsSource::Tick() {
  while (true) {
    {
      std::unique_lock lock(tick_mu_);
      if (tick_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_.load(); })) return;
    }
    std::lock_guard pipe(mu_);
    opts_.pipeline->Flush(clock_->NowNs(), /*force=*/false, out_);
    out_.Flush();
  }
}

const Labels* KubeEventsSource::LabelsFor(const std::string& namespace_name) {
  auto [it, inserted] = labels_.try_emplace(namespace_name);
  if (inserted) {
    LabelsBuilder b(opts_.config.labels);
    if (!namespace_name.empty()) b.Add("namespace", namespace_name);
    Labels labels = b.Build();
    if (kubernetes::Relabel(opts_.relabel, labels)) {
      labels.RemoveIf([](const Label& l) { return l.name.starts_with("__"); });
      it->second = std::move(labels);
    }
  }
  return it->second.empty() ? nullptr : &it->second;
}

KubeEventsSource::Watch* KubeEventsSource::WatchOf(const EventLine& ev) {
  // A namespace's watch brings only that namespace's events; the cluster's is the only one then.
  auto it = watches_.find(opts_.config.namespaces.empty() ? std::string() : ev.event_namespace);
  return it == watches_.end() ? nullptr : &it->second;
}

void KubeEventsSource::Skipped(const char* reason) {
  if (metrics_ != nullptr) metrics_->kube_events_skipped.With({opts_.job_name, reason})->Add();
}

void KubeEventsSource::OnEvent(const rapidjson::Value& event) {
  Result<EventLine> ev = FormatEvent(event, format_);
  if (!ev) {
    Skipped("malformed");
    if (int64_t n = 0; skipped_.Allow(&n)) {
      LOG_WARN(
          "kubernetes event skipped",
          {{"job", opts_.job_name}, {"error", ev.error().message()}, {"count", std::to_string(n)}});
    }
    return;
  }
  const BatchTime now = BatchTime::Of(*clock_);
  if (ev->time_us == 0) ev->time_us = ev->seen_us = now.wall_ns / 1000;
  {
    // Only a namespace's first list holds what an earlier run may have had acknowledged: what
    // comes later is new or changed (the discovery remembers what it handed on), whatever its
    // time says (a late write, another node's clock).
    std::lock_guard lock(mu_);
    const Watch* w = WatchOf(*ev);
    // An event a namespace's list hands on names that namespace: anything else is not ours.
    if (w == nullptr) return Skipped("malformed");
    if (!w->listed_once && ev->seen_us < w->start_us) return Skipped("older");
  }
  // Backpressure: the watch is not read while the sink is full (the API server holds the rest).
  bool stopped = false;
  {
    std::unique_lock lock(tick_mu_);
    while (sink_->Saturated() && !stop_.load()) {
      // Stop() wakes it; a sink with room again is seen within this (a Loki outage may last
      // hours: not a wakeup every few milliseconds).
      tick_cv_.wait_for(lock, std::chrono::milliseconds(250));
    }
    stopped = stop_.load();
  }
  std::lock_guard lock(mu_);
  Watch& w = *WatchOf(*ev);  // watches_ does not change after Start()
  if (stopped) {
    // Not sent: kept in flight for good, so the position stays before it and the next start
    // sends it (this run's discovery already counts it as seen).
    w.in_flight.emplace_back(++w.seq, ev->seen_us);
    w.tracker->Open(w.seq).Abandon();
    return;
  }
  const Labels* labels = LabelsFor(ev->namespace_name);
  if (labels == nullptr) return Skipped("relabel");
  Entry e;
  e.timestamp_ns = ev->time_us * 1000;
  e.line = std::move(ev->line);
  e.labels = *labels;
  AckRef hold = w.tracker->Open(++w.seq);
  w.in_flight.emplace_back(w.seq, ev->seen_us);
  e.ack = hold;
  if (metrics_ != nullptr) metrics_->kube_events.With({opts_.job_name})->Add();
  opts_.pipeline->Process(std::move(e), now, out_);
  out_.Flush();
}

void KubeEventsSource::SyncPositions() {
  const int64_t now_us = clock_->NowNs() / 1000;
  std::vector<std::pair<std::string, int64_t>> moved;
  {
    std::lock_guard lock(mu_);
    for (auto& [ns, w] : watches_) {
      const uint64_t committed = w.tracker->Committed();
      while (!w.in_flight.empty() && w.in_flight.front().first <= committed) {
        w.acked_us = std::max(w.acked_us, w.in_flight.front().second);
        w.in_flight.pop_front();
      }
      int64_t p = w.acked_us;
      if (!w.in_flight.empty()) {
        p = std::ranges::min_element(w.in_flight, {}, [](const auto& f) {
              return f.second;
            })->second;
      }
      // While the watch is being listed (at start, after a 410, after a failed list), events
      // older than what was acknowledged may still come: a list is in name order, not in time
      // order. P does not rise until it has been listed to the end.
      if (!w.listed) p = std::min(p, w.saved_us);
      // A node whose clock runs ahead must not move P into the future: every event of the next
      // start's list would be skipped until the clock got there.
      p = std::min(p, now_us);
      if (p <= 0 || p == w.saved_us) continue;
      w.saved_us = p;
      moved.emplace_back(ns, p);
    }
  }
  for (const auto& [ns, p] : moved) {
    positions_->PutCursor(PositionKey(opts_.job_name, ns), std::to_string(p));
  }
}

}  // namespace skidder::sources::kube_events
