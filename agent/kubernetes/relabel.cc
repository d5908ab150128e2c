#include "kubernetes/relabel.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "util/regexp_syntax.h"

namespace skidder::kubernetes {
namespace {

struct ActionName {
  std::string_view name;
  RelabelAction action;
};

constexpr ActionName kActions[] = {
    {"replace", RelabelAction::kReplace},     {"keep", RelabelAction::kKeep},
    {"drop", RelabelAction::kDrop},           {"keepequal", RelabelAction::kKeepEqual},
    {"dropequal", RelabelAction::kDropEqual}, {"hashmod", RelabelAction::kHashMod},
    {"labelmap", RelabelAction::kLabelMap},   {"labeldrop", RelabelAction::kLabelDrop},
    {"labelkeep", RelabelAction::kLabelKeep}, {"lowercase", RelabelAction::kLowercase},
    {"uppercase", RelabelAction::kUppercase},
};

// Prometheus' relabelTarget: a label name in which $1 / ${name} references may appear.
const re2::RE2& TemplateNameRegex() {
  static const re2::RE2 re(R"(^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$)");
  return re;
}

bool IsNameByte(unsigned char c) {
  // Go accepts any Unicode letter or digit; bytes of a multi-byte UTF-8 rune stand in for those.
  return std::isalnum(c) || c == '_' || c >= 0x80;
}

Status Validate(const config::RelabelConfig& c, RelabelAction a) {
  const config::RelabelConfig d;  // defaults
  const bool needs_target = a == RelabelAction::kReplace || a == RelabelAction::kHashMod ||
                            a == RelabelAction::kLowercase || a == RelabelAction::kUppercase ||
                            a == RelabelAction::kKeepEqual || a == RelabelAction::kDropEqual;
  if (a == RelabelAction::kHashMod && c.modulus == 0) {
    return InvalidArgument("hashmod requires a non-zero modulus");
  }
  if (needs_target && c.target_label.empty()) {
    return InvalidArgument(fmt::format("{} action requires 'target_label'", c.action));
  }
  bool target_ok = true;
  if (a == RelabelAction::kReplace && c.target_label.find('$') != std::string::npos) {
    target_ok = re2::RE2::FullMatch(c.target_label, TemplateNameRegex());
  } else if (needs_target) {
    target_ok = IsValidLabelName(c.target_label);
  }
  if (!target_ok) {
    return InvalidArgument(
        fmt::format("\"{}\" is invalid 'target_label' for {} action", c.target_label, c.action));
  }
  const bool equal_or_case = a == RelabelAction::kLowercase || a == RelabelAction::kUppercase ||
                             a == RelabelAction::kKeepEqual || a == RelabelAction::kDropEqual;
  if (equal_or_case && c.replacement != d.replacement) {
    return InvalidArgument(fmt::format("'replacement' can not be set for {} action", c.action));
  }
  if (a == RelabelAction::kLabelMap && !re2::RE2::FullMatch(c.replacement, TemplateNameRegex())) {
    return InvalidArgument(
        fmt::format("\"{}\" is invalid 'replacement' for labelmap action", c.replacement));
  }
  if ((a == RelabelAction::kKeepEqual || a == RelabelAction::kDropEqual) &&
      (c.regex != d.regex || c.modulus != 0 || c.separator != d.separator)) {
    return InvalidArgument(fmt::format(
        "{} action requires only 'source_labels' and 'target_label', and no other fields",
        c.action));
  }
  if ((a == RelabelAction::kLabelDrop || a == RelabelAction::kLabelKeep) &&
      (!c.source_labels.empty() || !c.target_label.empty() || c.modulus != 0 ||
       c.separator != d.separator || c.replacement != d.replacement)) {
    return InvalidArgument(
        fmt::format("{} action requires only 'regex', and no other fields", c.action));
  }
  return Status::Ok();
}

Result<RelabelRule> CompileOne(const config::RelabelConfig& c) {
  std::string action = c.action.empty() ? "replace" : c.action;
  std::ranges::transform(action, action.begin(), [](unsigned char ch) { return std::tolower(ch); });
  auto it = std::ranges::find(kActions, action, &ActionName::name);
  if (it == std::end(kActions)) {
    return Err(InvalidArgument(fmt::format("unknown relabel action \"{}\"", c.action)));
  }
  config::RelabelConfig normalized = c;
  normalized.action = action;
  if (Status s = Validate(normalized, it->action); !s.ok()) return Err(std::move(s));

  re2::RE2::Options opts;
  opts.set_log_errors(false);
  auto re = std::make_shared<re2::RE2>("^(?:" + GoRegexpForRe2(c.regex) + ")$", opts);
  if (!re->ok()) {
    return Err(InvalidArgument(fmt::format("invalid regex \"{}\": {}", c.regex, re->error())));
  }
  RelabelRule rule;
  rule.action = it->action;
  rule.source_labels = c.source_labels;
  rule.separator = c.separator;
  rule.regex = std::move(re);
  rule.modulus = c.modulus;
  rule.target_label = c.target_label;
  rule.replacement = c.replacement;
  rule.target_has_vars = c.target_label.find('$') != std::string::npos;
  return rule;
}

uint64_t HashMod(std::string_view value, uint64_t modulus) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(value.data(), value.size(), md, &len, EVP_md5(), nullptr);
  // Prometheus uses the last 8 bytes of the digest, big-endian, "to give the same result as
  // earlier versions of this code", so shard assignments match a Prometheus/Promtail config.
  uint64_t v = 0;
  for (int i = 8; i < 16; ++i) v = (v << 8) | md[i];
  return v % modulus;
}

bool FullMatch(const re2::RE2& re, std::string_view s) {
  return re.Match(re2::StringPiece(s.data(), s.size()), 0, s.size(), re2::RE2::UNANCHORED, nullptr,
                  0);
}

// The replace action: expands target_label and replacement from the regex groups.
void Replace(const RelabelRule& r, const std::string& val, Labels& labels) {
  const re2::RE2& re = *r.regex;
  const int n = re.NumberOfCapturingGroups() + 1;
  std::vector<re2::StringPiece> pieces(n);
  if (!re.Match(val, 0, val.size(), re2::RE2::UNANCHORED, pieces.data(), n)) return;
  std::vector<std::string_view> groups(n);
  for (int i = 0; i < n; ++i) groups[i] = std::string_view(pieces[i].data(), pieces[i].size());

  std::string target;
  if (r.target_has_vars) {
    ExpandTemplate(r.target_label, re, groups, target);
    if (!IsValidLabelName(target)) return;
  } else {
    target = r.target_label;
  }
  std::string value;
  ExpandTemplate(r.replacement, re, groups, value);
  labels.Set(target, value);  // an empty value removes the label
}

void CaseFold(const std::string& target, std::string val, bool upper, Labels& labels) {
  for (char& ch : val) {
    ch = static_cast<char>(upper ? std::toupper(static_cast<unsigned char>(ch))
                                 : std::tolower(static_cast<unsigned char>(ch)));
  }
  labels.Set(target, val);
}

void LabelMap(const RelabelRule& r, Labels& labels) {
  const re2::RE2& re = *r.regex;
  const int n = re.NumberOfCapturingGroups() + 1;
  std::vector<re2::StringPiece> pieces(n);
  std::vector<std::string_view> groups(n);
  // Reads the labels as they were before the rule, writes them all at once (a pod's labels may
  // number 100k: one Set() each would be quadratic).
  LabelsBuilder out(labels);
  std::string name;
  for (const Label& l : labels) {
    if (!re.Match(l.name, 0, l.name.size(), re2::RE2::UNANCHORED, pieces.data(), n)) continue;
    for (int i = 0; i < n; ++i) groups[i] = std::string_view(pieces[i].data(), pieces[i].size());
    name.clear();
    ExpandTemplate(r.replacement, re, groups, name);
    if (IsValidLabelName(name)) out.Add(name, l.value);
  }
  labels = out.Build();
}

void LabelFilter(const RelabelRule& r, bool keep_matching, Labels& labels) {
  labels.RemoveIf([&](const Label& l) { return FullMatch(*r.regex, l.name) != keep_matching; });
}

std::string JoinSources(const RelabelRule& r, const Labels& labels) {
  std::string val;
  for (size_t i = 0; i < r.source_labels.size(); ++i) {
    if (i > 0) val += r.separator;
    if (const std::string* v = labels.Get(r.source_labels[i])) val += *v;
  }
  return val;
}

std::string_view ValueOf(const Labels& labels, std::string_view name) {
  const std::string* v = labels.Get(name);
  return v ? std::string_view(*v) : std::string_view();
}

}  // namespace

