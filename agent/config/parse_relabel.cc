// relabel_configs[]: Prometheus relabeling rules, checked as Prometheus' relabel.Config.Validate
// does, so a config Prometheus/Promtail refuses is refused here too, with a position.
#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <cctype>

#include "config/field_reader.h"
#include "util/regexp_syntax.h"

namespace skidder::config::internal {
namespace {

constexpr std::string_view kActions[] = {"replace",   "keep",      "drop",     "keepequal",
                                         "dropequal", "hashmod",   "labelmap", "labeldrop",
                                         "labelkeep", "lowercase", "uppercase"};

bool NeedsTargetLabel(std::string_view action) {
  return action == "replace" || action == "hashmod" || action == "lowercase" ||
         action == "uppercase" || action == "keepequal" || action == "dropequal";
}

// Prometheus' relabelTarget: a label name that may contain $1 / ${name} references.
bool IsValidTarget(const std::string& target) {
  static const RE2 re(R"(^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$)");
  return RE2::FullMatch(target, re);
}

void ValidateAction(MapReader& r, const RelabelConfig& c, bool replacement_set) {
  const std::string& a = c.action;
  if (NeedsTargetLabel(a) && c.target_label.empty()) {
    r.Fail("target_label", fmt::format("is required for action {}", a));
  } else if (a == "replace" && !IsValidTarget(c.target_label)) {
    r.Fail("target_label", fmt::format("{} is not a valid label name", Quote(c.target_label)));
  } else if (NeedsTargetLabel(a) && a != "replace" && !IsValidLabelName(c.target_label)) {
    r.Fail("target_label", fmt::format("{} is not a valid label name", Quote(c.target_label)));
  }
  if (a == "hashmod" && c.modulus == 0) r.Fail("modulus", "must be greater than 0 for hashmod");
  if (a == "labelmap" && !IsValidTarget(c.replacement)) {
    r.Fail("replacement", fmt::format("{} is not a valid label name", Quote(c.replacement)));
  }
  if ((a == "lowercase" || a == "uppercase" || a == "keepequal" || a == "dropequal") &&
      replacement_set) {
    r.Fail("replacement", fmt::format("cannot be set for action {}", a));
  }
  if ((a == "labeldrop" || a == "labelkeep") &&
      (!c.source_labels.empty() || !c.target_label.empty() || c.modulus != 0 ||
       c.separator != ";" || replacement_set)) {
    r.Fail("action", fmt::format("{} takes only regex, no other fields", a));
  }
  for (const std::string& name : c.source_labels) {
    if (!IsValidLabelName(name)) {
      r.Fail("source_labels", fmt::format("{} is not a valid label name", Quote(name)));
    }
  }
}

}  // namespace

void Validate(MapReader& r, RelabelConfig& c) {
  // Prometheus matches the action case-insensitively.
  std::ranges::transform(c.action, c.action.begin(),
                         [](unsigned char ch) { return std::tolower(ch); });
  if (std::ranges::find(kActions, c.action) == std::end(kActions)) {
    r.Fail("action",
           fmt::format("unknown action {}; use one of replace, keep, drop, keepequal, dropequal, "
                       "hashmod, labelmap, labeldrop, labelkeep, lowercase, uppercase",
                       Quote(c.action)));
  } else {
    ValidateAction(r, c, c.replacement != "$1");
  }
  RE2::Options options;
  options.set_log_errors(false);
  RE2 re("^(?:" + GoRegexpForRe2(c.regex) + ")$", options);
  if (!re.ok()) {
    // RE2's message ends with the offending fragment; keep the user's regex in front instead.
    std::string why = re.error();
    std::string suffix = ": " + re.error_arg();
    if (why.ends_with(suffix)) why.resize(why.size() - suffix.size());
    r.Fail("regex", fmt::format("invalid regular expression {}: {}", Quote(c.regex), why));
  }
}

Status ReadRelabelConfig(const YAML::Node& node, const std::string& file, const std::string& path,
                         RelabelConfig* out) {
  MapReader r(node, file, path);
  FieldReader fields(r);
  Fields(fields, *out);  // plain values only: nothing nested can fail
  Validate(r, *out);
  return r.Finish();
}

}  // namespace skidder::config::internal
