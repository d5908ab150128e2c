#include "sink/loki/client.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>

#include "formats/utf8.h"
#include "io/http_client.h"
#include "sink/loki/batcher.h"
#include "sink/loki/encoder.h"
#include "sink/loki/entry_checks.h"
#include "sink/loki/sender.h"
#include "util/assoc_cache.h"
#include "util/log.h"
#include "util/log_limiter.h"

namespace skidder::sink {
namespace {

// Tenant shares kept at 0 bytes (see Charge).
constexpr size_t kKeptTenantShares = 16;

// Longest the sender sleeps without looking at the clock again while a batch is open or being
// retried: keeps the lag gauge fresh.
constexpr auto kMaxIdleWait = std::chrono::milliseconds(200);
// With no batch open the lag is 0 and nothing is due: the sender sleeps until PushBatch opens a
// batch (which notifies it), so an idle agent's sender does not wake 5 times a second. The bound
// only keeps the deadline far from overflow.
constexpr auto kNothingOpenWait = std::chrono::hours(1);
// Longest a retry waits once the client is stopping (SIGTERM, a reload): a backoff grown to
// minutes in an outage would otherwise sleep through the whole graceful_shutdown_timeout,
// although Loki may be back (the reload is often the very fix), and leave everything unsent.
constexpr auto kStoppingRetryWait = std::chrono::seconds(1);

uint64_t NextClientId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

class LokiClient::Impl final : public SendControl {
 public:
  Impl(config::ClientConfig cfg, ClientOptions opts, telemetry::AgentMetrics* metrics)
      : cfg_(std::move(cfg)),
        opts_(std::move(opts)),
        clock_(opts_.clock != nullptr ? opts_.clock : &SystemClock::Get()) {
    if (metrics == nullptr) {  // a client without an agent around it (tests, tools)
      own_registry_ = std::make_unique<telemetry::Registry>();
      own_metrics_ = std::make_unique<telemetry::AgentMetrics>(*own_registry_);
      metrics = own_metrics_.get();
    }
    m_ = metrics;
    host_ = io::UrlHost(cfg_.url);
    batcher_ = std::make_unique<Batcher>(cfg_.batchsize, cfg_.batchwait);
    batcher_->set_max_streams(opts_.max_streams);
    buffered_gauge_ = m_->buffered_bytes.With({});
    lag_gauge_ = std::make_unique<telemetry::GaugeMaxShare>(m_->stream_lag.With({host_}));
    truncated_ = m_->truncated_lines.With({});
    mutated_entries_ = m_->mutated_entries.With({host_, telemetry::kReasonLineTooLong});
    mutated_bytes_ = m_->mutated_bytes.With({host_, telemetry::kReasonLineTooLong});
    shortened_labels_ = m_->truncated_label_values.With({host_});
    invalid_tenants_ = m_->invalid_tenants.With({host_});
    for (const char* reason : telemetry::kClientDropReasons) {
      m_->dropped_entries.With({host_, reason});
      m_->dropped_bytes.With({host_, reason});
    }
  }
  ~Impl() override;

  void InitSender(io::Credentials creds) {
    auto http = opts_.http_client ? opts_.http_client() : io::NewCurlHttpClient();
    sender_ = std::make_unique<Sender>(cfg_, opts_.seed, std::move(http), std::move(creds), *m_,
                                       *clock_, this);
  }
  // Entry is Entry (PushBatch: the acks move into the batch) or const Entry (PushShared: copied).
  template <typename E>
  void Push(std::span<E> batch);
  bool Saturated() const {
    return buffered_.load(std::memory_order_relaxed) >= opts_.max_buffered_bytes;
  }
  bool SaturatedExceptHeld(bool known) const {
    const int64_t max = opts_.max_buffered_bytes;
    return BudgetFull(buffered_.load(std::memory_order_relaxed),
                      held_bytes_.load(std::memory_order_relaxed), max, known ? max / 2 : max / 4);
  }
  bool TenantHeld(std::string_view tenant) const;
  uint64_t HeldEpoch() const { return held_epoch_.load(std::memory_order_acquire); }
  Status Start();
  bool Stop(std::chrono::milliseconds deadline);
  void BeginStop();
  int64_t BufferedBytes() const { return buffered_.load(std::memory_order_relaxed); }

  // SendControl, called on the sender thread.
  const std::atomic<bool>* cancel() const override { return &abort_; }
  void Released(const std::string& tenant, int64_t memory_bytes, int64_t entries) override;

