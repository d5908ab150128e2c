#include "sink/loki/classify.h"

#include <algorithm>
#include <cctype>
#include <string>

#include "telemetry/agent_metrics.h"

namespace skidder::sink {
namespace {

// Loki's validation messages (pkg/validation), lower-cased, and the reason each maps to. Order
// matters: a body listing several errors is named after the first pattern that matches.
struct Pattern {
  std::string_view text;
  const char* reason;
};
constexpr Pattern kPatterns[] = {
    {"too far behind", telemetry::kReasonTooFarBehind},
    {"out of order", telemetry::kReasonOutOfOrder},
    {"timestamp too old", telemetry::kReasonTooOld},
    {"too old", telemetry::kReasonTooOld},
    {"timestamp too new", telemetry::kReasonTooNew},
    {"max entry size", telemetry::kReasonLineTooLong},
    {"line too long", telemetry::kReasonLineTooLong},
    {"stream limit", telemetry::kReasonStreamLimit},
    {"rate limit", telemetry::kReasonRateLimited},
};

// An HTML (or XML) page: what gateways and load balancers answer with, never Loki.
bool IsMarkup(std::string_view body) {
  const size_t first = body.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && body[first] == '<';
}

}  // namespace

const char* DropReasonFromBody(std::string_view body) {
  std::string lower(body.substr(0, 4096));
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const Pattern& p : kPatterns) {
    if (lower.find(p.text) != std::string::npos) return p.reason;
  }
  return telemetry::kReasonInvalid;
}

Decision Classify(int status, std::string_view body, bool drop_rate_limited_batches) {
  if (status >= 200 && status < 300) return {Action::kAck};
  if (status == 429) {
    if (drop_rate_limited_batches) return {Action::kDrop, telemetry::kReasonRateLimited};
    return {Action::kRetry};
  }
  if (status == 401 || status == 403) return {Action::kReauth};
  if (status == 413) return {Action::kSplit};
  // 400 is Loki refusing the content (it may have stored the valid part): resending cannot help.
  // Loki says why in plain text. An HTML page is a gateway's own 400 (nginx: "The plain HTTP
  // request was sent to HTTPS port", "The SSL certificate error", "Request Header Or Cookie Too
  // Large"): nothing reached Loki and the content is not at fault, so it is misrouted, below.
  if (status == 400 && !IsMarkup(body)) return {Action::kDrop, DropReasonFromBody(body)};
  // 408: a proxy gave up waiting for us; the batch was not ingested.
  if (status == 408) return {Action::kRetry};
  // Any other 4xx never comes from Loki's push handler: a gateway or ingress answered (404 or 405
  // for a wrong path or a misrouted host, 407 from a proxy, 415 from a filter). Nothing was
  // ingested and the content is not at fault, so the data is kept and retried, loudly, until the
  // route is fixed; dropping it (as Promtail does) would lose every line of a first install with
  // a wrong URL.
  if (status >= 400 && status < 500) return {Action::kRetry, nullptr, /*misrouted=*/true};
  // 0 (no response), 5xx, and anything unexpected (1xx/3xx: a misconfigured URL): keep the data;
  // readers pause and the failure shows in request_duration{status_code}.
  return {Action::kRetry};
}

const char* ActionName(Action a) {
  switch (a) {
    case Action::kAck:
      return "ack";
    case Action::kRetry:
      return "retry";
    case Action::kReauth:
      return "reauth";
    case Action::kSplit:
      return "split";
    case Action::kDrop:
      return "drop";
  }
  return "unknown";
}

}  // namespace skidder::sink
