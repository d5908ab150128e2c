// DumpConfig: the effective config as Promtail-style YAML, secrets replaced by <secret>.
//
// The output uses Promtail's key names and Go duration strings, so it parses back with
// ParseConfig (tests rely on that) and a user can diff it against their file.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>

#include "config/fields.h"
#include "config/loader.h"
#include "config/sections.h"
#include "util/redact.h"

namespace skidder::config {
namespace {

using internal::FormatDuration;

constexpr const char* kSecret = "<secret>";

std::string Secret(const std::string& s) { return s.empty() ? s : kSecret; }

// http://user:pass@host/push?token=abc -> http://<secret>@host/push?token=<secret>: query
// strings carry API tokens as often as userinfo carries passwords.
std::string RedactUrl(const std::string& url) { return MaskUrlCredentials(url, kSecret); }

// Headers carry credentials as often as basic_auth does (Authorization, X-Api-Key, ...).
bool IsSensitiveHeader(const std::string& name) { return IsSensitiveName(name); }

// Every scrape config has a decompression block; most never use it, so the dump says nothing of
// it until it is set.
bool IsDefault(const DecompressionConfig& d) {
  return !d.enabled && d.format.empty() && d.initial_delay == Duration::zero();
}

// Plain HTTP, as almost every server block is.
bool IsDefault(const ServerTlsConfig& t) {
  return t.cert_file.empty() && t.key_file.empty() && t.client_auth_type.empty() &&
         t.client_ca_file.empty();
}

// The emitter and the primitives FieldWriter writes with.
class Out {
 public:
  YAML::Emitter& e;

  void Kv(const char* k, const std::string& v) { e << YAML::Key << k << YAML::Value << v; }
  void Kv(const char* k, const char* v) { e << YAML::Key << k << YAML::Value << v; }
  void Kv(const char* k, bool v) { e << YAML::Key << k << YAML::Value << v; }
  void Kv(const char* k, int v) { e << YAML::Key << k << YAML::Value << v; }
  void Kv(const char* k, int64_t v) { e << YAML::Key << k << YAML::Value << v; }
  void Kv(const char* k, uint64_t v) { e << YAML::Key << k << YAML::Value << v; }
  void Kv(const char* k, double v) { e << YAML::Key << k << YAML::Value << v; }
  void Kv(const char* k, Duration v) { Kv(k, FormatDuration(v)); }
  void Opt(const char* k, const std::string& v) {
    if (!v.empty()) Kv(k, v);
  }
  void Begin(const char* k) { e << YAML::Key << k << YAML::Value << YAML::BeginMap; }
  void End() { e << YAML::EndMap; }
  void BeginList(const char* k) { e << YAML::Key << k << YAML::Value << YAML::BeginSeq; }
  void EndList() { e << YAML::EndSeq; }

  void LabelMap(const char* k, const Labels& labels) {
    if (labels.empty()) return;
    Begin(k);
    for (const Label& l : labels) Kv(l.name.c_str(), l.value);
    End();
  }
};

// Writes each field of fields.h: secrets as <secret>, URLs redacted, empty strings (whose default
// is ""), empty lists and maps and unset blocks left out (a dump parses back to the same config).
class FieldWriter {
 public:
  explicit FieldWriter(Out& w) : w_(w) {}
  void Str(const char* k, const std::string& s) { w_.Opt(k, s); }
  void Text(const char* k, const std::string& s) { w_.Kv(k, s); }
  void Secret(const char* k, const std::string& s) { w_.Opt(k, config::Secret(s)); }
  void Url(const char* k, const std::string& s) { w_.Opt(k, RedactUrl(s)); }
  void Bool(const char* k, bool b) { w_.Kv(k, b); }
  void Int(const char* k, int n) { w_.Kv(k, n); }
  void Int(const char* k, int64_t n) { w_.Kv(k, n); }
  void Count(const char* k, uint64_t n) {
    if (n != 0) w_.Kv(k, n);
  }
  void Double(const char* k, double d) { w_.Kv(k, d); }
  void Dur(const char* k, Duration d) { w_.Kv(k, d); }
  void PromDur(const char* k, Duration d) { w_.Kv(k, d); }
  void LabelSet(const char* k, const Labels& labels) { w_.LabelMap(k, labels); }
  void Size(const char* k, int64_t n, std::string_view /*example*/) { w_.Kv(k, n); }
  void PositiveSize(const char* k, int64_t n) { w_.Kv(k, n); }
  void List(const char* k, const std::vector<std::string>& v) {
    if (!v.empty()) w_.e << YAML::Key << k << YAML::Value << YAML::Flow << v;
  }
  void Params(const char* k, const std::map<std::string, std::string>& m) {
    if (m.empty()) return;
    w_.Begin(k);
    for (const auto& [name, v] : m)
      w_.Kv(name.c_str(), IsSensitiveHeader(name) ? config::Secret(v) : v);
    w_.End();
  }
  // Prometheus keeps proxy_connect_header values as secrets (Proxy-Authorization, ...).
  void Headers(const char* k, const std::map<std::string, std::vector<std::string>>& m) {
    if (m.empty()) return;
    w_.Begin(k);
    for (const auto& [name, values] : m) {
      std::vector<std::string> shown;
      for (const std::string& v : values) shown.push_back(config::Secret(v));
      w_.e << YAML::Key << name << YAML::Value << YAML::Flow << shown;
    }
    w_.End();
  }
  void Server(const char* k, const ServerConfig& s, const std::vector<std::string>& /*ignored*/) {
    Nested(k, s);
  }
  // A block that may be left out while it holds its defaults (see IsDefault) is.
  template <typename T>
  void Nested(const char* k, const T& block) {
    if constexpr (requires { IsDefault(block); }) {
      if (IsDefault(block)) return;
    }
    w_.Begin(k);
    internal::Fields(*this, block);
    w_.End();
  }
  template <typename T>
  void Block(const char* k, const std::optional<T>& block) {
    if (!block) return;
    w_.Begin(k);
    internal::Fields(*this, *block);
    w_.End();
  }
  template <typename T>
  void Receiver(const char* k, const std::optional<T>& block) {
    Block(k, block);
  }
  void Stages(const char* k, const std::vector<StageConfig>& stages) {
    if (stages.empty()) return;
    w_.BeginList(k);
    for (const StageConfig& st : stages) {
      w_.e << YAML::BeginMap << YAML::Key << st.type << YAML::Value << st.body << YAML::EndMap;
    }
    w_.EndList();
  }
  void Jobs(const char* k, const std::vector<ScrapeConfig>& jobs,
            const std::vector<std::string>& /*warnings*/) {
    Items(k, jobs);
  }
  template <typename T>
  void Items(const char* k, const std::vector<T>& items) {
    if (items.empty()) return;
    w_.BeginList(k);
    for (const T& item : items) Item(item);
    w_.EndList();
  }
  template <typename T>
  void Item(const T& item) {  // one element of a list
    w_.e << YAML::BeginMap;
    internal::Fields(*this, item);
    w_.e << YAML::EndMap;
  }
  template <typename F>
  void Group(const char* k, F&& fields) {
    w_.Begin(k);
    fields(*this);
    w_.End();
  }

 private:
  Out& w_;
};

}  // namespace

std::string DumpConfig(const Config& config) {
  YAML::Emitter e;
  Out out{e};
  FieldWriter w(out);
  e << YAML::BeginMap;
  internal::Fields(w, config);
  e << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

}  // namespace skidder::config
