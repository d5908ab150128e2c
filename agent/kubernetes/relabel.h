// Relabeling: Prometheus' relabel_configs, compiled once and applied to each discovered target.
//
// CompileRelabel() validates a scrape config's relabel_configs the way Prometheus does (so a config
// Prometheus or Promtail refuses is refused here too, naming the rule) and compiles every regex
// anchored as ^(?:regex)$ with RE2. Relabel() then rewrites one target's labels in place.
//
// Owned by whoever owns the scrape config's targets (the app's target manager). Compiled rules are
// immutable and may be shared by any number of threads; Relabel() only touches the Labels it gets.
// Runs once per target change, not per log line.
//
// Deliberate differences from Prometheus, both on the safe side for Loki:
//  - lowercase/uppercase fold ASCII letters only (Go folds all of Unicode);
//  - labelmap skips a produced name that is not a valid legacy label name ([a-zA-Z_][a-zA-Z0-9_]*)
//    instead of producing a target Loki would refuse.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "kubernetes/pod_targets.h"
#include "model/labels.h"
#include "util/status.h"

namespace re2 {
class RE2;
}

namespace skidder::kubernetes {

enum class RelabelAction {
  kReplace,
  kKeep,
  kDrop,
  kKeepEqual,
  kDropEqual,
  kHashMod,
  kLabelMap,
  kLabelDrop,
  kLabelKeep,
  kLowercase,
  kUppercase,
};

// One compiled relabel_configs entry. Copyable: the regex is shared and immutable.
struct RelabelRule {
  RelabelAction action = RelabelAction::kReplace;
  std::vector<std::string> source_labels;
  std::string separator = ";";
  std::shared_ptr<const re2::RE2> regex;  // anchored ^(?:...)$
  uint64_t modulus = 0;
  std::string target_label;
  std::string replacement = "$1";
  bool target_has_vars = false;  // target_label contains '$' (replace only)
};

using RelabelRules = std::vector<RelabelRule>;

// Validates and compiles; the error names the rule ("relabel_configs[2]: ...").
Result<RelabelRules> CompileRelabel(const std::vector<config::RelabelConfig>& configs);

// Applies rules in order. Returns false when a keep/drop/keepequal/dropequal rule drops the
// target (labels are then unspecified); true otherwise.
bool Relabel(const RelabelRules& rules, Labels& labels);

// Sources that receive what anyone may send (journal, syslog, GELF) cache relabel outcomes by
// the values the rules read: a few hundred distinct units or hosts. A key longer than this is
// not cached: a rule reading a per-message field (`__journal_message`, a structured-data value)
// would otherwise keep up to the cache's count of whole messages (4096 x 4 MiB journal fields).
inline constexpr size_t kMaxRelabelCacheKey = 512;

// The pod label/annotation meta labels the rules can read, for PodTargets(): those named in a
// rule's source_labels (and keepequal/dropequal's target_label) and those a labelmap regex
// matches; labeldrop/labelkeep only remove, and the app drops unread __meta_ labels anyway, so
// leaving out the rest changes no result. Also keeps always_keep (names the app reads itself).
MetaLabelFilter ReadableMetaLabels(const RelabelRules& rules,
                                   std::vector<std::string> always_keep = {});

// Go's regexp.Expand: appends tmpl to out with $1, ${1}, $name, ${name} replaced by the groups of
// the last match (groups[0] is the whole match; unmatched or unknown groups expand to nothing,
// "$$" is a literal '$', a malformed reference is copied as text).
void ExpandTemplate(std::string_view tmpl, const re2::RE2& re,
                    const std::vector<std::string_view>& groups, std::string& out);

}  // namespace skidder::kubernetes
