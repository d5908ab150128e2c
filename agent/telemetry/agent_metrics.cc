#include "telemetry/agent_metrics.h"

namespace skidder::telemetry {

AgentMetrics::AgentMetrics(Registry& r)
    : registry(r),
      files(r),
      files_active(r.NewGauge("promtail_files_active_total", "Number of files being tailed.")),
      malformed_lines(r.NewCounter("skidder_malformed_lines_total",
                                   "CRI or docker records that did not parse.", {"format"})),
      truncated_lines(r.NewCounter("skidder_truncated_lines_total",
                                   "Lines cut to limits_config.max_line_size.")),
      lost_bytes(r.NewCounter("skidder_lost_bytes_total",
                              "Bytes that left the disk before they could be read.", {"reason"})),
      watcher_fallbacks(r.NewCounter("skidder_watcher_fallbacks_total",
                                     "inotify failures handled by polling or a full rescan.",
                                     {"reason"})),
      symlinks_refused(r.NewCounter(
          "skidder_symlinks_refused_total",
          "Files not read because their real path is outside target_config.symlink_roots.", {})),
      dropped_lines(r.NewCounter("logentry_dropped_lines_total",
                                 "Lines dropped by a pipeline stage or a limit.", {"reason"})),
      encoded_bytes(r.NewCounter("promtail_encoded_bytes_total", "Bytes encoded and ready to send.",
                                 {"host"})),
      sent_bytes(r.NewCounter("promtail_sent_bytes_total", "Bytes sent to Loki.", {"host"})),
      sent_entries(
          r.NewCounter("promtail_sent_entries_total", "Entries acknowledged by Loki.", {"host"})),
      dropped_bytes(r.NewCounter("promtail_dropped_bytes_total",
                                 "Bytes Loki refused or that could not be sent.",
                                 {"host", "reason"})),
      dropped_entries(r.NewCounter("promtail_dropped_entries_total",
                                   "Entries Loki refused or that could not be sent.",
                                   {"host", "reason"})),
      request_duration(r.NewHistogram("promtail_request_duration_seconds",
                                      "Duration of push requests.", {"host", "status_code"},
                                      DefaultDurationBuckets())),
      batch_retries(r.NewCounter("promtail_batch_retries_total", "Push retries.", {"host"})),
      stream_lag(r.NewGauge("promtail_stream_lag_seconds",
                            "Age of the oldest entry waiting to be acknowledged.", {"host"})),
      unacked_bytes(r.NewGauge("skidder_unacked_bytes",
                               "Bytes read from files but not yet acknowledged by Loki.")),
      buffered_bytes(r.NewGauge("skidder_buffered_bytes",
                                "Bytes of entries held in memory waiting to be sent.")),
      truncated_label_values(r.NewCounter(
          "skidder_truncated_label_values_total",
          "Label values longer than limits_config.max_label_value_length, shortened with a hash "
          "suffix; counted per entry sent.",
          {"host"})),
      invalid_tenants(r.NewCounter(
          "skidder_invalid_tenants_total",
          "Entries whose tenant ID from the pipeline Loki would refuse; sent with tenant_id.",
          {"host"})),
      positions_write_errors(r.NewCounter("skidder_positions_write_errors_total",
                                          "Failed attempts to persist the positions file.")),
      targets_active(r.NewGauge("promtail_targets_active_total", "Active scrape targets.")),
      journal_entries(r.NewCounter("skidder_journal_entries_total",
                                   "Entries read from the systemd journal.", {"job_name"})),
      journal_bytes(r.NewCounter("skidder_journal_read_bytes_total",
                                 "Bytes of the journal entries read (all fields).", {"job_name"})),
      journal_lag(r.NewGauge("skidder_journal_lag_seconds",
                             "Age of the newest journal entry read when it was read.",
                             {"job_name"})),
      journal_lost_entries(r.NewCounter(
          "skidder_journal_lost_entries_total",
          "Journal entries vacuumed or rotated away before they could be read.", {"job_name"})),
      journal_dropped_entries(r.NewCounter(
          "skidder_journal_dropped_entries_total",
          "Journal entries read but not sent: no MESSAGE (text mode), no labels left after "
          "relabeling, or unreadable.",
          {"job_name", "reason"})),
      push_requests(r.NewCounter("skidder_push_requests_total",
                                 "Loki pushes received by loki_push_api jobs, by the HTTP status "
                                 "they were answered with (204 once Loki took every entry).",
                                 {"job_name", "status"})),
      push_entries(r.NewCounter("skidder_push_entries_total",
                                "Entries received in pushes that decoded.", {"job_name"})),
      push_bytes(r.NewCounter("skidder_push_received_bytes_total",
                              "Request body bytes of Loki pushes, as sent (compressed).",
                              {"job_name"})),
      push_dropped_streams(r.NewCounter(
          "skidder_push_dropped_streams_total",
          "Pushed streams dropped by relabel_configs or left without labels.", {"job_name"})),
      docker_entries(r.NewCounter("skidder_docker_entries_total",
                                  "Log lines read from Docker containers.", {"job_name"})),
      docker_read_bytes(r.NewCounter("skidder_docker_read_bytes_total",
                                     "Bytes of Docker container log streams read.", {"job_name"})),
      docker_targets(r.NewGauge("skidder_docker_targets",
                                "Docker containers whose logs are being read.", {"job_name"})),
      docker_errors(r.NewCounter("skidder_docker_errors_total",
                                 "Docker discovery and log stream errors, by reason.", {"reason"})),
      syslog_promtail_entries(r.NewCounter("promtail_syslog_target_entries_total",
                                           "Total number of successful entries sent to the "
                                           "syslog target")),
      syslog_promtail_parsing_errors(
          r.NewCounter("promtail_syslog_target_parsing_errors_total",
                       "Total number of parsing errors while receiving syslog messages")),
      syslog_promtail_empty_messages(r.NewCounter("promtail_syslog_empty_messages_total",
                                                  "Total number of empty messages receiving "
                                                  "from syslog")),
      syslog_entries(r.NewCounter("skidder_syslog_entries_total",
                                  "Syslog messages received and handed to the pipeline.",
                                  {"job_name", "protocol"})),
      syslog_bytes(r.NewCounter("skidder_syslog_received_bytes_total",
                                "Bytes received by the syslog listeners.",
                                {"job_name", "protocol"})),
      syslog_dropped(r.NewCounter("skidder_syslog_dropped_total",
                                  "Syslog messages dropped, by reason.", {"job_name", "reason"})),
      syslog_truncated(r.NewCounter("skidder_syslog_truncated_total",
                                    "Syslog messages cut to max_message_length.", {"job_name"})),
      syslog_connections(
          r.NewGauge("skidder_syslog_connections", "Open syslog TCP connections.", {"job_name"})),
      syslog_connections_refused(r.NewCounter(
          "skidder_syslog_connections_refused_total",
          "Syslog TCP connections refused or closed at once, by reason.", {"job_name", "reason"})),
      kubernetes_api_errors(r.NewCounter("skidder_kubernetes_api_errors_total",
                                         "Failed Kubernetes API requests, by reason.", {"reason"})),
      kubernetes_watch_restarts(
          r.NewCounter("skidder_kubernetes_watch_restarts_total",
                       "Pod watches that ended and were restarted, by reason.", {"reason"})) {}

}  // namespace skidder::telemetry
