// LogQL's pattern parser (`| pattern "<ip> - - [<_>] \"<method> <path> <_>\""`), as Loki's
// pkg/logql/log/pattern reads and matches it; Alloy's stage.pattern uses it.
//
// A pattern is literal text with captures: `<name>` (letters, digits and '_', not starting with
// a digit) captures, `<_>` skips. Any other '<' is literal. Matching is a left-to-right scan, not
// a regular expression: a leading literal must start the input; each capture takes everything up
// to the first occurrence of the literal after it (a trailing capture the rest of the input); when
// that literal is not found, the capture takes the rest and matching ends there, so a line can set
// fewer values than the pattern names. Immutable once built; Match() may run on any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace skidder::lang::go {

class LinePattern {
 public:
  // Refused as Loki refuses them: an empty pattern, one without a named capture, two captures
  // with no literal between them, a name used twice. The message says what and at which byte.
  static Result<LinePattern> Parse(std::string_view text);

  // The named captures, in order (`<_>` is not one).
  const std::vector<std::string>& names() const { return names_; }

  // Fills *values (cleared first; views into in) with the values of names()[0..n) and returns n:
  // 0 when the pattern does not match (empty input, or the leading literal does not start it).
  size_t Match(std::string_view in, std::vector<std::string_view>* values) const;

 private:
  struct Node {
    bool capture = false;
    bool named = false;  // a capture other than <_>
    std::string text;    // a literal's bytes, or a capture's name
  };
  std::vector<Node> nodes_;  // literals and captures alternate after the first node
  std::vector<std::string> names_;
};

}  // namespace skidder::lang::go
