// PushSource: one `loki_push_api` scrape config. Serves Loki's push API (POST /loki/api/v1/push,
// and /ready) on an HTTP server of the job's own, and feeds what it receives through the job's
// labels, relabel_configs and pipeline into the EntrySink. A `heroku_drain` job is the same server
// taking Heroku's logplex bodies on POST /heroku/api/v1/drain instead (heroku.h).
//
// At-least-once, end to end: a push is answered 204 only once every entry it carried was
// acknowledged by Loki (or dropped on purpose: by a stage, a relabel rule, or a 400 from Loki).
// Each request gets an AckTracker with one checkpoint; every entry holds a ref to it, and the
// tracker's OnAdvance answers the request when the last ref goes. The connection waits suspended
// meanwhile (no thread held). A request not acknowledged within ack_timeout is answered 503, so
// the sender retries: its entries may then reach Loki twice (at-least-once; Loki drops exact
// duplicates of a stream at query time when the timestamps are the sender's, i.e. with
// use_incoming_timestamp). While the sink cannot take more for the request's tenant a push is
// refused 429 with Retry-After before its body is read, so a chain of agents holds its backlog
// at the first one, on disk.
//
// Threads: Start/Stop on the owner's thread. Requests are decoded and run through the pipeline on
// the server's event thread (the only user of the pipeline while it runs); acknowledgements
// arrive on the sink's threads; a timer thread answers requests past their deadline.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "config/config.h"
#include "kubernetes/relabel.h"
#include "model/sink.h"
#include "pipeline/pipeline.h"
#include "sources/push/decode.h"
#include "sources/push/heroku.h"
#include "telemetry/agent_metrics.h"
#include "telemetry/http_server.h"
#include "util/arrival_stamps.h"
#include "util/clock.h"
#include "util/log_limiter.h"

namespace skidder::sources::push {

inline constexpr const char* kPushPath = "/loki/api/v1/push";
// Promtail's plain-text endpoint: one entry per line, the job's labels, the time of receipt.
inline constexpr const char* kRawPath = "/promtail/api/v1/raw";
// Alloy's loki.source.api serves these too (the /api/v1 ones as aliases), so every job does: a
// sender configured for Alloy keeps its URL.
inline constexpr const char* kAlloyRawPath = "/loki/api/v1/raw";
inline constexpr const char* kShortPushPath = "/api/v1/push";
inline constexpr const char* kShortRawPath = "/api/v1/raw";

struct PushSourceOptions {
  std::string job_name;
  config::PushApiConfig config;
  kubernetes::RelabelRules relabel;
  pipeline::Pipeline* pipeline = nullptr;             // the job's; used on the server's thread only
  std::shared_ptr<const telemetry::TlsMaterial> tls;  // HTTPS; null: plain HTTP
  bool heroku = false;  // a heroku_drain job (config: PushServerOf's translation)
  // The key of the server's port, named when it cannot be bound (Alloy's differs).
  std::string port_key = "server.http_listen_port";
};

class PushSource {
 public:
  PushSource(PushSourceOptions opts, EntrySink* sink, telemetry::AgentMetrics* metrics,
             const Clock* clock);
  ~PushSource() { Stop(); }

  // Binds and serves; returns the bound port. Error: the address cannot be bound.
  Result<int> Start();
  // Shutdown, first step: new pushes are answered 503 while those waiting may still get their
  // 204 as the clients flush. Any thread.
  void Drain() { draining_ = true; }
  // Answers every waiting push 503 (they were not delivered yet: the sender keeps them), stops
  // the server and flushes the pipeline into the sink.
  void Stop();

