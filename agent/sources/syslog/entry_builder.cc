#include "sources/syslog/entry_builder.h"

#include <algorithm>

namespace skidder::sources::syslog {
namespace {

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

// The meta labels a cache key may hold, in the order of the bits of EntryBuilder::reads_.
constexpr std::string_view kFields[] = {
    "__syslog_connection_ip_address", "__syslog_connection_hostname", "__syslog_message_severity",
    "__syslog_message_facility",      "__syslog_message_hostname",    "__syslog_message_app_name",
    "__syslog_message_proc_id",       "__syslog_message_msg_id"};
constexpr std::string_view kSdPrefix = "__syslog_message_sd_";

}  // namespace

EntryBuilder::EntryBuilder(const config::SyslogConfig& cfg, const kubernetes::RelabelRules& rules)
    : cfg_(cfg), rules_(rules) {
  auto note = [this](std::string_view label) {
    for (size_t i = 0; i < std::size(kFields); ++i) {
      if (label == kFields[i]) reads_ |= 1u << i;
    }
    if (label.starts_with(kSdPrefix)) reads_sd_ = true;
  };
  for (const kubernetes::RelabelRule& r : rules_) {
    if (r.action == kubernetes::RelabelAction::kLabelMap) reads_all_ = true;
    for (const std::string& l : r.source_labels) note(l);
    if (r.action == kubernetes::RelabelAction::kKeepEqual ||
        r.action == kubernetes::RelabelAction::kDropEqual) {
      note(r.target_label);
    }
  }
  if (reads_all_) reads_ = ~0u;
  needs_hostname_ = (reads_ & 2u) != 0;
}

std::optional<Labels> EntryBuilder::RelabelMessage(const SyslogMessage& msg,
                                                   const PeerLabels& peer) {
  LabelsBuilder b(cfg_.labels);
  b.Reserve(8 + msg.structured_data.size());
  b.Add("__syslog_connection_ip_address", peer.ip);
  b.Add("__syslog_connection_hostname", peer.hostname);
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
      b.Add(std::move(name), SdUnescape(p.value));
    }
  }
  Labels labels = b.Build();
  if (!kubernetes::Relabel(rules_, labels)) return std::nullopt;
  labels.RemoveInternal();
  return labels;
}

bool EntryBuilder::Build(const SyslogMessage& msg, std::string_view raw, const PeerLabels& peer,
                         int64_t now_ns, Entry* out) {
  // Promtail applies use_rfc5424_message to RFC 5424 messages only.
  const bool whole = cfg_.use_rfc5424_message && cfg_.syslog_format != "rfc3164";
  out->line.assign(whole ? raw : msg.message.value_or(std::string_view()));
  out->timestamp_ns = cfg_.use_incoming_timestamp && msg.timestamp_ns ? *msg.timestamp_ns : now_ns;
  if (rules_.empty()) {  // every meta label starts with "__": only the config labels remain
    out->labels = cfg_.labels;
    out->labels.RemoveInternal();
    return true;
  }
  key_.clear();
  const std::optional<std::string_view> fields[] = {peer.ip,      peer.hostname, std::nullopt,
                                                    std::nullopt, msg.hostname,  msg.app_name,
                                                    msg.proc_id,  msg.msg_id};
  for (size_t i = 0; i < std::size(fields); ++i) {
    if ((reads_ & (1u << i)) != 0) AppendOpt(key_, fields[i]);
  }
  if ((reads_ & 0b1100u) != 0) key_.append(std::to_string(msg.priority)).push_back(':');
  if (cfg_.label_structured_data && (reads_sd_ || reads_all_)) {
    for (const SdParam& p : msg.structured_data) {
      AppendKey(key_, p.id);
      AppendKey(key_, p.name);
      AppendKey(key_, p.value);
    }
  }
  if (key_.size() > kubernetes::kMaxRelabelCacheKey) {  // a per-message value: not kept
    std::optional<Labels> labels = RelabelMessage(msg, peer);
    if (!labels) return false;
    out->labels = std::move(*labels);
    return true;
  }
  auto it = cache_.find(key_);
  if (it == cache_.end()) {
    if (cache_.size() >= kMaxCached) cache_.clear();
    it = cache_.emplace(key_, RelabelMessage(msg, peer)).first;
  }
  if (!it->second) return false;
  out->labels = *it->second;
  return true;
}

}  // namespace skidder::sources::syslog