void ExpandTemplate(std::string_view tmpl, const re2::RE2& re,
                    const std::vector<std::string_view>& groups, std::string& out) {
  while (!tmpl.empty()) {
    const size_t dollar = tmpl.find('$');
    if (dollar == std::string_view::npos) break;
    out.append(tmpl.substr(0, dollar));
    tmpl.remove_prefix(dollar + 1);
    if (!tmpl.empty() && tmpl.front() == '$') {  // "$$" is a literal '$'
      out.push_back('$');
      tmpl.remove_prefix(1);
      continue;
    }
    const bool brace = !tmpl.empty() && tmpl.front() == '{';
    std::string_view rest = brace ? tmpl.substr(1) : tmpl;
    size_t len = 0;
    while (len < rest.size() && IsNameByte(rest[len])) ++len;
    if (len == 0 || (brace && (len >= rest.size() || rest[len] != '}'))) {
      out.push_back('$');  // malformed: Go copies the '$' and goes on
      continue;
    }
    const std::string_view name = rest.substr(0, len);
    tmpl = rest.substr(len + (brace ? 1 : 0));
    // A number (no leading zero, below 1e8) is a group index; anything else a group name.
    int num = 0;
    for (char ch : name) {
      if (ch < '0' || ch > '9' || num >= 100000000) {
        num = -1;
        break;
      }
      num = num * 10 + (ch - '0');
    }
    if (name.size() > 1 && name.front() == '0') num = -1;
    if (num < 0) {
      const auto& named = re.NamedCapturingGroups();
      auto it = named.find(std::string(name));
      num = it == named.end() ? -1 : it->second;
    }
    if (num >= 0 && static_cast<size_t>(num) < groups.size()) out.append(groups[num]);
  }
  out.append(tmpl);
}