 private:
  // An entry's final labels (external labels, no "__" ones, values within limits) and tenant.
  // Entries of one stream share their label set, so the result is computed once per stream
  // and batch, and the entries keep sharing one (the encoder groups streams by identity).
  struct Stream {
    Labels in, out;
    // out's text form as the request carries it (a new stream of a batch takes a copy): made
    // once per final set, not per batch (escaping every label was ~3,500 instructions per
    // stream and batch, and a node tailing many files opens most streams in every batch).
    std::shared_ptr<const std::string> text;
    std::string tenant;
    uint32_t invalid_tenant = 0;  // 1: the pipeline named a tenant Loki would refuse
    uint32_t shortened = 0;       // label values shortened to max_label_value_length
    int64_t memory = 0;           // what this call's entries of the stream were charged
    size_t wire_bytes = 0;  // what this call's entries of the stream add (Batch::Add's reserve)
  };
  // Final labels this thread computed lately for this client (see Finalized).
  struct Recent {
    uint64_t client = 0;  // Impl::id_; 0: unused
    Stream stream;
  };
  uint32_t StreamOf(const Labels& labels, std::vector<Stream>& streams);
  // Fills s.out, s.tenant and the counts for s.in: from this thread's recent results when s.in
  // was finalized by this client lately, else computed and remembered.
  void Finalize(Stream& s);
  std::optional<std::string_view> LineToSend(const Entry& e, std::deque<std::string>& fixed);
  uint32_t ShortenLabelValues(Labels* labels);  // returns how many values it shortened
  std::string Tenant(Labels* labels, uint32_t* invalid);
  void DropUnlabelled(uint64_t entries, uint64_t bytes);
  void CountLimitDrop(const char* reason, size_t line_bytes, const Labels& labels,
                      std::string_view detail);
  using Lane = std::list<Outgoing>::iterator;
  void Run();
  // The batch to attempt next, when it is due; sending_.end() when the sender is to exit (aborted,
  // or stopping with everything sent). Waits for a batch to close or a retry to come due.
  Lane NextDue();
  void TakeReady(SteadyTime now);              // requires mu_
  bool Busy(const std::string& tenant) const;  // a batch of this tenant is under way
  void PublishHeld();                          // sender thread: the lanes waiting for a retry
  void UpdateLag(SteadyTime now);              // requires mu_
  void Abandon(const std::string& tenant, std::vector<BatchEntry>&& entries);
  // Adds delta to the tenant's share of buffered_ (and to held_bytes_ if it is held); the
  // caller adds it to buffered_. Requires tenant_mu_.
  void Charge(std::string_view tenant, int64_t delta);

  const config::ClientConfig cfg_;
  const ClientOptions opts_;
  const uint64_t id_ = NextClientId();  // unique in the process (Finalize's key)
  Clock* clock_;
  std::unique_ptr<telemetry::Registry> own_registry_;
  std::unique_ptr<telemetry::AgentMetrics> own_metrics_;
  telemetry::AgentMetrics* m_;
  std::string host_;
  telemetry::Gauge* buffered_gauge_;
  std::unique_ptr<telemetry::GaugeMaxShare> lag_gauge_;  // shared with clients of the same host
  telemetry::Counter* truncated_;
  telemetry::Counter* mutated_entries_;  // promtail_mutated_*{host, reason="line_too_long"}
  telemetry::Counter* mutated_bytes_;
  telemetry::Counter* shortened_labels_;
  telemetry::Counter* invalid_tenants_;
  std::unique_ptr<Sender> sender_;

  std::atomic<int64_t> buffered_{0};
  std::atomic<bool> abort_{false};  // Stop's deadline passed: leave what is unsent
  std::atomic<int64_t> abandoned_entries_{0};
  std::atomic<int64_t> next_limit_log_ns_{0};  // limit drops are logged at most every 10 s
  log::LogLimiter label_log_, tenant_log_, unlabelled_log_;

