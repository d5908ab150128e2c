#include "sources/push/push_source.h"

#include <fmt/format.h>

#include <algorithm>

#include "sink/loki/entry_checks.h"
#include "util/log.h"

namespace skidder::sources::push {

using telemetry::HttpReply;

// One push waiting for its entries to be acknowledged. Answered exactly once: by the tracker
// (204, on a sink thread), by the timer (503) or by Stop (503), whichever comes first.
struct PushSource::Waiter {
  ReplyFn reply;
  std::chrono::steady_clock::time_point deadline;
  // Once its entries are in the pipeline (guarded by mu_): when, for the forced flush.
  bool emitted = false;
  std::chrono::steady_clock::time_point emitted_at;
  telemetry::Family<telemetry::Counter>* requests = nullptr;
  std::string job_name;
  std::atomic<bool> answered{false};

  void Answer(HttpReply r) {
    if (answered.exchange(true)) return;
    if (requests != nullptr) requests->With({job_name, std::to_string(r.status)})->Add(1);
    reply(std::move(r));
  }
};

PushSource::PushSource(PushSourceOptions opts, EntrySink* sink, telemetry::AgentMetrics* metrics,
                       const Clock* clock)
    : opts_(std::move(opts)), sink_(sink), metrics_(metrics), clock_(clock) {}

Result<int> PushSource::Start() {
  const config::ServerConfig& sc = opts_.config.server;
  telemetry::HttpServerOptions ho;
  ho.listen_address = sc.http_listen_address;
  ho.port = sc.http_listen_port;
  ho.port_key = opts_.port_key;
  ho.path_prefix = sc.http_path_prefix;
  ho.max_connections = sc.http_listen_conn_limit;
  ho.read_timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(sc.http_server_read_timeout);
  ho.idle_timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(sc.http_server_idle_timeout);
  ho.max_body_bytes = static_cast<size_t>(opts_.config.max_body_size);
  ho.telemetry_endpoints = false;
  ho.tls = opts_.tls;
  telemetry::HttpHandlers h;
  if (opts_.heroku) {
    h.body_paths = {kHerokuDrainPath};
  } else {
    h.body_paths = {kPushPath, kRawPath, kAlloyRawPath, kShortPushPath, kShortRawPath};
  }
  h.admit_body = [this](const std::string& path, const std::string& tenant) {
    return Admit(path, tenant);
  };
  h.body = [this](telemetry::HttpBodyRequest&& req, ReplyFn reply) {
    Handle(std::move(req), std::move(reply));
  };
  server_ = std::make_unique<telemetry::HttpServer>(ho, &metrics_->registry, std::move(h));
  auto port = server_->Start();
  if (!port) return Err(port.error());
  started_ = true;
  timer_ = std::thread([this] { RunTimeouts(); });
  std::string ignored;
  for (const std::string& k : opts_.config.ignored_keys)
    ignored += (ignored.empty() ? "" : ",") + k;
  LOG_INFO(opts_.heroku ? "serving a Heroku drain" : "serving loki push API",
           {{"job", opts_.job_name},
            {"port", std::to_string(*port)},
            {"scheme", ho.tls ? "https" : "http"},
            {"ignored_keys", ignored}});
  return port;
}

void PushSource::Stop() {
  if (!started_) return;
  started_ = false;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  timer_.join();  // it answers every waiting push on its way out
  server_->Stop();
  pipeline::SinkEmitter out(sink_);
  std::lock_guard pipe(pipe_mu_);
  opts_.pipeline->Flush(clock_->NowNs(), /*force=*/true, out);
}

std::optional<HttpReply> PushSource::Admit(const std::string& /*path*/,
                                           const std::string& sender_tenant) {
  if (draining_) {
    metrics_->push_requests.With({opts_.job_name, "503"})->Add(1);
    return HttpReply{503, "skidder is shutting down: retry\n", "1"};
  }
  std::lock_guard pipe(pipe_mu_);
  // As the file source's files: a sender whose tenant is held back waits for the whole budget of
  // the job's clients, the others may use what held tenants hold beyond half of it, a sender
  // not seen yet less of it. (Saturation is of all the job's clients: the sink never refuses a
  // push, and the sender chooses which entry comes last.)
  auto route = routes_.find(RouteKey(sender_tenant));
  bool full = false;
  if (route == routes_.end()) {
    full = sink_->SaturatedExceptHeld(~uint64_t{0}, /*known=*/false);
  } else if (sink_->HeldEpoch() != 0 &&
             sink_->TenantHeld(route->second.tenant, route->second.clients)) {
    full = sink_->Saturated();
  } else {
    full = sink_->SaturatedExceptHeld(~uint64_t{0}, /*known=*/true);
  }
  if (full) {
    metrics_->push_requests.With({opts_.job_name, "429"})->Add(1);
    return HttpReply{429, "skidder is backed up (Loki is slow or down): retry later\n", "1"};
  }
  // A `limit` stage without `drop` waits for its rate: Promtail's limiter would block this
  // request; a 429 tells the sender when to come back instead. (The server's one thread runs
  // both this and the pipeline, so the stage's state is read where it is written.)
  const int64_t wait_ns = opts_.pipeline->ReadyInNs(
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock_->Steady().time_since_epoch())
          .count());
  if (wait_ns <= 0) return std::nullopt;
  metrics_->push_requests.With({opts_.job_name, "429"})->Add(1);
  const int64_t seconds = std::max<int64_t>(1, (wait_ns + 999'999'999) / 1'000'000'000);
  return HttpReply{429, "rate limited by a limit stage: retry later\n", std::to_string(seconds)};
}

std::string PushSource::RouteKey(const std::string& sender_tenant) {
  // The header is the sender's to choose: a value Loki would not take as a tenant is no key of
  // its own (it could not route anywhere else than the client's tenant either).
  return sink::ValidTenantId(sender_tenant) ? sender_tenant : std::string();
}

void PushSource::Refuse(const ReplyFn& reply, int status, std::string message) {
  metrics_->push_requests.With({opts_.job_name, std::to_string(status)})->Add(1);
  int64_t times = 0;
  if (status != 503 && refused_log_.Allow(&times)) {
    LOG_WARN("refused a push request", {{"job", opts_.job_name},
                                        {"status", std::to_string(status)},
                                        {"error", message},
                                        {"times", std::to_string(times)}});
  }
  reply(HttpReply{status, std::move(message) + "\n", status == 503 ? "1" : ""});
}

void PushSource::Handle(telemetry::HttpBodyRequest&& req, ReplyFn reply) {
  metrics_->push_bytes.With({opts_.job_name})->Add(static_cast<double>(req.body.size()));
  if (opts_.heroku) return HandleDrain(std::move(req), std::move(reply));
  DecodeLimits limits{.max_decoded_bytes = static_cast<size_t>(opts_.config.max_body_size)};
  const bool raw = req.path == kRawPath || req.path == kAlloyRawPath || req.path == kShortRawPath;
  Result<std::vector<PushedStream>> streams = Err(Internal("not decoded"));
  if (!raw) {
    streams = DecodePush(req.body, req.content_type, req.content_encoding, limits);
  } else if (Status st = CheckRawBody(req.body, limits.max_decoded_bytes); !st.ok()) {
    streams = Err(st);
  } else {
    streams = SplitRaw(req.body);
  }
  req.body = std::string();  // the decoded streams own what they need
  if (!streams) return Refuse(reply, HttpStatusFor(streams.error()), streams.error().message());
  Deliver(*streams, raw ? Body::kRaw : Body::kLoki, req.tenant, HttpReply{204, "", ""},
          std::move(reply));
}

// As Promtail: the frames read before a malformed one are sent on, and the request is answered
// 400 naming it (once they are delivered: a 400 before would not tell the sender anything more,
// and a 503 after ack_timeout still makes it send them again rather than lose them).
void PushSource::HandleDrain(telemetry::HttpBodyRequest&& req, ReplyFn reply) {
  DrainBody drain =
      DecodeDrain(req.body, req.query, static_cast<size_t>(opts_.config.max_body_size));
  req.body = std::string();
  if (drain.error.code() == StatusCode::kResourceExhausted) {  // nothing decoded is kept
    return Refuse(reply, HttpStatusFor(drain.error), drain.error.message());
  }
  metrics_->heroku_entries.With({})->Add(static_cast<double>(drain.messages));
  HttpReply done{204, "", ""};
  if (!drain.error.ok()) {
    metrics_->heroku_parsing_errors.With({})->Add(1);
    if (drain.messages == 0) return Refuse(reply, 400, drain.error.message());
    done = HttpReply{400, drain.error.message() + "\n", ""};
    int64_t times = 0;
    if (refused_log_.Allow(&times)) {
      LOG_WARN("malformed Heroku drain request: the messages before the error are sent",
               {{"job", opts_.job_name},
                {"error", drain.error.message()},
                {"messages", std::to_string(drain.messages)},
                {"times", std::to_string(times)}});
    }
  }
  Deliver(drain.streams, Body::kHeroku, req.tenant, std::move(done), std::move(reply));
}

void PushSource::Deliver(std::vector<PushedStream>& streams, Body body, const std::string& tenant,
                         HttpReply done, ReplyFn reply) {
  auto waiter = std::make_shared<Waiter>();
  waiter->reply = std::move(reply);
  waiter->deadline = std::chrono::steady_clock::now() + opts_.config.ack_timeout;
  waiter->requests = &metrics_->push_requests;
  waiter->job_name = opts_.job_name;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Refuse(waiter->reply, 503, "skidder is shutting down: retry");
    waiting_.push_back(waiter);
  }
  cv_.notify_all();
  std::shared_ptr<AckTracker> tracker = AckTracker::Create(0);
  tracker->OnAdvance([waiter, done = std::move(done)](uint64_t) { waiter->Answer(done); });
  AckRef hold = tracker->Open(1);
  size_t n = 0;
  int64_t next_flush_ns = INT64_MAX;
  {
    std::lock_guard pipe(pipe_mu_);
    n = Emit(streams, hold, body, tenant);
    next_flush_ns = opts_.pipeline->NextFlushNs();
  }
  // ack_timeout counts from here: a large request's pipeline pass is not time Loki had, and a
  // request it did deliver answered 503 would be sent again (duplicated).
  {
    std::lock_guard lock(mu_);
    waiter->emitted = true;
    waiter->emitted_at = std::chrono::steady_clock::now();
    waiter->deadline = waiter->emitted_at + opts_.config.ack_timeout;
    next_flush_ns_ = next_flush_ns;
  }
  cv_.notify_all();
  metrics_->push_entries.With({opts_.job_name})->Add(static_cast<double>(n));
  hold.Reset();  // answers now when nothing is left in flight (all dropped, or none)
}