 private:
  struct Waiter;
  using ReplyFn = std::function<void(telemetry::HttpReply)>;
  // What a request carried: how its streams are labelled and stamped (Emit).
  enum class Body { kLoki, kRaw, kHeroku };
  // Before a body is read: 503 while draining, 429 while what the request would add cannot be
  // taken (sender_tenant: its X-Scope-OrgID, which tells where its entries go; Route), or
  // while a limit stage waits.
  std::optional<telemetry::HttpReply> Admit(const std::string& path,
                                            const std::string& sender_tenant);
  void Handle(telemetry::HttpBodyRequest&& req, ReplyFn reply);
  void HandleDrain(telemetry::HttpBodyRequest&& req, ReplyFn reply);
  // Hands the streams on (Emit) and answers `done` once Loki took every entry (or they were
  // dropped on purpose), 503 after ack_timeout.
  void Deliver(std::vector<PushedStream>& streams, Body body, const std::string& tenant,
               telemetry::HttpReply done, ReplyFn reply);
  // Runs the decoded streams through labels, relabeling and the pipeline; each entry holds hold.
  // Raw pushes skip relabeling and keep their time of receipt, as in Promtail. A Loki push's
  // stream left without labels is dropped (as Promtail's push target does); a raw push's and a
  // Heroku drain's go on to the stages (as Promtail's plaintext handler and heroku target do: a
  // stage may add labels). tenant: the request's X-Scope-OrgID, given to the entries with
  // tenant_from_header (raw pushes excepted).
  size_t Emit(std::vector<PushedStream>& streams, const AckRef& hold, Body body,
              const std::string& tenant);
  // The body of a raw push as one stream of lines (no relabeling, as in Promtail), unstamped:
  // Emit gives them their time of receipt.
  std::vector<PushedStream> SplitRaw(std::string_view body) const;
  Labels DrainLabels(Labels meta, const std::string& tenant, bool* keep) const;
  void Refuse(const ReplyFn& reply, int status, std::string message);
  // The timer's thread: answers 503 to requests past ack_timeout, and flushes the pipeline when
  // its stages want it (a sender waits for its answer before it sends again, so a held block
  // must not wait for the next request: it came only after a 503, and as a duplicate).
  void RunTimeouts();
  // force: every block a stage holds is sent, due or not.
  void FlushDue(bool force);

  PushSourceOptions opts_;
  EntrySink* sink_;
  telemetry::AgentMetrics* metrics_;
  const Clock* clock_;
  ArrivalStamps stamps_;  // Emit's, on the server's one event thread
  std::unique_ptr<telemetry::HttpServer> server_;
  log::LogLimiter refused_log_;  // a misbehaving sender must not flood the log
  // Where the entries of a sender's last request went (the tenant and clients the pipeline
  // gave its last entry), by the sender's X-Scope-OrgID ("" without one): a relay for many
  // tenants refuses a sender 429 only while its own tenant is held back by Loki, or while the
  // clients are full with more than a held tenant's share (EntrySink::SaturatedExceptHeld),
  // not all senders while one tenant is refused. Under pipe_mu_; at most kMaxRoutes (the
  // header is the sender's to choose).
  struct Route {
    std::string tenant;  // the `__tenant_id__` the pipeline left ("" for the client's own)
    uint64_t clients = ~uint64_t{0};
  };
  static constexpr size_t kMaxRoutes = 1024;
  // routes_' key of a request's X-Scope-OrgID: "" for none or one Loki would refuse.
  static std::string RouteKey(const std::string& sender_tenant);
  std::unordered_map<std::string, Route> routes_;
  // The pipeline: the server's thread runs requests through it, the timer's flushes what its
  // stages hold (a multiline block) when it is due. Taken before mu_, never inside it.
  std::mutex pipe_mu_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Waiter>> waiting_;  // by deadline (one timeout for all)
  // When the pipeline wants its next flush (wall ns, the pipeline's clock); INT64_MAX: never.
  int64_t next_flush_ns_ = INT64_MAX;  // guarded by mu_
  // The last flush forced for a request waiting too long (RunTimeouts); guarded by mu_.
  std::chrono::steady_clock::time_point forced_at_;
  bool stopping_ = false;
  std::atomic<bool> draining_{false};
  std::thread timer_;
  bool started_ = false;
};

}  // namespace skidder::sources::push
