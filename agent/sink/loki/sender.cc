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
      backoff_(cfg.backoff_config.min_period, cfg.backoff_config.max_period, seed),
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

bool Sender::Send(Batch* batch) {
  held_ = 0;
  std::deque<Piece> todo{{0, batch->entries.size()}};
  while (!todo.empty()) {
    Piece p = todo.front();
    switch (SendPiece(batch, p)) {
      case Outcome::kDone:
        todo.pop_front();
        break;
      case Outcome::kSplit: {
        // Halves go out in order, so each stream's entries still arrive oldest first.
        todo.pop_front();
        size_t mid = p.begin + (p.end - p.begin) / 2;
        todo.push_front({mid, p.end});
        todo.push_front({p.begin, mid});
        break;
      }
      case Outcome::kAbort: {
        std::vector<BatchEntry> rest;
        for (const Piece& q : todo) {
          for (size_t i = q.begin; i < q.end; ++i) rest.push_back(std::move(batch->entries[i]));
        }
        batch->entries = std::move(rest);
        ReleaseHeld();
        return false;
      }
    }
  }
  batch->entries.clear();
  ReleaseHeld();
  return true;
}

// The body now holds the whole batch: what the entries were charged moves to the sender (held_),
// less the stream buffers freed here, which readers may fill again while the push is in flight.
void Sender::DropData(Batch* batch) {
  int64_t memory = 0;
  for (BatchEntry& e : batch->entries) {
    memory += BatchEntryMemory(e);
    e.memory = 0;
  }
  const int64_t freed = batch->DropData();
  held_ += memory - freed;
  control_->Released(freed, 0);
}

// A 413 for the whole batch: its halves are encoded from the stream buffers, rebuilt from the
// body just refused. False only if the body is not the batch's request (a bug, never expected).
bool Sender::RestoreData(Batch* batch) {
  const int64_t charged = batch->RestoreData(body_);
  if (charged < 0) return false;
  held_ += charged;
  control_->Released(-charged, 0);
  return true;
}

void Sender::ReleaseHeld() {
  if (held_ != 0) control_->Released(held_, 0);
  held_ = 0;
}

