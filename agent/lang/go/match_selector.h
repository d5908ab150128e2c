// LogQL stream selectors with line filters, as the match stage takes them:
//   {app="loki", env=~"prod|stage", x!="y", y!~"z"} |= "error" != "timeout" |~ "5\\d\\d" !~ `ok`
// Label matchers compare the entry's label value ("" when absent): = and != exactly, =~ and !~
// with RE2 fully anchored (as Prometheus matchers are). Line filters: |= contains, != does not
// contain, |~ regex found, !~ regex not found. Everything must hold. Strings are Go string
// literals: "double quoted" with escapes, or `raw`. Parsed by hand; immutable once built, so
// Matches() may be called from any thread.
#pragma once

#include <re2/re2.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/entry.h"
#include "util/status.h"

namespace skidder::lang::go {

class Selector {
 public:
  enum class Op { kEq, kNeq, kRe, kNre };  // =, !=, =~, !~   (line: |=, !=, |~, !~)

  // The error message says where (byte offset) and what went wrong.
  static Result<Selector> Parse(std::string_view text);

  bool Matches(const Entry& e) const { return MatchesLabels(e.labels) && MatchesLine(e.line); }
  bool MatchesLabels(const Labels& labels) const;
  bool MatchesLine(std::string_view line) const;

  struct Matcher {
    std::string name;  // label name (unused for line filters)
    Op op;
    std::string value;
    std::shared_ptr<RE2> re;  // for kRe / kNre
  };
  const std::vector<Matcher>& label_matchers() const { return labels_; }
  const std::vector<Matcher>& line_filters() const { return lines_; }

 private:
  std::vector<Matcher> labels_;
  std::vector<Matcher> lines_;
};

}  // namespace skidder::lang::go
