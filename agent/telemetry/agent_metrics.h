// The agent's metric catalogue, one place for every name a dashboard or alert may use.
//
// Names are Promtail's (promtail_*, logentry_*) so a Promtail user's dashboards and alerts keep
// working; what Promtail has no name for is skidder_*. Components get a reference to the
// AgentMetrics they should update; tests make their own Registry.
#pragma once

#include "telemetry/file_series.h"
#include "telemetry/process_metrics.h"
#include "telemetry/registry.h"

namespace skidder::telemetry {

// Drop reasons, as label values of *_dropped_*{reason}.
inline constexpr const char* kReasonLineTooLong = "line_too_long";
inline constexpr const char* kReasonMalformed = "malformed";
inline constexpr const char* kReasonStage = "stage";  // a pipeline stage without its own reason
inline constexpr const char* kReasonRateLimited = "rate_limited";
inline constexpr const char* kReasonInvalid = "invalid";  // Loki 400 without a known cause
inline constexpr const char* kReasonTooOld = "too_old";
inline constexpr const char* kReasonTooNew = "too_new";
inline constexpr const char* kReasonOutOfOrder = "out_of_order";
inline constexpr const char* kReasonTooFarBehind = "too_far_behind";
inline constexpr const char* kReasonTooLarge = "entry_too_large";  // a single entry over 413
inline constexpr const char* kReasonStreamLimit = "stream_limit";  // Loki refused: its limit
// The client's own limits_config.max_streams (Promtail's reason name).
inline constexpr const char* kReasonStreamLimited = "stream_limited";
inline constexpr const char* kReasonRotatedAway = "rotated_away";  // deleted before it was read
// A held rotated file let go unread because held files were over positions.held_max_bytes.
inline constexpr const char* kReasonHeldBudget = "held_budget";
// An entry whose final label set is empty: Loki refuses a stream without labels (its own
// validation reason's name) and answers the whole push 400.
inline constexpr const char* kReasonMissingLabels = "missing_labels";
// Entries whose pipeline named a tenant Loki would refuse, without clients.tenant_id to fall
// back on, refused by a Loki that wants a tenant (401/403) (see sink/loki/batch.h).
inline constexpr const char* kReasonInvalidTenant = "invalid_tenant";
// A line the agent crashed on repeatedly, skipped on the next start (see sources/file/poison.h).
inline constexpr const char* kReasonPoison = "poison";

// Every reason a Loki client drops for: its series exist at zero from the client's start (as
// Promtail's do), so that increase() sees the first drop instead of a series born at its value.
inline constexpr const char* kClientDropReasons[] = {
    kReasonLineTooLong, kReasonStreamLimited, kReasonInvalid,       kReasonTooOld,
    kReasonTooNew,      kReasonOutOfOrder,    kReasonTooFarBehind,  kReasonTooLarge,
    kReasonStreamLimit, kReasonRateLimited,   kReasonMissingLabels, kReasonInvalidTenant};

struct AgentMetrics {
  explicit AgentMetrics(Registry& r);