Sender::Outcome Sender::SendPiece(Batch* batch, Piece piece) {
  std::span<BatchEntry> entries(batch->entries.data() + piece.begin, piece.end - piece.begin);
  EncodeStats stats;
  EncodePush(*batch, piece.begin, piece.end, &body_, &stats);
  encoded_bytes_->Add(static_cast<double>(body_.size()));
  if (KnownTooLarge(body_.size())) return TooLarge(batch, entries);
  if (entries.size() == batch->entries.size() && !batch->data_dropped()) DropData(batch);
  backoff_.Reset();
  for (;;) {
    if (pace_next_) {  // requests after a 413 go out at most one per backoff min_period (<= 1 s)
      pace_next_ = false;
      auto pace = std::min<std::chrono::nanoseconds>(cfg_.backoff_config.min_period, kMaxSplitPace);
      if (!control_->SleepFor(pace)) return Outcome::kAbort;
    }
    auto start = clock_.Steady();
    io::HttpResponse r = Post(batch->tenant);
    std::chrono::duration<double> took = clock_.Steady() - start;
    // Promtail reports -1 for "no response"; dashboards built on it expect that value.
    std::string code = r.status == 0 ? "-1" : std::to_string(r.status);
    m_.request_duration.With({host_, code})->Observe(took.count());

    Decision d = Classify(r.status, r.body, cfg_.drop_rate_limited_batches);
    switch (d.action) {
      case Action::kAck:
        sent_bytes_->Add(static_cast<double>(body_.size()));
        sent_entries_->Add(static_cast<double>(stats.entries));
        Release(entries);
        return Outcome::kDone;
      case Action::kDrop:
        Drop(entries, d.reason, static_cast<int64_t>(body_.size()), LoggableBody(r.body));
        return Outcome::kDone;
      case Action::kSplit:
        if (too_large_bytes_ == 0 || body_.size() < too_large_bytes_ ||
            clock_.Steady() - too_large_at_ > kTooLargeMemory) {
          too_large_bytes_ = body_.size();
        }
        too_large_at_ = clock_.Steady();
        pace_next_ = true;
        return TooLarge(batch, entries);
      case Action::kReauth:
        // Loki wants a tenant these entries do not have. (Post sent the freshest credentials
        // it had, MaybeRefresh: a reload and a retry per batch would fetch an OAuth2 token and
        // sleep a backoff each time, with every other tenant's batches waiting behind.)
        if (batch->tenant == kInvalidTenant) {
          Drop(entries, telemetry::kReasonInvalidTenant, static_cast<int64_t>(body_.size()),
               LoggableBody(r.body));
          return Outcome::kDone;
        }
        creds_.Reload(clock_.Steady());
        break;
      case Action::kRetry:
        break;
    }
    batch_retries_->Add();
    if (d.misrouted && ShouldLogAttempt(backoff_.attempt() + 1)) {
      LOG_ERROR("loki: push refused by something other than Loki, will retry",
                {{"url", safe_url_},
                 {"status", code},
                 {"body", LoggableBody(r.body)},
                 {"attempt", std::to_string(backoff_.attempt() + 1)},
                 {"hint",
                  "Loki answers a push only with 2xx, 400 (in plain text), 401, 403, 413, 429 "
                  "or 5xx; check that the client url (scheme and port too) ends in "
                  "/loki/api/v1/push and that the gateway routes it and accepts the agent's "
                  "certificate. The lines are kept until it does"}});
    } else if (ShouldLogAttempt(backoff_.attempt() + 1)) {
      LOG_WARN("loki: push failed, will retry",
               {{"url", safe_url_},
                {"status", code},
                {"error", RedactSecrets(r.transport_error)},
                {"body", LoggableBody(r.body)},
                {"attempt", std::to_string(backoff_.attempt() + 1)}});
    }
    // A Retry-After (a gateway's 429 or 503) longer than the backoff is waited for, up to
    // max_period: sooner would be refused again, and an hour must not stall the node.
    std::chrono::nanoseconds wait = backoff_.Next();
    if (r.retry_after > wait) {
      wait = std::max(
          wait, std::min<std::chrono::nanoseconds>(r.retry_after, cfg_.backoff_config.max_period));
    }
    if (!control_->SleepFor(wait)) return Outcome::kAbort;
  }
}

bool Sender::KnownTooLarge(size_t body_bytes) const {
  return too_large_bytes_ > 0 && body_bytes >= too_large_bytes_ &&
         clock_.Steady() - too_large_at_ <= kTooLargeMemory;
}

Sender::Outcome Sender::TooLarge(Batch* batch, std::span<BatchEntry> entries) {
  if (entries.size() <= 1) {
    Drop(entries, telemetry::kReasonTooLarge, static_cast<int64_t>(body_.size()),
         "413 for a single entry");
    return Outcome::kDone;
  }
  if (batch->data_dropped() && !RestoreData(batch)) {
    LOG_ERROR("loki: internal error: a refused batch could not be split; its entries are dropped",
              {{"host", host_}, {"entries", std::to_string(entries.size())}});
    Drop(entries, telemetry::kReasonTooLarge, static_cast<int64_t>(body_.size()),
         "413, batch not splittable");
    return Outcome::kDone;
  }
  if (int64_t n = 0; split_log_.Allow(&n)) {
    LOG_INFO("loki: request too large, splitting batch",
             {{"host", host_},
              {"entries", std::to_string(entries.size())},
              {"bytes", std::to_string(body_.size())},
              {"splits", std::to_string(n)}});
  }
  return Outcome::kSplit;
}

io::HttpResponse Sender::Post(const std::string& tenant) {
  creds_.MaybeRefresh(clock_.Steady());
  io::HttpRequest req;
  req.url = cfg_.url;
  req.body = body_;
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

void Sender::Release(std::span<BatchEntry> entries) {
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
  control_->Released(memory, static_cast<int64_t>(entries.size()));
}

void Sender::Drop(std::span<BatchEntry> entries, const char* reason, int64_t bytes,
                  const std::string& why) {
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
  Release(entries);
}

}  // namespace skidder::sink
