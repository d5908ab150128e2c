#include "sources/journal/entry_builder.h"

#include <algorithm>

#include "lang/go/go_json.h"

namespace skidder::sources::journal {
namespace {

constexpr std::string_view kPrefix = "__journal_";
constexpr std::string_view kKeywordSuffix = "_keyword";
// Distinct relabel inputs remembered; a rule reading a per-record field (MESSAGE) would
// otherwise grow the cache without bound.
constexpr size_t kMaxCached = 4096;

// The journal field a meta label name comes from ("" when it is not a journal meta label).
std::string FieldOf(std::string_view label) {
  if (!label.starts_with(kPrefix)) return "";
  label.remove_prefix(kPrefix.size());
  if (label == "priority_keyword") label = "priority";
  std::string field(label);
  for (char& c : field) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return field;
}

}  // namespace

std::string_view PriorityKeyword(std::string_view p) {
  static constexpr std::string_view kNames[] = {"emerg",   "alert",  "crit", "error",
                                                "warning", "notice", "info", "debug"};
  if (p.size() == 1 && p[0] >= '0' && p[0] <= '7') return kNames[p[0] - '0'];
  return p;
}

std::string MetaLabelName(std::string_view field) {
  std::string name(kPrefix);
  name.reserve(kPrefix.size() + field.size());
  for (char c : field) name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

EntryBuilder::EntryBuilder(const config::JournalConfig& cfg, const kubernetes::RelabelRules& rules)
    : json_(cfg.json), static_labels_(cfg.labels), rules_(rules) {
  auto note = [this](std::string_view label) {
    std::string f = FieldOf(label);
    if (!f.empty() && std::ranges::find(fields_, f) == fields_.end()) fields_.push_back(f);
  };
  for (const kubernetes::RelabelRule& r : rules_) {
    if (r.action == kubernetes::RelabelAction::kLabelMap) reads_all_ = true;
    for (const std::string& s : r.source_labels) note(s);
    if (r.action == kubernetes::RelabelAction::kKeepEqual ||
        r.action == kubernetes::RelabelAction::kDropEqual) {
      note(r.target_label);
    }
  }
  values_.resize(fields_.size());
}

Labels EntryBuilder::RelabelFields(const JournalRecord& rec, bool all) {
  LabelsBuilder b;
  b.Reserve(all ? rec.fields.size() + 1 : fields_.size() + 1);
  for (const JournalField& f : rec.fields) {
    if (!all && std::ranges::find(fields_, f.name) == fields_.end()) continue;
    std::string name = MetaLabelName(f.name);
    if (f.name == "PRIORITY") {
      b.Add(name + std::string(kKeywordSuffix), std::string(PriorityKeyword(f.value)));
    }
    b.Add(std::move(name), std::string(f.value));
  }
  for (const Label& l : static_labels_) b.Add(l.name, l.value);  // config labels win
  Labels labels = b.Build();
  if (!kubernetes::Relabel(rules_, labels)) return Labels();
  labels.RemoveIf([](const Label& l) { return l.name.starts_with("__"); });
  return labels;
}

bool EntryBuilder::Build(const JournalRecord& rec, Entry* out, const char** why) {
  const char* ignored = nullptr;
  if (why == nullptr) why = &ignored;
  *why = "no_labels";
  if (json_) {
    out->line.clear();
    AppendJson(rec, out->line);
  } else {
    const JournalField* msg = nullptr;
    for (const JournalField& f : rec.fields) {
      if (f.name == "MESSAGE") msg = &f;  // the last one, as a Go map keeps it
    }
    if (msg == nullptr) return (*why = "no_message", false);
    out->line.assign(msg->value);
  }
  out->timestamp_ns = static_cast<int64_t>(rec.realtime_us) * 1000;
  if (reads_all_) {
    out->labels = RelabelFields(rec, /*all=*/true);
    return !out->labels.empty();
  }
  std::ranges::fill(values_, std::string_view());
  for (const JournalField& f : rec.fields) {
    for (size_t i = 0; i < fields_.size(); ++i) {
      if (f.name == fields_[i]) values_[i] = f.value;
    }
  }
  key_.clear();
  for (std::string_view v : values_) {
    key_.append(std::to_string(v.size())).push_back(':');  // length-prefixed: no ambiguity
    key_.append(v);
  }
  if (key_.size() > kubernetes::kMaxRelabelCacheKey) {  // a per-record value: not worth keeping
    out->labels = RelabelFields(rec, /*all=*/false);
    return !out->labels.empty();
  }
  auto it = cache_.find(key_);
  if (it == cache_.end()) {
    if (cache_.size() >= kMaxCached) cache_.clear();
    it = cache_.emplace(key_, RelabelFields(rec, /*all=*/false)).first;
  }
  out->labels = it->second;
  return !out->labels.empty();
}

void EntryBuilder::AppendJson(const JournalRecord& rec, std::string& out) const {
  std::vector<const JournalField*> sorted;
  sorted.reserve(rec.fields.size());
  for (const JournalField& f : rec.fields) sorted.push_back(&f);
  std::ranges::stable_sort(sorted, {}, [](const JournalField* f) { return f->name; });
  out.push_back('{');
  for (size_t i = 0; i < sorted.size(); ++i) {
    // Of repeated fields the last wins, as in Promtail's map.
    if (i + 1 < sorted.size() && sorted[i + 1]->name == sorted[i]->name) continue;
    if (out.size() > 1) out.push_back(',');
    // Go's encoding/json escaping, as Promtail's json.Marshal: the same bytes in Loki.
    lang::go::AppendGoJsonString(sorted[i]->name, &out);
    out.push_back(':');
    lang::go::AppendGoJsonString(sorted[i]->value, &out);
  }
  out.push_back('}');
}

}  // namespace skidder::sources::journal
