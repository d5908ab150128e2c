// Strict YAML mapping reader: see yaml_reader.h.
//
// yaml-cpp throws on almost every misuse (subscripting a scalar, Mark() on a zombie node, a
// failed as<T>()), so this file never calls operator[] on user nodes: it walks the mapping
// itself and converts scalars by hand. A null value (`key:` or `key: ~`) leaves the default, as
// Go's yaml decoder does for Promtail.
#include "config/yaml_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "config/sections.h"
#include "util/redact.h"

namespace skidder::config {
namespace internal {

// Go-like %q for the characters a config can hold, so a value with quotes stays readable. At most
// kMaxQuoted bytes are shown: a message quotes a value to point at it, and a file that is not a
// config at all (-config.file=/etc/shadow) must not be copied into logs.
constexpr size_t kMaxQuoted = 64;

std::string Quote(std::string_view s) {
  const bool cut = s.size() > kMaxQuoted;
  if (cut) {
    size_t n = kMaxQuoted;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // whole characters
    s = s.substr(0, n);
  }
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out += c;
    }
  }
  out += cut ? "\"..." : "\"";
  return out;
}

// What a value is, for "expected X, got Y" messages.
std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return Quote(node.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Null:
      return "null";
    default:
      return "nothing";
  }
}

}  // namespace internal

namespace {

using internal::Describe;
using internal::Quote;

// The value stored under key, or an undefined node. Never throws.
// YAML merge keys (`<<: *defaults` or `<<: [*a, *b]`), which Go's yaml decoder honours, so
// Promtail configs that use them read the same here: the mappings merged into map.
constexpr int kMaxMergeDepth = 8;
constexpr std::string_view kMergeKey = "<<";

std::vector<YAML::Node> Merged(const YAML::Node& map) {
  std::vector<YAML::Node> out;
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (!it->first.IsScalar() || it->first.Scalar() != kMergeKey) continue;
    YAML::Node v = it->second;
    if (v.IsMap()) out.push_back(v);
    if (v.IsSequence()) {
      for (size_t i = 0; i < v.size(); ++i) {
        if (v[i].IsMap()) out.push_back(v[i]);
      }
    }
  }
  return out;
}

// The value stored under key (own keys first, then merged ones), or an undefined node.
YAML::Node Lookup(const YAML::Node& map, std::string_view key, int depth = 0) {
  if (!map.IsMap() || depth > kMaxMergeDepth) return YAML::Node(YAML::NodeType::Undefined);
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) return it->second;
  }
  for (const YAML::Node& merged : Merged(map)) {
    if (YAML::Node v = Lookup(merged, key, depth + 1); v.IsDefined()) return v;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

// Accepts decimal integers with an optional sign; YAML's 0x/0o forms are rare in this schema.
bool ParseInt64(const std::string& s, int64_t* out, bool* out_of_range) {
  std::string_view v = s;
  if (!v.empty() && v[0] == '+') v.remove_prefix(1);
  if (v.empty()) return false;
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec == std::errc::result_out_of_range) {
    // Only a pure digit string is "out of range"; "99999999999999999999x" is just malformed.
    *out_of_range =
        ptr == v.data() + v.size() || v.find_first_not_of("-0123456789") == std::string_view::npos;
    return false;
  }
  if (ec != std::errc() || ptr != v.data() + v.size()) return false;
  *out = n;
  return true;
}

struct Unit {
  std::string_view name;
  uint64_t nanos;
};
constexpr Unit kUnits[] = {
    {"ns", 1},           {"us", 1000},      {"\xC2\xB5s", 1000},  // U+00B5 micro sign
    {"\xCE\xBCs", 1000},                                          // U+03BC Greek mu
    {"ms", 1000000},     {"s", 1000000000}, {"m", 60ull * 1000000000}, {"h", 3600ull * 1000000000},
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Config keys are short identifiers; a misspelt one is worth quoting, anything else is not.
bool LooksLikeKey(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!(c == '_' || c == '-' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9'))) {
      return false;
    }
  }
  return true;
}

// Edits (an insertion, deletion, substitution, or swap of neighbours) between two short keys.
size_t KeyDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// The key of `keys` that name spells in other case, or "".
std::string_view SameIgnoringCase(std::string_view name,
                                  const std::set<std::string, std::less<>>& keys) {
  for (const std::string& k : keys) {
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return k;
    }
  }
  return {};
}

