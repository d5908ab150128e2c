// EntryBuilder: turns one journal record into an Entry the way Promtail's journal target does.
//
// Labels: every journal field becomes a meta label "__journal_<field lower-cased>" (PRIORITY also
// gives __journal_priority_keyword: emerg..debug), the scrape config's journal.labels are added,
// relabel_configs run, and labels starting with "__" are dropped; a record left with no labels is
// dropped. Line: MESSAGE, or every field as a JSON object (keys sorted, as Go's encoding/json
// writes a map) with json: true; a record without MESSAGE is dropped in text mode. Timestamp:
// the record's realtime timestamp.
//
// Relabeling per record would dominate the reading cost, so only the fields the rules can read
// become labels, and the outcome is cached by their values (a node has a few hundred distinct
// unit/priority/identifier combinations). Owned by one reading thread.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "kubernetes/relabel.h"
#include "model/entry.h"
#include "sources/journal/reader.h"

namespace skidder::sources::journal {

// "emerg".."debug" for "0".."7"; other values are returned as they are.
std::string_view PriorityKeyword(std::string_view priority);
// "_SYSTEMD_UNIT" -> "__journal__systemd_unit".
std::string MetaLabelName(std::string_view field);

class EntryBuilder {
 public:
  EntryBuilder(const config::JournalConfig& cfg, const kubernetes::RelabelRules& rules);

  // Fills out (line, labels, timestamp); false when Promtail would drop the record, with
  // *why ("no_message" or "no_labels") when given.
  bool Build(const JournalRecord& rec, Entry* out, const char** why = nullptr);
  // Relabel outcomes kept (for tests: a per-record value must not fill the cache).
  size_t cached() const { return cache_.size(); }

 private:
  Labels RelabelFields(const JournalRecord& rec, bool all);
  void AppendJson(const JournalRecord& rec, std::string& out) const;

  bool json_;
  Labels static_labels_;
  const kubernetes::RelabelRules& rules_;
  bool reads_all_ = false;           // a labelmap rule may read any meta label
  std::vector<std::string> fields_;  // journal fields the rules read (upper-case names)
  std::unordered_map<std::string, Labels> cache_;
  std::string key_;                       // scratch: the cache key of one record
  std::vector<std::string_view> values_;  // scratch: values of fields_ in one record
};

}  // namespace skidder::sources::journal
