// EntryBuilder: turns one parsed syslog message into an Entry the way Promtail's syslog target
// does.
//
// Labels: the scrape config's syslog.labels, the connection's __syslog_connection_ip_address and
// __syslog_connection_hostname, then per message __syslog_message_severity, _facility,
// _hostname, _app_name, _proc_id, _msg_id (each only when the message has it) and, with
// label_structured_data (RFC 5424 only), __syslog_message_sd_<id>_<name> with '@' in the SD-ID
// written '_' (Promtail's names, e.g. __syslog_message_sd_custom_32473_exkey). relabel_configs
// run over them and labels starting with "__" are dropped; a message the rules drop goes no
// further, one left with no labels goes on to pipeline_stages as in Promtail (a stage may add
// labels; the Loki client drops what still has none, reason missing_labels). Line: the MSG part, or
// the whole message as received with use_rfc5424_message. Timestamp: the message's with
// use_incoming_timestamp, else the receive time.
//
// Relabeling per message would dominate the cost, so the outcome is cached by the values of the
// meta labels the rules can read (a sender has few distinct host/app/severity combinations);
// with no rules the labels are the config labels. Owned by one reading thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "config/config.h"
#include "kubernetes/relabel.h"
#include "model/entry.h"
#include "sources/syslog/parser.h"

namespace skidder::sources::syslog {

// The labels of one connection (or one UDP sender).
struct PeerLabels {
  std::string ip;        // __syslog_connection_ip_address
  std::string hostname;  // __syslog_connection_hostname ("" when not looked up or not found)
};

class EntryBuilder {
 public:
  EntryBuilder(const config::SyslogConfig& cfg, const kubernetes::RelabelRules& rules);

  // True when the rules can read __syslog_connection_hostname (a reverse DNS lookup per peer).
  bool needs_hostname() const { return needs_hostname_; }

  // Fills out; false when relabel_configs drop the message.
  bool Build(const SyslogMessage& msg, std::string_view raw, const PeerLabels& peer, int64_t now_ns,
             Entry* out);
  // Relabel outcomes kept (for tests: a per-message value must not fill the cache).
  size_t cached() const { return cache_.size(); }

 private:
  std::optional<Labels> RelabelMessage(const SyslogMessage& msg, const PeerLabels& peer);

  const config::SyslogConfig& cfg_;
  const kubernetes::RelabelRules& rules_;
  bool needs_hostname_ = false;
  bool reads_all_ = false;  // a labelmap rule may read any meta label
  bool reads_sd_ = false;   // a rule reads a __syslog_message_sd_* label
  uint32_t reads_ = 0;      // bit i: the rules read kFields[i]
  std::unordered_map<std::string, std::optional<Labels>> cache_;  // nullopt: dropped
  std::string key_;  // scratch: the cache key of one message
};

}  // namespace skidder::sources::syslog