// The key of the section a misspelt (or renamed) one was probably meant as: the only one within two
// edits (one for a key of up to four characters), or "" when none or several are. `known` holds the
// keys read, `asked` those only looked for (optional keys absent here).
std::string_view NearestKey(std::string_view name, const std::set<std::string, std::less<>>& known,
                            const std::set<std::string, std::less<>>& asked) {
  // Keys Promtail 1.x had (its backoff_config), as configs printed by it still hold them.
  static constexpr std::pair<std::string_view, std::string_view> kRenamed[] = {
      {"minbackoff", "min_period"}, {"maxbackoff", "max_period"}, {"maxretries", "max_retries"}};
  for (const auto& [old_name, now] : kRenamed) {
    if (name == old_name && known.contains(now)) return now;
  }
  // The same key in other case first ("SOURCE"), however many letters differ.
  if (std::string_view k = SameIgnoringCase(name, known); !k.empty()) return k;
  if (std::string_view k = SameIgnoringCase(name, asked); !k.empty()) return k;
  const size_t limit = name.size() <= 4 ? 1 : 2;
  std::string_view best;
  size_t best_distance = limit + 1;
  bool tie = false;
  for (const auto* keys : {&known, &asked}) {
    for (const std::string& k : *keys) {
      const size_t d = KeyDistance(name, k);
      if (d < best_distance) {
        best = k;
        best_distance = d;
        tie = false;
      } else if (d == best_distance && k != best) {
        tie = true;
      }
    }
  }
  return tie ? std::string_view() : best;
}

// Every key of map (and of the mappings merged into it) must have been asked for; with
// `unknown`, keys that were not are listed there instead.
Status CheckKeys(const YAML::Node& map, const std::set<std::string, std::less<>>& known,
                 const std::set<std::string, std::less<>>& asked, const std::string& file,
                 const std::string& path, int depth, std::vector<std::string>* unknown) {
  std::set<std::string, std::less<>> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    YAML::Node k = it->first;
    if (!k.IsScalar()) return ErrorAt(file, k, path, "keys must be strings");
    const std::string& name = k.Scalar();
    if (!seen.insert(name).second) {
      return ErrorAt(file, k, path, fmt::format("duplicate key {}", Quote(name)));
    }
    if (name != kMergeKey && !known.contains(name)) {
      std::string message = "unknown key (not shown: it is no config key)";
      if (LooksLikeKey(name)) {  // not, e.g., the first line of a file that is no config
        message = fmt::format("unknown key {}", Quote(name));
        if (std::string_view near = NearestKey(name, known, asked); !near.empty()) {
          message += fmt::format(" (did you mean {}?)", Quote(near));
        }
      }
      Status s = ErrorAt(file, k, path, message);
      // Promtail's lenient decoding matches keys whatever their case, so `Source:` is applied
      // there: refused here rather than ignored.
      if (unknown == nullptr || !SameIgnoringCase(name, known).empty() ||
          !SameIgnoringCase(name, asked).empty()) {
        return s;
      }
      unknown->push_back(s.message());
    }
  }
  if (depth >= kMaxMergeDepth) return Status::Ok();
  for (const YAML::Node& merged : Merged(map)) {
    Status s = CheckKeys(merged, known, asked, file, path, depth + 1, unknown);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace

Status ErrorAt(const std::string& file, const YAML::Node& node, std::string_view path,
               std::string_view message) {
  std::string where = file;
  try {
    if (node.IsDefined()) {
      YAML::Mark mark = node.Mark();
      if (!mark.is_null()) where += fmt::format(":{}:{}", mark.line + 1, mark.column + 1);
    }
  } catch (const YAML::Exception&) {
    // An invalid (zombie) node has no position: report the file only.
  }
  std::string msg = where;
  if (!path.empty()) msg += fmt::format(": {}", path);
  // A value under a key that names a credential (basic_auth, authorization, bearer_token,
  // password, credentials, ...) is never quoted back: the key and the position say enough.
  // (client_auth_type names a policy, not a credential.)
  const std::string_view key = path.substr(path.find_last_of('.') + 1);
  const bool secret = IsSensitiveName(key) && key != "client_auth_type";
  msg += fmt::format(": {}", secret ? MaskQuoted(message, "<secret>") : std::string(message));
  return InvalidArgument(std::move(msg));
}

bool ParsePromDuration(std::string_view s, Duration* out) {
  if (ParseDuration(s, out)) return true;
  // Prometheus's units, largest first, each at most once; "ms" before "m" when matching.
  struct Unit {
    std::string_view name;
    int64_t ms;
  };
  constexpr int64_t kDayMs = 24 * 3600 * 1000;
  constexpr Unit kUnits[] = {
      {"y", 365 * kDayMs}, {"w", 7 * kDayMs}, {"d", kDayMs}, {"h", 3600 * 1000},
      {"m", 60 * 1000},    {"s", 1000},       {"ms", 1}};
  if (s.empty()) return false;
  int64_t total_ms = 0;
  size_t next_unit = 0;
  while (!s.empty()) {
    size_t digits = 0;
    while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
    if (digits == 0 || digits > 12) return false;
    int64_t n = 0;
    std::from_chars(s.data(), s.data() + digits, n);
    s.remove_prefix(digits);
    // The longest unit name that matches here ("ms" rather than "m").
    size_t match = std::size(kUnits);
    for (size_t u = next_unit; u < std::size(kUnits); ++u) {
      if (s.starts_with(kUnits[u].name) &&
          (match == std::size(kUnits) || kUnits[u].name.size() > kUnits[match].name.size())) {
        match = u;
      }
    }
    if (match == std::size(kUnits)) return false;
    if (__builtin_mul_overflow(n, kUnits[match].ms, &n) ||
        __builtin_add_overflow(total_ms, n, &total_ms) ||
        total_ms > std::numeric_limits<int64_t>::max() / 1'000'000) {
      return false;
    }
    s.remove_prefix(kUnits[match].name.size());
    next_unit = match + 1;
  }
  *out = std::chrono::milliseconds(total_ms);
  return true;
}

// Go's time.ParseDuration: [-+]?(\d*\.?\d+unit)+ or "0". Fractions are exact to the nanosecond
// for the digits that fit in 64 bits, as in Go.
bool ParseDuration(std::string_view s, Duration* out) {
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") {
    *out = Duration(0);
    return true;
  }
  if (s.empty()) return false;
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t total = 0;
  while (!s.empty()) {
    uint64_t whole = 0, frac = 0, scale = 1;
    bool digits = false;
    size_t i = 0;
    for (; i < s.size() && IsDigit(s[i]); ++i, digits = true) {
      if (whole > (kMax - 9) / 10) return false;
      whole = whole * 10 + static_cast<uint64_t>(s[i] - '0');
    }
    if (i < s.size() && s[i] == '.') {
      for (++i; i < s.size() && IsDigit(s[i]); ++i, digits = true) {
        if (scale > kMax / 10) continue;  // further digits are below a nanosecond's reach
        frac = frac * 10 + static_cast<uint64_t>(s[i] - '0');
        scale *= 10;
      }
    }
    if (!digits) return false;
    size_t u = i;
    while (u < s.size() && !IsDigit(s[u]) && s[u] != '.') ++u;
    std::string_view unit_name = s.substr(i, u - i);
    const Unit* unit = nullptr;
    for (const Unit& candidate : kUnits) {
      if (candidate.name == unit_name) unit = &candidate;
    }
    if (unit == nullptr) return false;  // missing or unknown unit
    if (whole > kMax / unit->nanos) return false;
    uint64_t value = whole * unit->nanos;
    if (frac > 0) {
      value += static_cast<uint64_t>(static_cast<double>(frac) * (static_cast<double>(unit->nanos) /
                                                                  static_cast<double>(scale)));
      if (value > kMax) return false;
    }
    if (value > kMax - total) return false;
    total += value;
    s.remove_prefix(u);
  }
  int64_t signed_total = static_cast<int64_t>(total);
  *out = Duration(neg ? -signed_total : signed_total);
  return true;
}

