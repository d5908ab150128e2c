// A Go text/template: what Promtail users write in the template and replace stages.
//
// Parsed once at config time into a tree; executed per entry against a TemplateData (the extracted
// map, .Value, .Entry). Supported: text and {{ actions }} with trim markers ({{- -}}) and comments;
// fields (.name, .Value, .Entry, $.name, $x.name); string ("..." and `raw`), integer and
// true/false/nil literals; pipelines (a | f b); parenthesised pipelines; if / else if / else;
// with / else with; range over lists, maps (in key order) and integers, with else, `$v :=` and
// `$i, $v :=`, break and continue; variables (`$x := ...`, `$x = ...`, `$`), scoped as Go scopes
// them. Functions: Go's and, or, not, eq, ne, lt, le, gt, ge, len, index, print, printf
// (Go's flags, width, precision and verbs for these types: template_printf.cc); Promtail's ToLower,
// ToUpper, Replace, Trim, TrimLeft, TrimRight, TrimPrefix, TrimSuffix, TrimSpace, Hash (SHA3-256),
// Sha2Hash, regexReplaceAll, regexReplaceAllLiteral; and these sprig functions: default, empty,
// coalesce, contains, hasPrefix, hasSuffix, lower, upper, trim, trimAll, trimPrefix, trimSuffix,
// replace, substr, trunc, repeat, quote, squote, toString, atoi, add, sub, mul, div, mod,
// regexMatch, now, unixEpoch, toDate, list, splitList, split, dict, keys, until. Not supported
// (refused at parse time, never silently ignored): define, template, block, chained fields (.a.b),
// float literals, other sprig functions. Case mapping and TrimSpace are ASCII-only; toDate parses
// in UTC (sprig uses the process's local zone). As in Go, a missing field prints "<no value>", and
// is an error when passed to a function expecting a string. One execution runs at most 100000 range
// iterations in all; blocks nest at most 100 deep; lists hold at most 10000 elements.
//
// A Template is immutable after Parse(); Execute() may run on several threads at once.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

#include "util/status.h"

namespace skidder::lang::go {

// What a template reads.
class TemplateData {
 public:
  virtual ~TemplateData() = default;
  // The value of .name; nullptr when absent. The pointer must stay valid during Execute().
  virtual const std::string* Field(std::string_view name) const = 0;
  // Wall clock for `now` (Unix ns).
  virtual int64_t NowNs() const { return 0; }
};

class Template {
 public:
  // Errors read like Go's: "template: 1:12: function \"foo\" not defined".
  static Result<Template> Parse(std::string_view text);

  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;
  ~Template();

  // A bound on what one execution builds, so that no template can turn a line into gigabytes.
  struct Limit {
    size_t max_bytes = std::numeric_limits<size_t>::max();
    bool exceeded = false;  // set when the output was cut or a function result refused
  };

  // Appends the output to *out. On an execution error (Go's Execute error) returns false with
  // *error set; *out then holds partial output. With a limit, output beyond limit->max_bytes is
  // cut (at a UTF-8 boundary) and execution stops there; a function whose result would be
  // longer is an execution error. Either way limit->exceeded is set.
  bool Execute(const TemplateData& data, std::string* out, std::string* error,
               Limit* limit = nullptr) const;
  // The output when the template has no actions, else nullptr: callers skip Execute().
  const std::string* Constant() const;

  struct Tree;

 private:
  explicit Template(std::unique_ptr<Tree> tree);
  std::unique_ptr<Tree> tree_;
};

}  // namespace skidder::lang::go