  mutable std::mutex mu_;
  std::condition_variable cv_;       // wakes the sender: new batch, stop, abort
  std::condition_variable done_cv_;  // the sender has exited
  std::unique_ptr<Batcher> batcher_;
  std::deque<Batch> ready_;  // closed batches, sent in this order within each tenant
  bool started_ = false, stopping_ = false, sender_exited_ = false;
  // The batch each tenant is sending (at most one: a tenant's batches go in order), in the order
  // they began. A tenant whose batch waits for a retry does not hold up the others: one tenant at
  // its ingestion limit (429) or refused by a gateway (403) for minutes used to stop every
  // tenant's batches, and so every reader once the budget filled. Sender thread only (Run empties
  // it before the thread ends).
  std::list<Outgoing> sending_;
  bool stop_seen_ = false;  // sender thread: stopping_ was acted on (retries made due at once)
  // Each tenant's share of buffered_ (by lane key, see Busy) and whether its batch waits for a
  // retry (held_: their keys), with what the held ones hold together (held_bytes_), for
  // SaturatedExceptHeld and TenantHeld on reader threads; any_held_ spares TenantHeld the lock
  // while none is held. An entry stays at 0 bytes: one per tenant seen.
  struct TenantShare {
    int64_t bytes = 0;
    bool held = false;
  };
  mutable std::mutex tenant_mu_;
  std::map<std::string, TenantShare, std::less<>> tenants_;
  std::vector<std::string> held_;
  std::atomic<int64_t> held_bytes_{0};
  std::atomic<bool> any_held_{false};
  std::atomic<uint64_t> held_epoch_{0};  // counts the changes of held_ (HeldEpoch)
  std::thread thread_;
};

// The line as it is sent: valid UTF-8, within max_line_size (truncated), or nullopt when such
// lines are dropped. The entry itself stays as it is: with several clients, each sends it under
// its own limits. A changed line (rare) lives in `fixed` until the batch is added.
std::optional<std::string_view> LokiClient::Impl::LineToSend(const Entry& e,
                                                             std::deque<std::string>& fixed) {
  std::string_view line = e.line;
  if (!formats::IsValidUtf8(line)) {
    // Sanitised first: replacement characters can make the line longer than the limit.
    formats::SanitizeUtf8(fixed.emplace_back(line));
    line = fixed.back();
  }
  if (opts_.max_line_size <= 0 || static_cast<int64_t>(line.size()) <= opts_.max_line_size) {
    return line;
  }
  if (opts_.max_line_size_truncate) {
    if (fixed.empty() || line.data() != fixed.back().data()) fixed.emplace_back(line);
    formats::TruncateUtf8(fixed.back(), static_cast<size_t>(opts_.max_line_size));
    truncated_->Add();
    mutated_entries_->Add();
    mutated_bytes_->Add(static_cast<double>(line.size() - fixed.back().size()));
    return fixed.back();
  }
  m_->dropped_entries.With({host_, telemetry::kReasonLineTooLong})->Add();
  m_->dropped_bytes.With({host_, telemetry::kReasonLineTooLong})
      ->Add(static_cast<double>(line.size()));
  return std::nullopt;  // counted; the caller releases the entry's AckRef and the file moves on
}

// Loki refuses a whole push for one over-long label value. Dropping the entry would lose a line
// that is still on disk for a label's sake, so the value is shortened instead (distinct values stay
// distinct, see ShortenLabelValue) and counted.
uint32_t LokiClient::Impl::ShortenLabelValues(Labels* labels) {
  if (opts_.max_label_value_length <= 0) return 0;
  const auto limit = static_cast<size_t>(opts_.max_label_value_length);
  uint32_t shortened = 0;
  for (const Label& l : *labels) shortened += l.value.size() > limit;
  if (shortened == 0) return 0;
  // One builder for all of them: a Set() per value would rehash the whole set each time.
  LabelsBuilder builder(*labels);
  builder.Reserve(shortened);
  for (const Label& l : *labels) {
    if (l.value.size() <= limit) continue;
    std::string value = l.value;
    // Repaired first: the encoder's replacement characters could make the value long again.
    formats::SanitizeUtf8(value);
    ShortenLabelValue(&value, limit);
    if (int64_t n = 0; label_log_.Allow(&n)) {
      LOG_WARN("label value longer than limits_config.max_label_value_length shortened",
               {{"host", host_},
                {"label", l.name},
                {"max_label_value_length", std::to_string(limit)},
                {"values", std::to_string(n)}});
    }
    builder.Add(l.name, std::move(value));
  }
  *labels = builder.Build();
  return shortened;
}

// The tenant an entry names (tenant stage, __tenant_id__ label) comes from what a pod controls;
// one Loki would not accept is refused whole, never edited into another tenant's name.
std::string LokiClient::Impl::Tenant(Labels* labels, uint32_t* invalid) {
  *invalid = 0;
  std::string tenant = FinalizeLabels(labels, cfg_.external_labels);
  if (tenant.empty()) return cfg_.tenant_id;
  if (ValidTenantId(tenant)) return tenant;
  *invalid = 1;
  if (int64_t n = 0; tenant_log_.Allow(&n)) {
    std::string shown = tenant.substr(0, 64);
    formats::SanitizeUtf8(shown);
    LOG_WARN(cfg_.tenant_id.empty()
                 ? "invalid tenant ID from the pipeline; sent without a tenant (no tenant_id is "
                   "set: dropped, reason=invalid_tenant, if Loki wants one)"
                 : "invalid tenant ID from the pipeline; the configured tenant_id is used instead",
             {{"host", host_}, {"tenant", shown}, {"entries", std::to_string(n)}});
  }
  return cfg_.tenant_id.empty() ? std::string(kInvalidTenant) : cfg_.tenant_id;
}

// Loki refuses a stream without labels and answers the push 400 (the other streams are kept,
// but the client cannot tell which were, and counted the batch as dropped): such an entry (a
// pipeline that dropped every label, a receiver job without `labels`) is dropped alone, counted
// once per call, and the warning says what to change.
void LokiClient::Impl::DropUnlabelled(uint64_t entries, uint64_t bytes) {
  m_->dropped_entries.With({host_, telemetry::kReasonMissingLabels})
      ->Add(static_cast<double>(entries));
  m_->dropped_bytes.With({host_, telemetry::kReasonMissingLabels})->Add(static_cast<double>(bytes));
  if (int64_t n = 0; unlabelled_log_.Allow(static_cast<int64_t>(entries), &n)) {
    LOG_WARN(
        "entry without labels dropped: Loki refuses a stream with no labels; give the job a "
        "label (e.g. job) that relabel_configs and pipeline_stages keep",
        {{"host", host_}, {"entries", std::to_string(n)}});
  }
}

void LokiClient::Impl::CountLimitDrop(const char* reason, size_t line_bytes, const Labels& labels,
                                      std::string_view detail) {
  m_->dropped_entries.With({host_, reason})->Add();
  m_->dropped_bytes.With({host_, reason})->Add(static_cast<double>(line_bytes));
  const int64_t now = clock_->Steady().time_since_epoch().count();
  int64_t next = next_limit_log_ns_.load(std::memory_order_relaxed);
  if (now < next || !next_limit_log_ns_.compare_exchange_strong(next, now + 10'000'000'000)) {
    return;
  }
  const std::string stream = labels.ToString();
  LOG_WARN("entry dropped by limits_config; see promtail_dropped_entries_total",
           {{"host", host_},
            {"reason", reason},
            {"detail", detail},
            {"stream", std::string_view(stream).substr(0, 256)}});
}

// The stream of `labels` in this call's `streams`: one of the last four opened (consecutive
// entries mostly share one), or a new one. Entries refer to streams by index: a stream stays
// what it was for the whole call, however many a batch interleaves.
uint32_t LokiClient::Impl::StreamOf(const Labels& labels, std::vector<Stream>& streams) {
  const size_t n = streams.size();
  for (size_t k = n; k > 0 && k + 4 > n; --k) {
    if (streams[k - 1].in.SameAs(labels)) return static_cast<uint32_t>(k - 1);
  }
  Stream& s = streams.emplace_back();
  s.in = labels;
  Finalize(s);
  return static_cast<uint32_t>(n);
}

// A file's entries carry the same label set read after read (the file's, or the cri stage's
// remembered result with `stream`), and each read is a call of its own. Remembering the results
// per thread saves recomputing them per read (a copy of the set), and gives the batch the same
// final set each time, which it recognises by pointer instead of comparing every label of a
// stream it already holds (7.5 % of the agent's CPU on a 10-file backlog whose lines alternate
// between stdout and stderr). Keyed by client id, not address: a client made by a reload may
// reuse a destroyed one's memory, with other external labels.
// An AssocCache per thread, not a short list searched in turn: a node tails hundreds of files
// that each grow a line now and then, and a list of the last 16 missed on every read of them
// (1000 files: a new final set, an allocation and a deep compare in the batch per line). At
// most 1024 slots (~80 KB) per thread that pushes to many streams; the sets and texts they keep
// alive are those of the streams it pushed lately (see LabelsMemo on the bound).
void LokiClient::Impl::Finalize(Stream& s) {
  thread_local AssocCache<Recent> recent(1024);
  const uint64_t h = s.in.Hash() + id_;
  if (const Recent* r = recent.Find(h, [&](const Recent& slot) {
        return slot.client == id_ && slot.stream.in.SameAs(s.in);
      })) {
    s.out = r->stream.out;
    s.text = r->stream.text;
    s.tenant = r->stream.tenant;
    s.invalid_tenant = r->stream.invalid_tenant;
    s.shortened = r->stream.shortened;
    return;
  }
  s.out = s.in;
  s.tenant = Tenant(&s.out, &s.invalid_tenant);
  s.shortened = ShortenLabelValues(&s.out);
  s.text = std::make_shared<const std::string>(StreamText(s.out));
  Recent& r = recent.Insert(h);
  r.client = id_;
  r.stream = s;
  r.stream.wire_bytes = 0;
}

// One batch (one read of one source): the checks per entry, then one lock and one clock read.
// Each entry is encoded into the client's batch (batch.h), which keeps its AckRef: moved from the
// entry (PushBatch), or a copy when other clients are handed the same span (PushShared).
template <typename E>
void LokiClient::Impl::Push(std::span<E> batch) {
  thread_local std::vector<Stream> streams;  // this call's (capacity kept between calls)
  constexpr uint32_t kDropped = UINT32_MAX;
  struct Prepared {
    uint32_t stream = kDropped;  // index into streams; kDropped: dropped by a limit
    std::string_view line;
  };
  thread_local std::vector<Prepared> prepared;  // per entry
  thread_local std::deque<std::string> fixed;   // lines changed to be sent (rare)
  prepared.assign(batch.size(), {});
  fixed.clear();
  uint64_t invalid_tenants = 0, shortened = 0;  // counted per entry
  uint64_t unlabelled = 0, unlabelled_bytes = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    const uint32_t s = StreamOf(batch[i].labels, streams);
    if (streams[s].out.empty()) {
      ++unlabelled;
      unlabelled_bytes += batch[i].line.size();
      continue;
    }
    invalid_tenants += streams[s].invalid_tenant;
    shortened += streams[s].shortened;
    if (auto line = LineToSend(batch[i], fixed)) {
      prepared[i] = {s, *line};
      streams[s].wire_bytes += line->size() + kEntryWireOverhead;
    }
  }
  if (unlabelled > 0) DropUnlabelled(unlabelled, unlabelled_bytes);
  if (invalid_tenants > 0) invalid_tenants_->Add(static_cast<double>(invalid_tenants));
  if (shortened > 0) shortened_labels_->Add(static_cast<double>(shortened));
  thread_local std::vector<size_t> refused;
  refused.clear();
  bool wake = false;
  int64_t memory_total = 0;
  {
    std::lock_guard lock(mu_);
    const SteadyTime now = clock_->Steady();
    const size_t before = ready_.size();
    for (size_t i = 0; i < batch.size(); ++i) {
      const auto [index, line] = prepared[i];
      if (index == kDropped) continue;
      Stream* s = &streams[index];
      if (!batcher_->Admits(s->tenant, s->out, line.size())) {
        refused.push_back(i);  // as Promtail: the entry goes, and the file moves on
        continue;
      }
      int64_t memory = 0;
      // The caller's entry: its ref moves (no atomic increment here and decrement when the caller
      // destroys the entry). An entry other clients get too: a ref of its own.
      AckRef ack;
      if constexpr (std::is_const_v<E>) {
        ack = batch[i].ack;
      } else {
        ack = std::move(batch[i].ack);
      }
      // The stream's first entry in this call makes room for all of them at once.
      const size_t reserve = std::exchange(s->wire_bytes, 0);
      wake = batcher_->Add(s->tenant, s->out, batch[i], line, std::move(ack), now, &ready_, &memory,
                           reserve, *s->text) ||
             wake;
      memory_total += memory;
      s->memory += memory;
    }
    wake = wake || ready_.size() != before;
    // Charged under the lock, so that a sender waiting for its open batch to fill sees the budget
    // full (NextDue) without missing the wakeup; with each tenant's share at once (Released and
    // PublishHeld compare the two).
    {
      std::lock_guard tenants(tenant_mu_);
      for (Stream& s : streams) {
        if (s.memory != 0) Charge(s.tenant, std::exchange(s.memory, 0));
      }
      buffered_.fetch_add(memory_total, std::memory_order_relaxed);
    }
    wake = wake || Saturated();
  }
  for (size_t i : refused) {
    CountLimitDrop(telemetry::kReasonStreamLimited, prepared[i].line.size(),
                   streams[prepared[i].stream].out, "max_streams");
  }
  streams.clear();  // no label set outlives the call but those Finalize remembers
  buffered_gauge_->Add(static_cast<double>(memory_total));
  if (wake) cv_.notify_all();
}

void LokiClient::Impl::Released(const std::string& tenant, int64_t memory_bytes, int64_t entries) {
  bool room = false;
  {
    std::lock_guard tenants(tenant_mu_);
    const int64_t held = held_bytes_.load(std::memory_order_relaxed);
    const int64_t before = buffered_.fetch_sub(memory_bytes, std::memory_order_relaxed);
    Charge(tenant, -memory_bytes);
    const int64_t max = opts_.max_buffered_bytes;
    room = (before >= max && !Saturated()) ||
           (BudgetFull(before, held, max, max / 2) && !SaturatedExceptHeld(true)) ||
           (BudgetFull(before, held, max, max / 4) && !SaturatedExceptHeld(false));
  }
  buffered_gauge_->Add(-static_cast<double>(memory_bytes));
  if (room && opts_.on_room) opts_.on_room();
}

void LokiClient::Impl::Charge(std::string_view tenant, int64_t delta) {
  if (tenant == kInvalidTenant) tenant = "";  // one lane with no tenant (Busy)
  auto it = tenants_.find(tenant);
  if (it == tenants_.end()) it = tenants_.emplace(std::string(tenant), TenantShare{}).first;
  it->second.bytes += delta;
  if (it->second.held) held_bytes_.fetch_add(delta, std::memory_order_relaxed);
  // Tenant names can come from what pods write: a share at 0 goes, once there are more than a
  // few (those stay, so that a steady tenant does not make and drop its entry on every push).
  if (it->second.bytes == 0 && !it->second.held && tenants_.size() > kKeptTenantShares) {
    tenants_.erase(it);
  }
}

Status LokiClient::Impl::Start() {
  std::lock_guard lock(mu_);
  if (started_) return FailedPrecondition("loki client already started");
  started_ = true;
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void LokiClient::Impl::Run() {
  for (Lane lane = NextDue(); lane != sending_.end(); lane = NextDue()) {
    if (sender_->Attempt(&*lane)) {
      // Let go of the sent batch's buffers now, not when the next batch arrives: the budget it
      // held is free again and readers refill it meanwhile, so a sent batch kept through the wait
      // was a second batch of memory at the agent's peak (~1.5 MB with 1000 streams).
      sending_.erase(lane);
    } else if (stop_seen_) {
      // Stopping: the deadline is spent trying, not waiting for a backoff grown to minutes in an
      // outage (Loki may be back; the reload is often the very fix).
      lane->set_due(std::min(lane->due(), clock_->Steady() + kStoppingRetryWait));
    }
    PublishHeld();
  }
  for (Outgoing& out : sending_) Abandon(out.batch().tenant, sender_->Unsent(&out));
  sending_.clear();
  std::lock_guard lock(mu_);
  sender_exited_ = true;
  done_cv_.notify_all();
}

// Entries without a tenant and those whose tenant Loki would refuse are both sent without
// X-Scope-OrgID, to one tenant of Loki's: one lane, their batches one at a time (a batch of one
// does not overtake the other's batch while it waits for a retry).
bool LokiClient::Impl::Busy(const std::string& tenant) const {
  auto key = [](std::string_view t) { return t == kInvalidTenant ? std::string_view() : t; };
  return std::any_of(sending_.begin(), sending_.end(),
                     [&](const Outgoing& o) { return key(o.batch().tenant) == key(tenant); });
}

void LokiClient::Impl::PublishHeld() {
  thread_local std::vector<std::string> held;
  held.clear();
  for (const Outgoing& o : sending_) {
    if (o.retrying()) held.emplace_back(o.batch().tenant == kInvalidTenant ? "" : o.batch().tenant);
  }
  bool room = false;
  {
    std::lock_guard tenants(tenant_mu_);
    if (held == held_) return;
    const bool was_full = SaturatedExceptHeld(true), was_full_unknown = SaturatedExceptHeld(false);
    for (const std::string& t : held_) {
      auto it = tenants_.find(t);
      if (it == tenants_.end()) continue;
      it->second.held = false;
      if (it->second.bytes == 0 && tenants_.size() > kKeptTenantShares) tenants_.erase(it);
    }
    held_.swap(held);
    int64_t bytes = 0;
    for (const std::string& t : held_) {
      TenantShare& share = tenants_[t];
      share.held = true;
      bytes += share.bytes;
    }
    held_bytes_.store(bytes, std::memory_order_relaxed);
    any_held_.store(!held_.empty(), std::memory_order_relaxed);
    held_epoch_.fetch_add(1, std::memory_order_release);
    room = (was_full && !SaturatedExceptHeld(true)) ||
           (was_full_unknown && !SaturatedExceptHeld(false));
  }
  if (room && opts_.on_room) opts_.on_room();
}

// A reader asks with the `__tenant_id__` value its entries had (""): the lane they went to is
// that of Tenant() (the configured tenant_id for none or an invalid one).
bool LokiClient::Impl::TenantHeld(std::string_view tenant) const {
  if (!any_held_.load(std::memory_order_relaxed)) return false;
  if (tenant.empty() || !ValidTenantId(tenant)) tenant = cfg_.tenant_id;
  std::lock_guard tenants(tenant_mu_);
  auto it = tenants_.find(tenant);
  return it != tenants_.end() && it->second.held;
}

// Each closed batch of a tenant not sending one begins; the others wait their tenant's turn.
void LokiClient::Impl::TakeReady(SteadyTime now) {
  for (auto it = ready_.begin(); it != ready_.end();) {
    if (Busy(it->tenant)) {
      ++it;
    } else {
      sending_.push_back(sender_->Begin(std::move(*it), now));
      it = ready_.erase(it);
    }
  }
}

LokiClient::Impl::Lane LokiClient::Impl::NextDue() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (abort_.load()) return sending_.end();
    const SteadyTime now = clock_->Steady();
    batcher_->CloseExpired(now, &ready_);
    if (stopping_) {
      batcher_->CloseAll(&ready_);  // flush: batchwait no longer matters
      if (!stop_seen_) {            // a stop ends every backoff at once: one more try each
        stop_seen_ = true;
        for (Outgoing& o : sending_) o.set_due(std::min(o.due(), now));
      }
    }
    TakeReady(now);
    auto due = [&] {
      Lane next = sending_.end();
      for (Lane l = sending_.begin(); l != sending_.end(); ++l) {
        if (l->due() <= now && (next == sending_.end() || l->due() < next->due())) next = l;
      }
      return next;
    };
    Lane next = due();
    // The budget is full and nothing can be sent now: waiting for batchsize or batchwait would
    // only stall the readers. (A batch is charged by its buffers' capacity, so with many streams
    // the budget can fill before batchsize is reached; a batchsize above it never is.) This also
    // sends the other tenants' batches while one tenant's waits for a retry; that tenant's open
    // batch stays open (closed, it could only wait, and each wake would cut another).
    if (next == sending_.end() && Saturated() && !batcher_->empty()) {
      batcher_->CloseAllBut([&](const std::string& tenant) { return Busy(tenant); }, &ready_);
      TakeReady(now);
      next = due();
    }
    UpdateLag(now);
    if (next != sending_.end()) return next;
    if (stopping_ && sending_.empty()) return sending_.end();  // everything is sent
    std::chrono::nanoseconds wait = kNothingOpenWait;
    if (auto deadline = batcher_->NextDeadline()) {
      wait = std::min<std::chrono::nanoseconds>(kMaxIdleWait, *deadline - now);
    }
    for (const Outgoing& o : sending_) {  // a retry is due (the lag gauge stays fresh meanwhile)
      wait = std::min<std::chrono::nanoseconds>({wait, kMaxIdleWait, o.due() - now});
    }
    if (wait > std::chrono::nanoseconds::zero()) clock_->WaitUntil(cv_, lock, now + wait);
  }
}

void LokiClient::Impl::UpdateLag(SteadyTime now) {
  std::optional<SteadyTime> oldest;
  for (const Outgoing& o : sending_) {
    if (!oldest || o.batch().created < *oldest) oldest = o.batch().created;
  }
  if (!ready_.empty() && (!oldest || ready_.front().created < *oldest)) {
    oldest = ready_.front().created;
  }
  if (auto open = batcher_->OldestCreated(); open && (!oldest || *open < *oldest)) oldest = open;
  double lag = oldest ? std::chrono::duration<double>(now - *oldest).count() : 0.0;
  lag_gauge_->Set(std::max(lag, 0.0));
}

void LokiClient::Impl::BeginStop() {
  std::lock_guard lock(mu_);
  if (started_ && !stopping_) {
    stopping_ = true;
    cv_.notify_all();
  }
}

bool LokiClient::Impl::Stop(std::chrono::milliseconds deadline) {
  const SteadyTime until = clock_->Steady() + deadline;
  {
    std::unique_lock lock(mu_);
    if (started_) {
      if (!stopping_) {
        stopping_ = true;
        cv_.notify_all();
      }
      while (!sender_exited_ && clock_->Steady() < until) clock_->WaitUntil(done_cv_, lock, until);
      if (!sender_exited_) {
        abort_.store(true);  // cancels the in-flight request and any backoff sleep
        cv_.notify_all();
      }
    }
  }
  if (thread_.joinable()) thread_.join();
  // Whatever is still here could not be sent in time (or the client never started).
  std::deque<Batch> left;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    batcher_->CloseAll(&ready_);
    left.swap(ready_);
  }
  for (Batch& b : left) Abandon(b.tenant, std::move(b.entries));
  return abandoned_entries_.load() == 0;
}

