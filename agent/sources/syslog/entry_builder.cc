#include "sources/syslog/entry_builder.h"

#include <algorithm>

namespace skidder::sources::syslog {
namespace {

constexpr std::string_view kHostnameLabel = "__syslog_connection_hostname";
// Distinct relabel inputs remembered; a rule reading a per-message field (proc_id, an SD value)
// would otherwise grow the cache without bound.
constexpr size_t kMaxCached = 4096;

void AppendKey(std::string& key, std::string_view v) {
  key.append(std::to_string(v.size())).push_back(':');  // length-prefixed: no ambiguity
  key.append(v);
}

void AppendOpt(std::string& key, const std::optional<std::string_view>& v) {
  if (v) {
    AppendKey(key, *v);
  } else {
    key.push_back('-');
  }
}

}  // namespace

EntryBuilder::EntryBuilder(const config::SyslogConfig& cfg, const kubernetes::RelabelRules& rules)
    : cfg_(cfg), rules_(rules) {
  for (const kubernetes::RelabelRule& r : rules_) {
    if (r.action == kubernetes::RelabelAction::kLabelMap ||
        std::ranges::find(r.source_labels, kHostnameLabel) != r.source_labels.end() ||
        r.target_label == kHostnameLabel) {
      needs_hostname_ = true;
    }
  }
}

Labels EntryBuilder::RelabelMessage(const SyslogMessage& msg, const PeerLabels& peer) {
  LabelsBuilder b(cfg_.labels);
  b.Reserve(8 + msg.structured_data.size());
  b.Add("__syslog_connection_ip_address", peer.ip);
  b.Add(std::string(kHostnameLabel), peer.hostname);
  if (msg.priority >= 0) {
    b.Add("__syslog_message_severity", std::string(SeverityName(msg.priority % 8)));
    b.Add("__syslog_message_facility", std::string(FacilityName(msg.priority / 8)));
  }
  auto add = [&](const char* name, const std::optional<std::string_view>& v) {
    if (v) b.Add(name, std::string(*v));
  };
  add("__syslog_message_hostname", msg.hostname);
  add("__syslog_message_app_name", msg.app_name);
  add("__syslog_message_proc_id", msg.proc_id);
  add("__syslog_message_msg_id", msg.msg_id);
  if (cfg_.label_structured_data) {
    for (const SdParam& p : msg.structured_data) {
      std::string name = "__syslog_message_sd_";
      for (char c : p.id) name.push_back(c == '@' ? '_' : c);
      name.push_back('_');
      name.append(p.name);
      b.Add(std::move(name), p.value);
    }
  }
  Labels labels = b.Build();
  if (!kubernetes::Relabel(rules_, labels)) return Labels();
  labels.RemoveInternal();
  return labels;
}

bool EntryBuilder::Build(const SyslogMessage& msg, std::string_view raw, const PeerLabels& peer,
                         int64_t now_ns, Entry* out) {
  // Promtail applies use_rfc5424_message to RFC 5424 messages only.
  const bool whole = cfg_.use_rfc5424_message && cfg_.syslog_format != "rfc3164";
  out->line.assign(whole ? raw : msg.message.value_or(std::string_view()));
  out->timestamp_ns =
      cfg_.use_incoming_timestamp && msg.timestamp_ns ? *msg.timestamp_ns : now_ns;
  if (rules_.empty()) {  // every meta label starts with "__": only the config labels remain
    out->labels = cfg_.labels;
    out->labels.RemoveInternal();
    return !out->labels.empty();
  }
  key_.clear();
  AppendKey(key_, peer.ip);
  AppendKey(key_, peer.hostname);
  key_.append(std::to_string(msg.priority)).push_back(':');
  AppendOpt(key_, msg.hostname);
  AppendOpt(key_, msg.app_name);
  AppendOpt(key_, msg.proc_id);
  AppendOpt(key_, msg.msg_id);
  if (cfg_.label_structured_data) {
    for (const SdParam& p : msg.structured_data) {
      AppendKey(key_, p.id);
      AppendKey(key_, p.name);
      AppendKey(key_, p.value);
    }
  }
  auto it = cache_.find(key_);
  if (it == cache_.end()) {
    if (cache_.size() >= kMaxCached) cache_.clear();
    it = cache_.emplace(key_, RelabelMessage(msg, peer)).first;
  }
  out->labels = it->second;
  return !out->labels.empty();
}

}  // namespace skidder::sources::syslog
