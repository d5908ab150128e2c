// Internal to agent/config/: FieldReader, the visitor that reads the field lists of fields.h
// into their structs with a MapReader's getters (strict: wrong types and unknown keys are errors
// with file:line:column).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/fields.h"
#include "config/sections.h"

namespace skidder::config::internal {

// Checks of one nested block once its fields are read, recorded on its reader (next to the
// reader of the section the block belongs to). A check that returns a Status reports an error
// of its own position (kubernetes' authorization.type).
void Validate(MapReader& r, BasicAuth& auth);
void Validate(MapReader& r, Authorization& auth);
void Validate(MapReader& r, OAuth2Config& o);
void Validate(MapReader& r, TlsConfig& t);
void Validate(MapReader& r, ServerTlsConfig& t);
void Validate(MapReader& r, BackoffConfig& b);
void Validate(MapReader& r, KubernetesSdConfig::Selector& s);
void Validate(MapReader& r, std::pair<std::string, std::vector<std::string>>& docker_filter);
void Validate(MapReader& r, DockerSdConfig& d);
Status Validate(MapReader& r, KubernetesSdConfig& k);
Status Validate(MapReader& r, KubernetesEventsConfig& e);
void Validate(MapReader& r, RelabelConfig& c);
void Validate(MapReader& r, StaticConfig& s);
void Validate(MapReader& r, FileSdConfig& f);
void Validate(MapReader& r, JournalConfig& j);
void Validate(MapReader& r, PushApiConfig& p);
void Validate(MapReader& r, HerokuDrainConfig& h);
void Validate(MapReader& r, SyslogConfig& c);
inline void Validate(MapReader&, SyslogRawFormatOptions&) {}  // checked with its SyslogConfig
void Validate(MapReader& r, GelfConfig& c);
void Validate(MapReader& r, DecompressionConfig& d);
void Validate(MapReader& r, ClientConfig& c);
void Validate(MapReader& r, PositionsConfig& p);
void Validate(MapReader& r, LimitsConfig& l);
void Validate(MapReader& r, TargetConfig& t);
void Validate(MapReader& r, FileWatchConfig& f);

// Reads the mapping at node (at path in file) into value with its field list, then checks it with
// Validate(MapReader&, T&). Defined below FieldReader, which it uses.
template <typename T>
Status ReadBlock(const YAML::Node& node, const std::string& file, const std::string& path,
                 T& value);

// Reads each field into its struct; nested blocks get their own MapReader (and path). A nested
// block's error is kept in status() (the first one wins) and goes before the errors recorded on
// the MapReader, as each section reader returned it before.
class FieldReader {
 public:
  explicit FieldReader(MapReader& r) : r_(r) {}
  Status status() const { return status_; }

  void Str(std::string_view k, std::string& s) { r_.Str(k, &s); }
  void Text(std::string_view k, std::string& s) { r_.Str(k, &s); }
  void Secret(std::string_view k, std::string& s) { r_.Str(k, &s); }
  void Url(std::string_view k, std::string& s) { r_.Str(k, &s); }
  void Bool(std::string_view k, bool& b) { r_.Bool(k, &b); }
  void Int(std::string_view k, int& n) { r_.Int(k, &n); }
  void Int(std::string_view k, int64_t& n) { r_.Int(k, &n); }
  void Count(std::string_view k, uint64_t& n);
  void Double(std::string_view k, double& d) { r_.Double(k, &d); }
  void Dur(std::string_view k, Duration& d) { r_.Dur(k, &d); }
  void PromDur(std::string_view k, Duration& d) { r_.PromDur(k, &d); }
  void List(std::string_view k, std::vector<std::string>& v) { r_.StrList(k, &v); }
  void Params(std::string_view k, std::map<std::string, std::string>& m) { r_.StrMap(k, &m); }
  void Headers(std::string_view k, std::map<std::string, std::vector<std::string>>& m);
  void LabelSet(std::string_view k, Labels& labels) {
    if (status_.ok()) status_ = ReadLabels(r_, k, &labels);
  }
  void Size(std::string_view k, int64_t& n, std::string_view example);
  void PositiveSize(std::string_view k, int64_t& n);
  void Server(std::string_view k, ServerConfig& s, std::vector<std::string>& ignored) {
    if (status_.ok()) status_ = ReadServer(r_.Node(k), r_.file(), &s, &ignored, r_.Sub(k));
  }
  void Jobs(std::string_view k, std::vector<ScrapeConfig>& out, std::vector<std::string>& warnings);
  template <typename T>
  void Nested(std::string_view k, T& value) {
    if (status_.ok()) status_ = ReadBlock(r_.Node(k), r_.Sub(k), value);
  }
  template <typename T>
  void Block(std::string_view k, std::optional<T>& out) {
    YAML::Node node = r_.Node(k);
    if (!node.IsDefined() || node.IsNull() || !status_.ok()) return;
    T value;
    status_ = ReadBlock(node, r_.Sub(k), value);
    out = std::move(value);
  }
  // A receiver is set when its key is present, even with no value (`journal:`).
  template <typename T>
  void Receiver(std::string_view k, std::optional<T>& out) {
    if (!r_.Has(k) || !status_.ok()) return;
    T value;
    status_ = ReadBlock(r_.Node(k), r_.Sub(k), value);
    out = std::move(value);
  }
  void Stages(std::string_view k, std::vector<StageConfig>& out) {
    if (status_.ok()) status_ = ReadStages(r_.Node(k), r_.file(), r_.Sub(k), &out);
  }
  template <typename T>
  void Items(std::string_view k, std::vector<T>& out) {
    if (!status_.ok()) return;
    status_ = ForEachItem(r_.Node(k), r_.file(), r_.Sub(k),
                          [&](const YAML::Node& item, const std::string& path) {
                            T value;
                            Status s = ReadBlock(item, path, value);
                            if (s.ok()) out.push_back(std::move(value));
                            return s;
                          });
  }
  template <typename F>
  void Group(std::string_view k, F&& fields) {
    if (!status_.ok()) return;
    MapReader sub(r_.Node(k), r_.file(), r_.Sub(k));
    FieldReader inner(sub);
    fields(inner);
    status_ = inner.status().ok() ? sub.Finish() : inner.status();
  }

 private:
  template <typename T>
  Status ReadBlock(const YAML::Node& node, const std::string& path, T& value) {
    return internal::ReadBlock(node, r_.file(), path, value);
  }

  MapReader& r_;
  Status status_;
};

template <typename T>
Status ReadBlock(const YAML::Node& node, const std::string& file, const std::string& path,
                 T& value) {
  MapReader sub(node, file, path);
  FieldReader fields(sub);
  Fields(fields, value);
  if (!fields.status().ok()) return fields.status();
  if constexpr (std::is_same_v<decltype(Validate(sub, value)), Status>) {
    if (Status s = Validate(sub, value); !s.ok()) return s;
  } else {
    Validate(sub, value);
  }
  return sub.Finish();
}

}  // namespace skidder::config::internal