void LokiClient::Impl::Abandon(const std::string& tenant, std::vector<BatchEntry>&& entries) {
  if (entries.empty()) return;
  abandoned_entries_.fetch_add(static_cast<int64_t>(entries.size()));
  int64_t memory = 0, line_bytes = 0;
  for (const BatchEntry& e : entries) {
    memory += BatchEntryMemory(e);
    line_bytes += e.line_bytes;
  }
  LOG_WARN("loki client stopped with unsent entries; they will be read again after a restart",
           {{"host", host_},
            {"entries", std::to_string(entries.size())},
            {"bytes", std::to_string(line_bytes)}});
  // Abandoning (not resetting) the refs frees the entries but keeps every position at or before
  // them: a reload or restart reads them again from the committed offset.
  const auto count = static_cast<int64_t>(entries.size());
  for (BatchEntry& e : entries) e.ack.Abandon();
  entries.clear();
  Released(tenant, memory, count);
}

LokiClient::Impl::~Impl() { Stop(std::chrono::milliseconds(0)); }

bool BudgetFull(int64_t buffered, int64_t held, int64_t max, int64_t room) {
  return buffered - std::clamp<int64_t>(held - max / 2, 0, room) >= max;
}

// --- LokiClient -----------------------------------------------------------------------------

LokiClient::LokiClient() = default;
LokiClient::~LokiClient() = default;

