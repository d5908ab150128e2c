// Go's regexp syntax where RE2 (Debian's 2022 release) spells it differently, for every place
// that compiles a user's regex: pipeline stages, relabel rules, LogQL selectors, templates.
// Pure; any thread.
#pragma once

#include <string>
#include <string_view>

namespace skidder {

// re with each named group written "(?<name>...)" (Go 1.22 and later, so Promtail 3 and Alloy
// take it; RE2 of 2022 refuses it) as "(?P<name>...)". Escaped text, \Q...\E and character
// classes are left as they are. Other syntax errors are left for RE2 to report.
std::string GoRegexpForRe2(std::string_view re);

}  // namespace skidder
