// Classify: what the sender does with a batch given Loki's answer. The one table behind the
// retry policy (reference/loki-push.md), kept apart from the sender so it is tested as a table.
//
// Pure functions, any thread.
#pragma once

#include <string_view>

namespace skidder::sink {

enum class Action {
  kAck,     // 2xx: acknowledged, release the entries
  kRetry,   // 429, 5xx, 408, other 4xx (a 400 as an HTML page too), transport errors, anything
            // unexpected: back off, keep
  kReauth,  // 401/403: re-read credentials, then back off and retry
  kSplit,   // 413: send the batch in halves; a single entry is dropped (entry_too_large)
  kDrop,    // 400 (or 429 with drop_rate_limited_batches): never resend, count
};

struct Decision {
  Action action;
  const char* reason = nullptr;  // drop reason (metrics label) when action == kDrop
  // A retried 4xx that Loki itself never sends (404, 405, a 400 as an HTML page, ...): something
  // between the agent and Loki refused the request, most often a wrong URL. Logged as an error
  // with that hint.
  bool misrouted = false;
};

// status is 0 for a transport error (no response).
Decision Classify(int status, std::string_view body, bool drop_rate_limited_batches);

// The drop reason for a refused push, from Loki's error text (e.g. "entry for stream '...' has
// timestamp too old"); telemetry::kReasonInvalid when nothing is recognised.
const char* DropReasonFromBody(std::string_view body);

const char* ActionName(Action a);

}  // namespace skidder::sink