Result<std::unique_ptr<LokiClient>> LokiClient::Create(config::ClientConfig cfg, ClientOptions opts,
                                                       telemetry::AgentMetrics* metrics) {
  std::string safe_url = io::RedactUrl(cfg.url);
  if (!cfg.url.starts_with("http://") && !cfg.url.starts_with("https://")) {
    return Err(InvalidArgument("clients.url must be an http:// or https:// URL, got \"" + safe_url +
                               "\""));
  }
  for (const auto& [name, value] : cfg.headers) {
    if (!io::ValidHeader(name, value)) {  // name only: the value may be a secret
      return Err(InvalidArgument("clients.headers: invalid header \"" + name +
                                 "\" (control characters such as CR/LF are not allowed)"));
    }
  }
  if (!cfg.tenant_id.empty() && !ValidTenantId(cfg.tenant_id)) {
    return Err(InvalidArgument(
        "clients.tenant_id is not a valid Loki tenant ID (1-150 characters of A-Z a-z 0-9 "
        "!-_.*'())"));
  }
  if (cfg.batchsize <= 0) return Err(InvalidArgument("clients.batchsize must be positive"));
  if (cfg.timeout <= std::chrono::nanoseconds::zero()) {
    return Err(InvalidArgument("clients.timeout must be positive"));
  }
  // Files the TLS setup reads at every connection: a missing one would fail every push, so it
  // fails the start (and -check-syntax) instead.
  for (const auto& [key, file] : {std::pair{"ca_file", &cfg.tls_config.ca_file},
                                  std::pair{"cert_file", &cfg.tls_config.cert_file},
                                  std::pair{"key_file", &cfg.tls_config.key_file}}) {
    if (!file->empty() && ::access(file->c_str(), R_OK) != 0) {
      return Err(InvalidArgument(std::string("clients.tls_config.") + key + ": cannot read \"" +
                                 *file + "\": " + std::strerror(errno)));
    }
  }
  auto creds = io::Credentials::Load(
      cfg, std::chrono::duration_cast<std::chrono::milliseconds>(cfg.timeout), "loki client");
  if (!creds) return Err(creds.error());

  std::unique_ptr<LokiClient> client(new LokiClient());
  client->impl_ = std::make_unique<Impl>(std::move(cfg), std::move(opts), metrics);
  client->impl_->InitSender(std::move(*creds));
  return client;
}

void LokiClient::PushBatch(std::span<Entry> batch) { impl_->Push(batch); }
void LokiClient::PushShared(std::span<const Entry> batch) { impl_->Push(batch); }
bool LokiClient::Saturated() const { return impl_->Saturated(); }
bool LokiClient::SaturatedExceptHeld(uint64_t clients, bool known) const {
  return clients != 0 && impl_->SaturatedExceptHeld(known);
}
uint64_t LokiClient::HeldEpoch() const { return impl_->HeldEpoch(); }
bool LokiClient::TenantHeld(std::string_view tenant, uint64_t clients) const {
  return clients != 0 && impl_->TenantHeld(tenant);
}
Status LokiClient::Start() { return impl_->Start(); }
bool LokiClient::Stop(std::chrono::milliseconds deadline) { return impl_->Stop(deadline); }
void LokiClient::BeginStop() { impl_->BeginStop(); }
int64_t LokiClient::BufferedBytes() const { return impl_->BufferedBytes(); }

}  // namespace skidder::sink