std::vector<PushedStream> PushSource::SplitRaw(std::string_view body) const {
  std::vector<PushedStream> out(1);
  out[0].labels = opts_.config.labels;
  while (!body.empty()) {
    const size_t nl = std::min(body.find('\n'), body.size());
    std::string_view line = body.substr(0, nl);
    body.remove_prefix(std::min(nl + 1, body.size()));
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
    if (!line.empty()) out[0].entries.push_back({0, std::string(line), {}});  // stamped in Emit
  }
  return out;
}

size_t PushSource::Emit(std::vector<PushedStream>& streams, const AckRef& hold, Body body,
                        const std::string& tenant) {
  const bool raw = body == Body::kRaw;
  // Hands each entry to the sink, noting where the last one of this request goes (Route; a
  // stage may send another request's held block meanwhile).
  struct RouteEmitter final : pipeline::Emitter {
    RouteEmitter(EntrySink* sink, const AckTracker* request) : sink(sink), request(request) {}
    void Emit(pipeline::PipelineEntry&& e) override {
      if (e.entry.ack.Covers(request)) {
        // Shared, not copied, and only when the stream changes: no atomic update per entry.
        if (!last_labels.SameAs(e.entry.labels)) last_labels = e.entry.labels;
        last_clients = e.entry.clients;
        seen = true;
      }
      sink->Push(std::move(e.entry));
    }
    EntrySink* sink;
    const AckTracker* request;
    Labels last_labels;
    uint64_t last_clients = ~uint64_t{0};
    bool seen = false;
  } out(sink_, hold.tracker());
  const BatchTime now = BatchTime::Of(*clock_);
  size_t n = 0;
  // Entries stamped with the time they arrived are a nanosecond apart, in the request's order
  // (ArrivalStamps): a request repeating a line ("retrying...") must not lose all but one.
  for (PushedStream& s : streams) {
    n += s.entries.size();
    Labels labels = std::move(s.labels);
    bool keep = true;
    if (body == Body::kHeroku) {
      labels = DrainLabels(std::move(labels), tenant, &keep);
    } else {
      for (const Label& l : opts_.config.labels) labels.Set(l.name, l.value);
      // As Promtail: relabel_configs over the pushed and configured labels, then no "__" label.
      keep = raw || kubernetes::Relabel(opts_.relabel, labels);
      labels.RemoveInternal();
    }
    if (!keep || (labels.empty() && body == Body::kLoki)) {
      metrics_->push_dropped_streams.With({opts_.job_name})->Add(1);
      continue;
    }
    // As Alloy's loki.source.api: after relabeling, so its rules cannot change it; a tenant stage
    // still can. (The client checks the value: one Loki would refuse is sent with tenant_id.)
    if (!raw && opts_.config.tenant_from_header && !tenant.empty()) {
      labels.Set(kTenantLabel, tenant);
    }
    for (PushedEntry& pe : s.entries) {
      Entry e;
      e.timestamp_ns =
          !raw && opts_.config.use_incoming_timestamp ? pe.timestamp_ns : stamps_.Next(now.wall_ns);
      e.line = std::move(pe.line);
      e.labels = labels;
      e.structured_metadata = std::move(pe.structured_metadata);
      e.ack = hold;
      opts_.pipeline->Process(std::move(e), now, out);
    }
  }
  opts_.pipeline->Flush(now.wall_ns, /*force=*/false, out);
  if (out.seen) {
    const std::string key = RouteKey(tenant);
    if (routes_.size() >= kMaxRoutes && !routes_.contains(key)) routes_.erase(routes_.begin());
    Route& r = routes_[key];
    const std::string* to = out.last_labels.Get(kTenantLabel);
    // A value Loki would refuse goes to the client's own tenant (sink::ValidTenantId).
    r.tenant = to != nullptr && sink::ValidTenantId(*to) ? *to : std::string();
    r.clients = out.last_clients;
  }
  return n;
}

