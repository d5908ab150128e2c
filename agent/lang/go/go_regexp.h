// Go regexp semantics on top of RE2, for the replace stage and the template functions:
// FindAll's iteration over successive matches (empty matches right after a match are skipped)
// and ReplaceAllString's $-expansion ($1, ${1}, $name, ${name}, $$).
// Pure functions; the caller owns the buffers. Callable from any thread.
#pragma once

#include <re2/re2.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace skidder::lang::go {

// Calls fn(groups) for each successive match of re in text, as Go's FindAllStringSubmatchIndex
// would produce them; groups[0] is the whole match, unmatched groups have data() == nullptr.
// `groups` is a caller-owned buffer, resized to the number of groups + 1. fn returns false to
// stop.
template <typename Fn>
void ForEachGoMatch(const RE2& re, std::string_view text, std::vector<re2::StringPiece>& groups,
                    Fn&& fn) {
  groups.resize(static_cast<size_t>(re.NumberOfCapturingGroups()) + 1);
  size_t pos = 0;
  const char* prev_end = nullptr;
  while (pos <= text.size()) {
    if (!re.Match(text, pos, text.size(), RE2::UNANCHORED, groups.data(),
                  static_cast<int>(groups.size()))) {
      break;
    }
    const re2::StringPiece m = groups[0];
    const size_t end = static_cast<size_t>(m.data() - text.data()) + m.size();
    bool accept = true;
    if (end == pos && m.empty()) {
      // An empty match: not allowed right where the previous match ended; step one rune on.
      if (m.data() == prev_end) accept = false;
      size_t step = 1;
      while (pos + step < text.size() &&
             (static_cast<unsigned char>(text[pos + step]) & 0xC0) == 0x80) {
        ++step;
      }
      pos += step;
    } else {
      pos = end;
    }
    prev_end = m.data() + m.size();
    if (accept && !fn(groups)) return;
  }
}

// Appends template with Go's Regexp.Expand rules: $1 / ${1} / $name / ${name} from groups
// (names from `re`), $$ for a literal $; an unknown name or index expands to "".
void AppendGoExpansion(const RE2& re, std::string_view tmpl,
                       const std::vector<re2::StringPiece>& groups, std::string* out);

// A user's regexp in Go's syntax, compiled by RE2 (GoRegexpForRe2 first: Go 1.22's "(?<name>"),
// without RE2 logging its errors: check ok() and report error() where the regexp was written.
std::unique_ptr<RE2> CompileGoRegexp(std::string_view re);

// The text to match a regexp against as Go would: s itself when it is valid UTF-8, else a copy
// in *scratch with each ill-formed sequence replaced by U+FFFD. Go's regexp reads a stray byte
// (Latin-1 text, a cut sequence) as U+FFFD, which `.`, `\S` and negated classes match; RE2 in
// UTF-8 mode matches nothing there, so `password=(\S+)` would mask only part of a secret and
// `(?P<msg>.*)$` would not match at all. Loki gets the replaced form of such a line anyway.
// Costs one validity scan of s; allocates only for an invalid s.
std::string_view GoRegexpInput(std::string_view s, std::string* scratch);

// Go's ReplaceAllString (expand = true) or ReplaceAllLiteralString (expand = false).
// Stops once *out is longer than max_bytes: an empty match between every character can make the
// result the length of src times the length of repl.
void GoReplaceAll(const RE2& re, std::string_view src, std::string_view repl, bool expand,
                  std::string* out, size_t max_bytes = std::string::npos);

}  // namespace skidder::lang::go