MapReader::MapReader(const YAML::Node& node, std::string file, std::string path)
    : node_(node), file_(std::move(file)), path_(std::move(path)) {}

std::string MapReader::Sub(std::string_view key) const {
  if (path_.empty()) return std::string(key);
  return fmt::format("{}.{}", path_, key);
}

bool MapReader::Has(std::string_view key) const {
  asked_.emplace(key);  // a key of this section, though absent: one a misspelling may mean
  return Lookup(node_, key).IsDefined();
}

YAML::Node MapReader::Node(std::string_view key) {
  known_.emplace(key);
  return Lookup(node_, key);
}

void MapReader::Fail(std::string_view key, std::string_view message) {
  known_.emplace(key);  // a key worth an error message is not an unknown key
  if (!error_.ok()) return;
  YAML::Node at = Lookup(node_, key);
  error_ = ErrorAt(file_, at.IsDefined() ? at : node_, Sub(key), message);
}

void MapReader::Str(std::string_view key, std::string* out) {
  YAML::Node v = Node(key);
  if (!v.IsDefined() || v.IsNull()) return;
  if (!v.IsScalar()) return Fail(key, fmt::format("expected a string, got {}", Describe(v)));
  *out = v.Scalar();
}

void MapReader::Bool(std::string_view key, bool* out) {
  YAML::Node v = Node(key);
  if (!v.IsDefined() || v.IsNull()) return;
  bool b = false;
  if (!v.IsScalar() || !YAML::convert<bool>::decode(v, b)) {
    return Fail(key, fmt::format("expected true or false, got {}", Describe(v)));
  }
  *out = b;
}