Result<RelabelRules> CompileRelabel(const std::vector<config::RelabelConfig>& configs) {
  RelabelRules rules;
  rules.reserve(configs.size());
  for (size_t i = 0; i < configs.size(); ++i) {
    auto rule = CompileOne(configs[i]);
    if (!rule) {
      return Err(
          InvalidArgument(fmt::format("relabel_configs[{}]: {}", i, rule.error().message())));
    }
    rules.push_back(std::move(*rule));
  }
  return rules;
}

MetaLabelFilter ReadableMetaLabels(const RelabelRules& rules,
                                   std::vector<std::string> always_keep) {
  auto names = std::make_shared<std::set<std::string, std::less<>>>(
      std::make_move_iterator(always_keep.begin()), std::make_move_iterator(always_keep.end()));
  auto maps = std::make_shared<std::vector<std::shared_ptr<const re2::RE2>>>();
  for (const RelabelRule& r : rules) {
    names->insert(r.source_labels.begin(), r.source_labels.end());
    if (r.action == RelabelAction::kKeepEqual || r.action == RelabelAction::kDropEqual)
      names->insert(r.target_label);
    if (r.action == RelabelAction::kLabelMap) maps->push_back(r.regex);
  }
  return [names, maps](std::string_view name) {
    if (names->contains(name)) return true;
    return std::ranges::any_of(*maps, [&](const auto& re) { return FullMatch(*re, name); });
  };
}

bool Relabel(const RelabelRules& rules, Labels& labels) {
  for (const RelabelRule& r : rules) {
    switch (r.action) {
      case RelabelAction::kDrop:
        if (FullMatch(*r.regex, JoinSources(r, labels))) return false;
        break;
      case RelabelAction::kKeep:
        if (!FullMatch(*r.regex, JoinSources(r, labels))) return false;
        break;
      case RelabelAction::kDropEqual:
        if (ValueOf(labels, r.target_label) == JoinSources(r, labels)) return false;
        break;
      case RelabelAction::kKeepEqual:
        if (ValueOf(labels, r.target_label) != JoinSources(r, labels)) return false;
        break;
      case RelabelAction::kReplace:
        Replace(r, JoinSources(r, labels), labels);
        break;
      case RelabelAction::kLowercase:
      case RelabelAction::kUppercase:
        CaseFold(r.target_label, JoinSources(r, labels), r.action == RelabelAction::kUppercase,
                 labels);
        break;
      case RelabelAction::kHashMod:
        labels.Set(r.target_label, std::to_string(HashMod(JoinSources(r, labels), r.modulus)));
        break;
      case RelabelAction::kLabelMap:
        LabelMap(r, labels);
        break;
      case RelabelAction::kLabelDrop:
        LabelFilter(r, /*keep_matching=*/false, labels);
        break;
      case RelabelAction::kLabelKeep:
        LabelFilter(r, /*keep_matching=*/true, labels);
        break;
    }
  }
  return true;
}

}  // namespace skidder::kubernetes
