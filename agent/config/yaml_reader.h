// Strict reading of YAML mappings with file:line:column errors.
//
// Every component that parses a piece of config (the loader, each pipeline stage, relabel rules)
// uses MapReader so that unknown keys, wrong types and bad values are refused the same way:
//   config.yaml:12:5: clients[0]: unknown key "batch_wait" (did you mean "batchwait"?)
// (A Promtail stage's reader may list its unknown keys instead: CollectUnknownKeys.)
// yaml-cpp exceptions never escape: they become the reader's error.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "util/status.h"

namespace skidder::config {

// What aliases may add to a YAML document, in nodes (scalars, lists and mappings): far more than
// any config that reuses a pipeline with anchors needs, and quick to read.
inline constexpr uint64_t kMaxYamlAliasNodes = 100000;

// YAML::Load, refusing a document whose aliases expand past kMaxYamlAliasNodes. Throws
// YAML::Exception (with the offending alias's mark) like YAML::Load.
YAML::Node LoadYamlBounded(const std::string& text);

// "file:line:column: path: message" (line and column 1-based, from the node's mark).
Status ErrorAt(const std::string& file, const YAML::Node& node, std::string_view path,
               std::string_view message);

// Parses a Go duration ("500ms", "1m30s", "1h", "0"); false when malformed.
bool ParseDuration(std::string_view text, Duration* out);
// Parses what Prometheus's model.Duration takes (the service-discovery settings' refresh_interval
// in Promtail: "1d", "2w", "1y", "1h30m", "500ms"; integers of y, w, d, h, m, s, ms in that order)
// and, beyond it, any Go duration. false when malformed.
bool ParsePromDuration(std::string_view text, Duration* out);

class MapReader {
 public:
  // path is the dotted location of node for messages, e.g. "clients[0]".
  MapReader(const YAML::Node& node, std::string file, std::string path);

  // Each getter records the key as known; a missing key leaves *out unchanged (the default).
  // A present key of the wrong type records an error (first error wins).
  void Str(std::string_view key, std::string* out);
  void Bool(std::string_view key, bool* out);
  void Int(std::string_view key, int64_t* out);
  void Int(std::string_view key, int* out);
  void Double(std::string_view key, double* out);
  void Dur(std::string_view key, Duration* out);
  void PromDur(std::string_view key, Duration* out);                  // ParsePromDuration's forms
  void StrList(std::string_view key, std::vector<std::string>* out);  // a string or a list
  void StrMap(std::string_view key, std::map<std::string, std::string>* out);
  // Returns the raw node (marks the key known), or an undefined node when absent.
  YAML::Node Node(std::string_view key);
  bool Has(std::string_view key) const;

  // Records an error at key's node (or the map itself when absent).
  void Fail(std::string_view key, std::string_view message);
  // Checks that the node is a mapping and that no unknown key is present. Returns the first
  // error recorded by any getter, or an unknown-key error naming the key and its position.
  Status Finish();
  // Unknown keys are then not errors: Finish() appends one message per key ("file:3:5: path:
  // unknown key \"x\"") to *into. For Promtail's stage bodies, which Promtail decodes leniently.
  void CollectUnknownKeys(std::vector<std::string>* into) { unknown_keys_ = into; }

  const std::string& file() const { return file_; }
  const std::string& path() const { return path_; }
  std::string Sub(std::string_view key) const;  // path + "." + key

 private:
  // Dur and PromDur: the value under key read by parse, or an error naming the example forms.
  void DurationIn(std::string_view key, Duration* out, bool (*parse)(std::string_view, Duration*),
                  std::string_view example);

  YAML::Node node_;
  std::string file_, path_;
  std::set<std::string, std::less<>> known_;
  mutable std::set<std::string, std::less<>> asked_;  // by Has(): for "did you mean"
  Status error_;
  std::vector<std::string>* unknown_keys_ = nullptr;
};

}  // namespace skidder::config