void MapReader::Int(std::string_view key, int64_t* out) {
  YAML::Node v = Node(key);
  if (!v.IsDefined() || v.IsNull()) return;
  int64_t n = 0;
  bool out_of_range = false;
  if (!v.IsScalar() || !ParseInt64(v.Scalar(), &n, &out_of_range)) {
    if (out_of_range) return Fail(key, fmt::format("integer {} is out of range", v.Scalar()));
    return Fail(key, fmt::format("expected an integer, got {}", Describe(v)));
  }
  *out = n;
}

void MapReader::Int(std::string_view key, int* out) {
  int64_t n = *out;
  bool had_error = !error_.ok();
  Int(key, &n);
  if (!had_error && !error_.ok()) return;
  if (n < std::numeric_limits<int>::min() || n > std::numeric_limits<int>::max()) {
    return Fail(key, fmt::format("integer {} is out of range", n));
  }
  *out = static_cast<int>(n);
}

void MapReader::Double(std::string_view key, double* out) {
  YAML::Node v = Node(key);
  if (!v.IsDefined() || v.IsNull()) return;
  double d = 0;
  bool ok = v.IsScalar();
  if (ok) {
    const std::string& s = v.Scalar();
    std::string_view sv = s;
    if (!sv.empty() && sv[0] == '+') sv.remove_prefix(1);
    auto [ptr, ec] = std::from_chars(sv.data(), sv.data() + sv.size(), d);
    ok = !sv.empty() && ec == std::errc() && ptr == sv.data() + sv.size() && std::isfinite(d);
  }
  if (!ok) return Fail(key, fmt::format("expected a number, got {}", Describe(v)));
  *out = d;
}

void MapReader::Dur(std::string_view key, Duration* out) {
  DurationIn(key, out, ParseDuration, "500ms or 1m30s");
}

void MapReader::PromDur(std::string_view key, Duration* out) {
  DurationIn(key, out, ParsePromDuration, "30s, 5m or 1d");
}

void MapReader::DurationIn(std::string_view key, Duration* out,
                           bool (*parse)(std::string_view, Duration*), std::string_view example) {
  YAML::Node v = Node(key);
  if (!v.IsDefined() || v.IsNull()) return;
  Duration d{};
  if (!v.IsScalar() || !parse(v.Scalar(), &d)) {
    return Fail(key, fmt::format("expected a duration like {}, got {}", example, Describe(v)));
  }
  *out = d;
}

void MapReader::StrList(std::string_view key, std::vector<std::string>* out) {
  YAML::Node v = Node(key);
  if (!v.IsDefined() || v.IsNull()) return;
  if (v.IsScalar()) {
    *out = {v.Scalar()};
    return;
  }
  if (!v.IsSequence()) {
    return Fail(key, fmt::format("expected a string or a list of strings, got {}", Describe(v)));
  }
  std::vector<std::string> items;
  for (size_t i = 0; i < v.size(); ++i) {
    YAML::Node item = v[i];
    if (!item.IsScalar()) {
      if (error_.ok()) {
        error_ = ErrorAt(file_, item, fmt::format("{}[{}]", Sub(key), i),
                         fmt::format("expected a string, got {}", Describe(item)));
      }
      return;
    }
    items.push_back(item.Scalar());
  }
  *out = std::move(items);
}

void MapReader::StrMap(std::string_view key, std::map<std::string, std::string>* out) {
  YAML::Node v = Node(key);
  if (!v.IsDefined() || v.IsNull()) return;
  if (!v.IsMap()) return Fail(key, fmt::format("expected a mapping, got {}", Describe(v)));
  std::map<std::string, std::string> items;
  for (auto it = v.begin(); it != v.end(); ++it) {
    YAML::Node k = it->first;
    YAML::Node val = it->second;
    if (!k.IsScalar()) {
      if (error_.ok()) error_ = ErrorAt(file_, k, Sub(key), "keys must be strings");
      return;
    }
    if (!val.IsScalar() && !val.IsNull()) {
      if (error_.ok()) {
        error_ = ErrorAt(file_, val, fmt::format("{}.{}", Sub(key), k.Scalar()),
                         fmt::format("expected a string, got {}", Describe(val)));
      }
      return;
    }
    items[k.Scalar()] = val.IsNull() ? std::string() : val.Scalar();
  }
  *out = std::move(items);
}

Status MapReader::Finish() {
  if (node_.IsDefined() && !node_.IsNull() && !node_.IsMap()) {
    return ErrorAt(file_, node_, path_, fmt::format("expected a mapping, got {}", Describe(node_)));
  }
  // Unknown keys first: a misspelt key is usually why a required value looks missing.
  if (!node_.IsMap()) return error_;
  Status s = CheckKeys(node_, known_, asked_, file_, path_, 0, unknown_keys_);
  return s.ok() ? error_ : s;
}

}  // namespace skidder::config
