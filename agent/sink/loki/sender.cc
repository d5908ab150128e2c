#include "sink/loki/sender.h"

#include <deque>
#include <string_view>

#include "formats/utf8.h"
#include "io/proxy.h"
#include "io/tls_from_config.h"
#include "sink/loki/classify.h"
#include "sink/loki/encoder.h"
#include "util/log.h"
#include "util/redact.h"

#ifndef SKIDDER_VERSION
#define SKIDDER_VERSION "dev"
#endif

namespace skidder::sink {
namespace {

constexpr size_t kMaxLoggedBody = 1024;
// How long a 413 for a body size is trusted for bodies at least as large (the gateway's limit may
// be raised meanwhile), and the most a request after a 413 waits.
constexpr auto kTooLargeMemory = std::chrono::minutes(1);
constexpr std::chrono::nanoseconds kMaxSplitPace = std::chrono::seconds(1);

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

void ReplaceAll(std::string& s, std::string_view from, std::string_view to) {
  if (from.size() < 4) return;  // too short to be a secret; replacing would mangle the text
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
}

// Logging every retry of a long outage would flood the agent's own log: log attempts 1, 2, 4, 8...
bool ShouldLogAttempt(int attempt) { return (attempt & (attempt - 1)) == 0; }

}  // namespace

Sender::Sender(const config::ClientConfig& cfg, uint64_t seed, std::unique_ptr<io::HttpClient> http,
               io::Credentials creds, telemetry::AgentMetrics& metrics, const Clock& clock,
               SendControl* control)
    : cfg_(cfg),
      host_(io::UrlHost(cfg.url)),
      safe_url_(io::RedactUrl(cfg.url)),
      http_(std::move(http)),
      creds_(std::move(creds)),
      seeds_(seed != 0 ? seed : std::random_device{}()),
      m_(metrics),
      clock_(clock),
      control_(control),
      encoded_bytes_(metrics.encoded_bytes.With({host_})),
      sent_bytes_(metrics.sent_bytes.With({host_})),
      sent_entries_(metrics.sent_entries.With({host_})),
      batch_retries_(metrics.batch_retries.With({host_})) {
  // A token request in progress must not hold up shutdown any more than a push does.
  creds_.set_cancel(control_->cancel());
}

// Loki's error text, made printable, short enough for one log line, and without credentials: a
// Loki or proxy that echoes the request shows our Authorization and API-key headers.
std::string Sender::LoggableBody(std::string_view body) const {
  std::string s(body.substr(0, kMaxLoggedBody + 4));
  ReplaceAll(s, cfg_.url, safe_url_);
  // Exact values first (they may be split by the pattern rules below), then anything that looks
  // like a credential.
  const std::string& auth = creds_.authorization();
  if (size_t sp = auth.find(' '); sp != std::string::npos) {
    ReplaceAll(s, std::string_view(auth).substr(sp + 1), "<redacted>");
  }
  for (const auto& [name, value] : cfg_.headers) {
    if (IsSensitiveName(name)) ReplaceAll(s, value, "<redacted>");
  }
  s = RedactSecrets(s);
  formats::SanitizeUtf8(s);
  formats::TruncateUtf8(s, kMaxLoggedBody);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

Outgoing Sender::Begin(Batch batch, SteadyTime now) {
  Outgoing out(std::move(batch), seeds_(), cfg_.backoff_config, now);
  out.body_ = std::move(spare_body_);
  return out;
}

void Sender::Finish(Outgoing* out) {
  ReleaseHeld(out);
  if (out->body_.capacity() > spare_body_.capacity()) spare_body_ = std::move(out->body_);
  spare_body_.clear();
}

std::vector<BatchEntry> Sender::Unsent(Outgoing* out) {
  std::vector<BatchEntry> rest;
  for (const Piece& q : out->todo_) {
    for (size_t i = q.begin; i < q.end; ++i) rest.push_back(std::move(out->batch_.entries[i]));
  }
  out->todo_.clear();
  Finish(out);
  return rest;
}

void Sender::PopPiece(Outgoing* out) {
  out->todo_.pop_front();
  out->encoded_ = false;
  out->backoff_.Reset();
}

bool Sender::Attempt(Outgoing* out) {
  while (!out->todo_.empty()) {
    const Piece p = out->todo_.front();
    Batch& batch = out->batch_;
    std::span<BatchEntry> entries(batch.entries.data() + p.begin, p.end - p.begin);
    if (!out->encoded_) {
      EncodeStats stats;
      EncodePush(batch, p.begin, p.end, &out->body_, &stats);
      out->body_entries_ = stats.entries;
      encoded_bytes_->Add(static_cast<double>(out->body_.size()));
      if (KnownTooLarge(out->body_.size())) {
        TooLarge(out);
        continue;
      }
      if (entries.size() == batch.entries.size() && !batch.data_dropped()) DropData(out);
      out->encoded_ = true;
    }
    auto start = clock_.Steady();
    io::HttpResponse r = Post(batch.tenant, out->body_);
    const SteadyTime end = clock_.Steady();
    std::chrono::duration<double> took = end - start;
    // Promtail reports -1 for "no response"; dashboards built on it expect that value.
    std::string code = r.status == 0 ? "-1" : std::to_string(r.status);
    m_.request_duration.With({host_, code})->Observe(took.count());

    Decision d = Classify(r.status, r.body, cfg_.drop_rate_limited_batches);
    switch (d.action) {
      case Action::kAck:
        sent_bytes_->Add(static_cast<double>(out->body_.size()));
        sent_entries_->Add(static_cast<double>(out->body_entries_));
        Release(batch.tenant, entries);
        PopPiece(out);
        continue;
      case Action::kDrop:
        Drop(batch.tenant, entries, d.reason, static_cast<int64_t>(out->body_.size()),
             LoggableBody(r.body));
        PopPiece(out);
        continue;
      case Action::kSplit: {
        if (too_large_bytes_ == 0 || out->body_.size() < too_large_bytes_ ||
            end - too_large_at_ > kTooLargeMemory) {
          too_large_bytes_ = out->body_.size();
        }
        too_large_at_ = end;
        TooLarge(out);
        if (out->todo_.empty()) continue;  // the batch's last entry, dropped: done
        // The next request of this batch waits a little (at most one per backoff min_period,
        // <= 1 s): a 413 flood must not become a request storm.
        out->due_ =
            end + std::min<std::chrono::nanoseconds>(cfg_.backoff_config.min_period, kMaxSplitPace);
        return false;
      }
      case Action::kReauth:
        // Loki wants a tenant these entries do not have. (Post sent the freshest credentials
        // it had, MaybeRefresh: a reload and a retry per batch would fetch an OAuth2 token and
        // sleep a backoff each time.)
        if (batch.tenant == kInvalidTenant) {
          Drop(batch.tenant, entries, telemetry::kReasonInvalidTenant,
               static_cast<int64_t>(out->body_.size()), LoggableBody(r.body));
          PopPiece(out);
          continue;
        }
        creds_.Reload(end);
        break;
      case Action::kRetry:
        break;
    }
    batch_retries_->Add();
    const int attempt = out->backoff_.attempt() + 1;
    const bool named = !batch.tenant.empty() && batch.tenant != kInvalidTenant;
    if (d.misrouted && ShouldLogAttempt(attempt)) {
      LOG_ERROR("loki: push refused by something other than Loki, will retry",
                {{"url", safe_url_},
                 {"status", code},
                 {"body", LoggableBody(r.body)},
                 {"attempt", std::to_string(attempt)},
                 {"hint",
                  "Loki answers a push only with 2xx, 400 (in plain text), 401, 403, 413, 429 "
                  "or 5xx; check that the client url (scheme and port too) ends in "
                  "/loki/api/v1/push and that the gateway routes it and accepts the agent's "
                  "certificate. The lines are kept until it does"}});
    } else if (ShouldLogAttempt(attempt)) {
      const std::string error = RedactSecrets(r.transport_error), body = LoggableBody(r.body),
                        attempts = std::to_string(attempt);
      std::vector<log::Field> fields{{"url", safe_url_},
                                     {"status", code},
                                     {"error", error},
                                     {"body", body},
                                     {"attempt", attempts}};
      // Which tenant waits: the others' batches go on meanwhile.
      if (named) fields.emplace_back("tenant", batch.tenant);
      log::Write(log::Level::kWarn, "loki: push failed, will retry", fields);
    }
    // A Retry-After (a gateway's 429 or 503) longer than the backoff is waited for, up to
    // max_period: sooner would be refused again, and an hour must not stall the node.
    std::chrono::nanoseconds wait = out->backoff_.Next();
    if (r.retry_after > wait) {
      wait = std::max(
          wait, std::min<std::chrono::nanoseconds>(r.retry_after, cfg_.backoff_config.max_period));
    }
    out->due_ = end + wait;
    // A batch waiting for its retry holds its request, which the budget did not count (DropData
    // gave back the buffers it was encoded from, and a batch in flight is quick): with every
    // tenant's batch waiting in an outage, that is a request per tenant. Counted from now until
    // the batch is done, so that the readers pause for them too.
    if (out->body_charge_ == 0) {
      out->body_charge_ = static_cast<int64_t>(out->body_.capacity());
      out->held_ += out->body_charge_;
      control_->Released(out->batch_.tenant, -out->body_charge_, 0);
    }
    return false;
  }
  Finish(out);
  return true;
}

// The body now holds the whole batch: what the entries were charged moves to the batch's held_,
// less the stream buffers freed here, which readers may fill again while the push is in flight.
void Sender::DropData(Outgoing* out) {
  int64_t memory = 0;
  for (BatchEntry& e : out->batch_.entries) {
    memory += BatchEntryMemory(e);
    e.memory = 0;
  }
  const int64_t freed = out->batch_.DropData();
  out->held_ += memory - freed;
  control_->Released(out->batch_.tenant, freed, 0);
}

// A 413 for the whole batch: its halves are encoded from the stream buffers, rebuilt from the
// body just refused. False only if the body is not the batch's request (a bug, never expected).
bool Sender::RestoreData(Outgoing* out) {
  const int64_t charged = out->batch_.RestoreData(out->body_);
  if (charged < 0) return false;
  out->held_ += charged;
  control_->Released(out->batch_.tenant, -charged, 0);
  return true;
}

void Sender::ReleaseHeld(Outgoing* out) {
  if (out->held_ != 0) control_->Released(out->batch_.tenant, out->held_, 0);
  out->held_ = 0;
}

bool Sender::KnownTooLarge(size_t body_bytes) const {
  return too_large_bytes_ > 0 && body_bytes >= too_large_bytes_ &&
         clock_.Steady() - too_large_at_ <= kTooLargeMemory;
}

void Sender::TooLarge(Outgoing* out) {
  const Piece p = out->todo_.front();
  Batch& batch = out->batch_;
  std::span<BatchEntry> entries(batch.entries.data() + p.begin, p.end - p.begin);
  if (entries.size() <= 1) {
    Drop(batch.tenant, entries, telemetry::kReasonTooLarge, static_cast<int64_t>(out->body_.size()),
         "413 for a single entry");
    PopPiece(out);
    return;
  }
  if (batch.data_dropped() && !RestoreData(out)) {
    LOG_ERROR("loki: internal error: a refused batch could not be split; its entries are dropped",
              {{"host", host_}, {"entries", std::to_string(entries.size())}});
    Drop(batch.tenant, entries, telemetry::kReasonTooLarge, static_cast<int64_t>(out->body_.size()),
         "413, batch not splittable");
    PopPiece(out);
    return;
  }
  if (int64_t n = 0; split_log_.Allow(&n)) {
    LOG_INFO("loki: request too large, splitting batch",
             {{"host", host_},
              {"entries", std::to_string(entries.size())},
              {"bytes", std::to_string(out->body_.size())},
              {"splits", std::to_string(n)}});
  }
  // Halves go out in order, so each stream's entries still arrive oldest first.
  PopPiece(out);
  const size_t mid = p.begin + (p.end - p.begin) / 2;
  out->todo_.push_front({mid, p.end});
  out->todo_.push_front({p.begin, mid});
}

io::HttpResponse Sender::Post(const std::string& tenant, const std::string& body) {
  creds_.MaybeRefresh(clock_.Steady());
  io::HttpRequest req;
  req.url = cfg_.url;
  req.body = body;
  req.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.timeout);
  req.tls = io::TlsFromConfig(cfg_.tls_config);
  req.proxy_url = cfg_.proxy_url;
  req.no_proxy = cfg_.no_proxy;
  req.proxy_from_environment = cfg_.proxy_from_environment;
  req.proxy_connect_header = io::ProxyConnectHeaderLines(cfg_.proxy_connect_header);
  req.follow_redirects = cfg_.follow_redirects;
  req.http2 = cfg_.enable_http2;
  req.cancel = control_->cancel();
  req.headers.emplace_back("Content-Type", "application/x-protobuf");
  req.headers.emplace_back("User-Agent", "skidder/" SKIDDER_VERSION);
  // The client only batches valid tenant IDs (entry_checks.h), so nothing here can split a header.
  const bool named = !tenant.empty() && tenant != kInvalidTenant;
  if (named) req.headers.emplace_back("X-Scope-OrgID", tenant);
  if (!creds_.authorization().empty()) {
    req.headers.emplace_back("Authorization", creds_.authorization());
  }
  // Custom headers never override what the client itself decides (body type, tenant, auth).
  for (const auto& [name, value] : cfg_.headers) {
    if (EqualsIgnoreCase(name, "Content-Type") || EqualsIgnoreCase(name, "Content-Length") ||
        (EqualsIgnoreCase(name, "X-Scope-OrgID") && named) ||
        (EqualsIgnoreCase(name, "Authorization") && !creds_.authorization().empty())) {
      continue;
    }
    req.headers.emplace_back(name, value);
  }
  return http_->Post(req);
}

void Sender::Release(const std::string& tenant, std::span<BatchEntry> entries) {
  int64_t memory = 0;
  {
    // Entries come in runs of one read: the references to their checkpoints are dropped once per
    // run (model/ack.h), which lets the positions advance.
    AckReleaser acks;
    for (BatchEntry& e : entries) {
      memory += BatchEntryMemory(e);
      acks.Take(e.ack);
    }
  }
  control_->Released(tenant, memory, static_cast<int64_t>(entries.size()));
}

void Sender::Drop(const std::string& tenant, std::span<BatchEntry> entries, const char* reason,
                  int64_t bytes, const std::string& why) {
  m_.dropped_entries.With({host_, reason})->Add(static_cast<double>(entries.size()));
  m_.dropped_bytes.With({host_, reason})->Add(static_cast<double>(bytes));
  // One line per reason per 10 s: a flood of oversized entries must not flood the agent's log.
  if (int64_t n = 0; drop_logs_[reason].Allow(static_cast<int64_t>(entries.size()), &n)) {
    LOG_WARN("loki: push refused, entries dropped", {{"host", host_},
                                                     {"reason", reason},
                                                     {"entries", std::to_string(n)},
                                                     {"bytes", std::to_string(bytes)},
                                                     {"body", why}});
  }
  Release(tenant, entries);
}

}  // namespace skidder::sink