  Registry& registry;
  // Sources.
  // promtail_read_bytes_total, promtail_read_lines_total, promtail_file_bytes_total{path}
  FileSeries files;
  Family<Gauge>& files_active;       // {}
  Family<Counter>& malformed_lines;  // {format}: CRI/docker records that did not parse
  Family<Counter>& truncated_lines;  // {}: lines cut to max_line_size
  Family<Counter>& lost_bytes;       // {reason}: bytes deleted before they could be read
  Family<Counter>& watcher_fallbacks;
  Family<Counter>& symlinks_refused;  // {}: files outside target_config.symlink_roots  // {reason}:
                                      // inotify unavailable/overflow -> polling/rescan
  // Pipeline.
  Family<Counter>& dropped_lines;  // logentry_dropped_lines_total{reason}
  // Sink.
  Family<Counter>& encoded_bytes;           // {host}
  Family<Counter>& sent_bytes;              // {host}
  Family<Counter>& sent_entries;            // {host}
  Family<Counter>& dropped_bytes;           // {host, reason}
  Family<Counter>& dropped_entries;         // {host, reason}
  Family<Counter>& mutated_bytes;           // {host, reason}: bytes cut off lines
  Family<Counter>& mutated_entries;         // {host, reason}: lines cut (max_line_size_truncate)
  Family<Histogram>& request_duration;      // {host, status_code}
  Family<Counter>& batch_retries;           // {host}
  Family<Gauge>& stream_lag;                // {host}: age of the oldest unsent entry, seconds
  Family<Gauge>& unacked_bytes;             // {}: bytes read but not yet acknowledged by Loki
  Family<Gauge>& buffered_bytes;            // {}: bytes of entries held in memory for sending
  Family<Counter>& truncated_label_values;  // {host}: label values shortened to the limit
  Family<Counter>& invalid_tenants;         // {host}: tenant IDs refused; tenant_id used instead
  // Positions.
  Family<Counter>& positions_write_errors;  // {}
  Family<Gauge>& targets_active;            // {}
  // The process, as Promtail's: promtail_build_info{version} (1), config reloads by outcome
  // (SIGHUP or POST /reload), and process_* from /proc/self.
  Family<Gauge>& build_info;
  Family<Counter>& config_reload_success;  // {}
  Family<Counter>& config_reload_fail;     // {}
  ProcessMetrics process;
  // The systemd journal (sources/journal), per scrape config (job_name: `job` would clash with
  // the job label Prometheus gives every scraped series).
  Family<Counter>& journal_entries;  // {job_name}: entries read
  Family<Counter>& journal_bytes;    // {job_name}: bytes of fields
  Family<Gauge>& journal_lag;        // {job_name}: now - time of the newest entry read, seconds
  Family<Counter>& journal_lost_entries;  // {job_name}: vacuumed before they were read
  // {job_name, reason}: read but not sent: no_message (text mode), no_labels (after relabeling),
  // unreadable (libsystemd could not read the entry)
  Family<Counter>& journal_dropped_entries;
  // The Loki push API (sources/push), per scrape config.
  Family<Counter>& push_requests;         // {job_name, status}: pushes answered, by HTTP status
  Family<Counter>& push_entries;          // {job_name}: entries received in accepted pushes
  Family<Counter>& push_bytes;            // {job_name}: request body bytes received, as sent
  Family<Counter>& push_dropped_streams;  // {job_name}: dropped by relabel_configs or no labels
  // heroku_drain jobs, Promtail's names (no labels): messages read, requests with a bad frame.
  Family<Counter>& heroku_entries;
  Family<Counter>& heroku_parsing_errors;
  // Docker containers read through the daemon's API (sources/docker).
  Family<Counter>& docker_entries;     // {job_name}: log lines read
  Family<Counter>& docker_read_bytes;  // {job_name}: bytes of log streams read
  Family<Gauge>& docker_targets;       // {job_name}: containers being read
  // {reason}: list (discovery failed), stream (a log stream failed), malformed_frame,
  // timestamp (a line without one, skipped), line_too_long (cut to the limit)
  Family<Counter>& docker_errors;
  // Kubernetes Events (sources/kube_events).
  Family<Counter>& kube_events;  // {job_name}: events handed to the pipeline
  // {job_name, reason}: malformed (no involved object), older (than the saved position: an
  // earlier run had them acknowledged), relabel (dropped by relabel_configs)
  Family<Counter>& kube_events_skipped;
  // The syslog source (sources/syslog). Promtail's three unlabelled counters, and ours per job.
  Family<Counter>& syslog_promtail_entries;         // {}: promtail_syslog_target_entries_total
  Family<Counter>& syslog_promtail_parsing_errors;  // {}
  Family<Counter>& syslog_promtail_empty_messages;  // {}
  Family<Counter>& syslog_entries;  // {job_name, protocol}: messages handed to the pipeline
  Family<Counter>& syslog_bytes;    // {job_name, protocol}: bytes received
  // {job_name, reason}: parse_error|empty|saturated (UDP while Loki is backed up)|relabel|
  // framing|too_long|partial (a connection closed mid-frame)
  Family<Counter>& syslog_dropped;
  Family<Counter>& syslog_truncated;            // {job_name}: cut to max_message_length
  Family<Gauge>& syslog_connections;            // {job_name}: open TCP connections
  Family<Counter>& syslog_connections_refused;  // {job_name, reason}: limit|tls|accept
  // The GELF source (sources/gelf). Promtail's two unlabelled counters, and ours per job.
  Family<Counter>& gelf_promtail_entries;  // {}: promtail_gelf_target_entries_total
  Family<Counter>& gelf_promtail_errors;   // {}: promtail_gelf_target_parsing_errors_total
  Family<Counter>& gelf_entries;           // {job_name}: messages handed to the pipeline
  Family<Counter>& gelf_bytes;             // {job_name}: bytes received
  // {job_name, reason}: invalid (a message that is not GELF)|chunk (a malformed chunk)|expired
  // (messages with chunks missing after 5s, or dropped to stay in bounds)|relabel (messages);
  // saturated|rate_limited (datagrams)
  Family<Counter>& gelf_dropped;
  // Kubernetes pod discovery.
  Family<Counter>& kubernetes_api_errors;      // {reason}: transport|unauthorized|gone|status|...
  Family<Counter>& kubernetes_watch_restarts;  // {reason}: timeout|idle|closed|gone|error
};

}  // namespace skidder::telemetry