// As Promtail's heroku target: relabel_configs see the message's meta labels and the request's
// tenant (__tenant_id__) only; what they leave without the "__" ones is laid over the job's
// labels, so a rule cannot remove those. (A drop rule drops, where Promtail ignores it.)
Labels PushSource::DrainLabels(Labels meta, const std::string& tenant, bool* keep) const {
  if (!tenant.empty()) meta.Set(kTenantLabel, tenant);
  *keep = kubernetes::Relabel(opts_.relabel, meta);
  meta.RemoveInternal();
  Labels labels = opts_.config.labels;
  for (const Label& l : meta) labels.Set(l.name, l.value);
  return labels;
}

void PushSource::FlushDue(bool force) {
  pipeline::SinkEmitter out(sink_);
  std::lock_guard pipe(pipe_mu_);
  opts_.pipeline->Flush(clock_->NowNs(), force, out);
  const int64_t next = opts_.pipeline->NextFlushNs();
  std::lock_guard lock(mu_);
  next_flush_ns_ = next;
}

void PushSource::RunTimeouts() {
  std::unique_lock lock(mu_);
  while (true) {
    while (!waiting_.empty() && waiting_.front()->answered) waiting_.pop_front();
    if (stopping_) break;
    const auto now = std::chrono::steady_clock::now();
    std::optional<std::chrono::steady_clock::time_point> wake;
    if (next_flush_ns_ != INT64_MAX) {
      const int64_t in_ns = next_flush_ns_ - clock_->NowNs();
      if (in_ns <= 0) {
        lock.unlock();
        FlushDue(/*force=*/false);  // takes pipe_mu_, then mu_: never with mu_ held
        lock.lock();
        continue;
      }
      wake = now + std::chrono::nanoseconds(in_ns);
      // A stage may hold a request's last entries longer than the sender waits (a multiline
      // max_wait_time >= ack_timeout): its answer would be a 503 every time, and the request
      // sent again, duplicated. Halfway to the deadline of the first request emitted since the
      // last forced flush, what the stages hold is sent whatever they wait for.
      bool forced = false;
      for (const std::shared_ptr<Waiter>& w : waiting_) {
        if (!w->emitted || w->answered || w->emitted_at <= forced_at_) continue;
        const auto cut = w->emitted_at + opts_.config.ack_timeout / 2;
        forced = now >= cut;
        if (!forced) wake = std::min(*wake, cut);
        break;
      }
      if (forced) {
        forced_at_ = now;  // covers every request emitted before: their entries are in the stages
        lock.unlock();
        FlushDue(/*force=*/true);
        lock.lock();
        continue;
      }
    }
    if (waiting_.empty()) {
      if (wake) {
        cv_.wait_until(lock, *wake);
      } else {
        cv_.wait(lock);
      }
      continue;
    }
    std::shared_ptr<Waiter> front = waiting_.front();
    if (now < front->deadline) {
      cv_.wait_until(lock, wake ? std::min(*wake, front->deadline) : front->deadline);
      continue;
    }
    waiting_.pop_front();
    lock.unlock();
    front->Answer(HttpReply{503,
                            "entries not yet delivered to Loki within ack_timeout; retry (what "
                            "was received is still being delivered)\n",
                            "1"});
    lock.lock();
  }
  std::deque<std::shared_ptr<Waiter>> left;
  left.swap(waiting_);
  lock.unlock();
  for (auto& w : left) {
    w->Answer(
        HttpReply{503, "skidder is shutting down before Loki took these entries; retry\n", "1"});
  }
}

}  // namespace skidder::sources::push
