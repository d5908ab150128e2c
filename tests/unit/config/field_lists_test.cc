// Each config field is described once (agent/config/fields.h): for every section, its struct has
// as many fields as its field list has keys, every key of the list that a config sets is read,
// shows in the dump and parses back, and the dump of the section writes no key that is not in the
// list. A field added to the struct with a key in the reader or in the dump alone fails here.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/fields.h"
#include "config/loader.h"
#include "config/sections.h"
#include "support/test_certs.h"
#include "support/test_util.h"

namespace skidder::config {
namespace {

using internal::FormatDuration;

// One key of a field list and a flow-mapping entry that sets it to another value than its
// default ("" for a block that is always there: its own keys are checked as their own section;
// such a key must show in the dump of the section's base config).
struct Key {
  std::string name, sample;
  std::string group = "";  // the Group the key is in, if any
  bool is_group = false;   // a Group's own key: a mapping, not a field
};

std::string Quoted(const std::string& s) { return "'" + s + "'"; }

// Walks a field list of a default-constructed section, as the reader and the dump do.
class KeyLister {
 public:
  std::vector<Key> keys;

  void Str(std::string_view k, const std::string& s) { Add(k, Quoted(s + "x")); }
  void Text(std::string_view k, const std::string& s) { Add(k, Quoted(s + "x")); }
  void Secret(std::string_view k, const std::string& s) { Add(k, Quoted(s + "x")); }
  void Url(std::string_view k, const std::string&) { Add(k, "'http://other.example/p'"); }
  void Bool(std::string_view k, bool b) { Add(k, b ? "false" : "true"); }
  void Int(std::string_view k, int64_t n) { Add(k, std::to_string(n + 1)); }
  void Count(std::string_view k, uint64_t n) { Add(k, std::to_string(n + 1)); }
  void Double(std::string_view k, double d) { Add(k, std::to_string(d + 1)); }
  void Dur(std::string_view k, Duration d) { Add(k, FormatDuration(d + std::chrono::seconds(1))); }
  void PromDur(std::string_view k, Duration) { Add(k, "2d"); }  // Prometheus's form
  void List(std::string_view k, const std::vector<std::string>&) { Add(k, "[x]"); }
  void Params(std::string_view k, const std::map<std::string, std::string>&) { Add(k, "{a: b}"); }
  void Headers(std::string_view k, const std::map<std::string, std::vector<std::string>>&) {
    Add(k, "{A: [b]}");
  }
  void LabelSet(std::string_view k, const Labels&) { Add(k, "{a: b}"); }
  void Size(std::string_view k, int64_t n, std::string_view) { Add(k, std::to_string(n + 1)); }
  void PositiveSize(std::string_view k, int64_t n) { Add(k, std::to_string(n + 1)); }
  void Server(std::string_view k, const ServerConfig&, const std::vector<std::string>&) {
    keys.push_back({std::string(k), ""});
  }
  template <typename T>
  void Nested(std::string_view k, const T&) {
    keys.push_back({std::string(k), "", group_});
  }
  template <typename T>
  void Block(std::string_view k, const std::optional<T>&) {
    Add(k, "{}");
  }
  template <typename T>
  void Receiver(std::string_view k, const std::optional<T>&) {
    Add(k, "{}");
  }
  template <typename T>
  void Items(std::string_view k, const std::vector<T>&) {
    Add(k, "[{}]");
  }
  void Stages(std::string_view k, const std::vector<StageConfig>&) { Add(k, "[{cri: {}}]"); }
  void Jobs(std::string_view k, const std::vector<ScrapeConfig>&, const std::vector<std::string>&) {
    Add(k, "[{}]");
  }
  template <typename F>
  void Group(std::string_view k, F&& fields) {
    keys.push_back({std::string(k), "", "", true});
    group_ = k;
    fields(*this);
    group_.clear();
  }

 private:
  void Add(std::string_view k, const std::string& value) {
    std::string entry = std::string(k) + ": " + value;
    if (!group_.empty()) entry = group_ + ": {" + entry + "}";
    keys.push_back({std::string(k), entry, group_});
  }
  std::string group_;
};

// The number of fields of an aggregate (a base class counts as one), found by brace-initializing
// it from more and more AnyField values. optional converts from AnyField through its own
// converting constructor; also offering the conversion to it would be ambiguous.
template <typename T>
constexpr bool kConvertsItself = false;
template <typename T>
constexpr bool kConvertsItself<std::optional<T>> = true;

// Never converted for real: used in unevaluated requires-expressions only.
struct AnyField {
  template <typename T>
  requires(!kConvertsItself<T>) operator T() const;
};

template <typename T, typename... Fields>
constexpr size_t FieldCount() {
  if constexpr (requires { T{Fields{}..., AnyField{}}; }) {
    return FieldCount<T, Fields..., AnyField>();
  } else {
    return sizeof...(Fields);
  }
}
static_assert(FieldCount<BackoffConfig>() == 3);
static_assert(FieldCount<ProxyConfig>() == 4);

// Fields of ClientConfig and OAuth2Config, whose lists include their bases' keys.
constexpr size_t kProxyFields = FieldCount<ProxyConfig>();
constexpr size_t kHttpClientFields = FieldCount<HttpClientConfig>() - 1 + kProxyFields;
constexpr size_t kClientFields = FieldCount<ClientConfig>() - 1 + kHttpClientFields;
constexpr size_t kOAuth2Fields = FieldCount<OAuth2Config>() - 1 + kProxyFields;
constexpr size_t kKubernetesFields = FieldCount<KubernetesSdConfig>() - 1 + kHttpClientFields;
constexpr size_t kDockerFields = FieldCount<DockerSdConfig>() - 1 + kHttpClientFields;
constexpr size_t kEventsFields = FieldCount<KubernetesEventsConfig>() - 1 + kHttpClientFields;

template <typename T>
std::vector<Key> KeysOf() {
  KeyLister lister;
  const T defaults;
  internal::Fields(lister, defaults);
  return lister.keys;
}

struct Section {
  std::string name;
  size_t fields;  // of the struct that are keys (ignored_keys and ScrapeConfig::origin are not)
  std::vector<Key> keys;
  // A valid config with `@` where the keys go, inside a flow mapping.
  std::string yaml;
  std::vector<std::string> dump_path;  // where the section is in the dump ("0": first item)
  // Samples for keys whose value is constrained or which need another key ("-": set in yaml
  // already, as a required key is; "~": not checked, the reader moves it into another field).
  std::map<std::string, std::string> samples = {};
};

void PrintTo(const Section& section, std::ostream* os) { *os << section.name; }

// The entry that sets key in section; "" when the base config has it already.
std::string EntryFor(const Section& section, const Key& key) {
  auto sample = section.samples.find(key.name);
  std::string entry = sample == section.samples.end() ? key.sample : sample->second;
  return entry == "-" ? "" : entry;
}

bool Unchecked(const Section& section, const Key& key) {
  auto sample = section.samples.find(key.name);
  return sample != section.samples.end() && sample->second == "~";
}

// The config with entry in place of `@`; an entry that starts with `=` is a whole config.
std::string Fill(std::string yaml, const std::string& entry) {
  if (entry.starts_with("=")) return entry.substr(1);
  size_t at = yaml.find('@');
  if (!entry.empty()) return yaml.replace(at, 1, entry);
  bool after_comma = at >= 2 && yaml.compare(at - 2, 2, ", ") == 0;
  return yaml.erase(after_comma ? at - 2 : at, after_comma ? 3 : 1);
}

YAML::Node At(YAML::Node node, const std::vector<std::string>& path) {
  for (const std::string& step : path) {
    node = step == "0" ? YAML::Node(node[0]) : YAML::Node(node[step]);
  }
  return node;
}

const char* kClient = "clients: [{url: 'http://l/p', @}]";
const std::string kProxy = "proxy_url: 'http://p:1'";
std::string Job(const std::string& body) { return "scrape_configs: [{job_name: j, " + body + "}]"; }
const std::vector<std::string> kJob = {"scrape_configs", "0"};
std::vector<std::string> InJob(std::vector<std::string> path) {
  path.insert(path.begin(), kJob.begin(), kJob.end());
  return path;
}

// PEM text as a YAML double-quoted scalar, for a flow mapping.
std::string QuotedPem(std::string pem) {
  skidder::testing::ReplaceAll(pem, "\n", "\\n");
  return "\"" + pem + "\"";
}

std::vector<Section> Sections() {
  const std::map<std::string, std::string> proxy = {
      {"proxy_url", kProxy},
      {"no_proxy", kProxy + ", no_proxy: h"},
      {"proxy_connect_header", kProxy + ", proxy_connect_header: {A: [b]}"}};
  std::map<std::string, std::string> client = proxy;
  client["url"] = "-";
  client["oauth2"] = "oauth2: {client_id: i, token_url: 'http://t/'}";
  std::map<std::string, std::string> kubernetes = proxy;
  kubernetes["oauth2"] = client["oauth2"];
  kubernetes["role"] = "-";
  kubernetes["authorization"] = "~";  // read into bearer_token(_file)
  kubernetes["selectors"] = "selectors: [{role: pod}]";
  std::map<std::string, std::string> docker = proxy;
  docker["oauth2"] = client["oauth2"];
  docker["host"] = "-";
  docker["bearer_token"] = "~";  // read into authorization
  docker["bearer_token_file"] = "~";
  docker["filters"] = "filters: [{name: n}]";
  // One source per scrape config: each receiver replaces the base's static_configs.
  std::map<std::string, std::string> scrape = {
      {"job_name", "-"},
      {"static_configs", "-"},
      {"encoding", "encoding: utf-8"},
      {"kubernetes_sd_configs", "kubernetes_sd_configs: [{role: pod}]"},
      {"file_sd_configs", "file_sd_configs: [{files: [a.json]}]"},
      {"docker_sd_configs", "=" + Job("docker_sd_configs: [{host: 'unix:///d.sock'}]")},
      {"journal", "=" + Job("journal: {}")},
      {"loki_push_api", "=" + Job("loki_push_api: {}")},
      {"heroku_drain", "=" + Job("heroku_drain: {}")},
      {"syslog", "=" + Job("syslog: {listen_address: ':1'}")},
      {"gelf", "=" + Job("gelf: {}")},
      {"kubernetes_events", "=" + Job("kubernetes_events: {}")},
      {"decompression", "decompression: {format: gz}"},  // left out of dumps when unset
      {"relabel_configs", "relabel_configs: [{target_label: t}]"}};
  std::map<std::string, std::string> events = proxy;
  events["oauth2"] = client["oauth2"];
  events["authorization"] = "~";  // read into bearer_token(_file)
  events["log_format"] = "log_format: json";
  events["namespaces"] = "namespaces: [shop]";
  std::map<std::string, std::string> oauth2 = proxy;
  oauth2["client_id"] = "-";
  oauth2["token_url"] = "-";
  return {
      {"top_level",
       FieldCount<Config>() - 5,  // source_file, ignored_keys, warnings, client_flag_merged,
                                  // unused_pipelines
       KeysOf<Config>(),
       "@",
       {},
       {{"clients", "clients: [{url: 'http://l/p'}]"},
        {"scrape_configs", Job("static_configs: [{labels: {__path__: /x}}]")}}},
      {"server",
       FieldCount<ServerConfig>(),
       KeysOf<ServerConfig>(),
       "server: {@}",
       {"server"},
       {{"log_level", "log_level: debug"},
        {"log_format", "log_format: json"},
        {"tls_min_version", "tls_min_version: VersionTLS12"},
        {"http_tls_config", "http_tls_config: {cert_file: c, key_file: k}"}}},
      {"http_tls_config",
       FieldCount<ServerTlsConfig>(),
       KeysOf<ServerTlsConfig>(),
       "server: {http_tls_config: {@}}",
       {"server", "http_tls_config"},
       {{"cert_file", "cert_file: c, key_file: k"},
        {"key_file", "cert_file: c, key_file: k"},
        {"client_auth_type", "cert_file: c, key_file: k, client_auth_type: RequestClientCert"},
        {"client_ca_file", "cert_file: c, key_file: k, client_ca_file: ca"}}},
      {"positions",
       FieldCount<PositionsConfig>() - 1,  // import_files (Alloy's legacy_positions_file)
       KeysOf<PositionsConfig>(),
       "positions: {@}",
       {"positions"}},
      {"limits_config",
       FieldCount<LimitsConfig>(),
       KeysOf<LimitsConfig>(),
       "limits_config: {@}",
       {"limits_config"}},
      {"target_config",
       FieldCount<TargetConfig>(),
       KeysOf<TargetConfig>(),
       "target_config: {@}",
       {"target_config"},
       {{"symlink_roots", "symlink_roots: [/x]"}}},
      {"file_watch_config",
       FieldCount<FileWatchConfig>(),
       KeysOf<FileWatchConfig>(),
       "global: {file_watch_config: {@}}",
       {"global", "file_watch_config"},
       {{"min_poll_frequency", "min_poll_frequency: 100ms"}}},
      {"clients", kClientFields, KeysOf<ClientConfig>(), kClient, {"clients", "0"}, client},
      {"backoff_config",
       FieldCount<BackoffConfig>(),
       KeysOf<BackoffConfig>(),
       "clients: [{url: 'http://l/p', backoff_config: {@}}]",
       {"clients", "0", "backoff_config"}},
      {"tls_config",
       FieldCount<TlsConfig>(),
       KeysOf<TlsConfig>(),
       "clients: [{url: 'http://l/p', tls_config: {@}}]",
       {"clients", "0", "tls_config"},
       {{"cert_file", "cert_file: c, key_file: k"},
        {"key_file", "cert_file: c, key_file: k"},
        // Inline PEM is parsed, and the dump's <secret> for key would not parse back.
        {"ca", "ca: " + QuotedPem(skidder::testing::SelfSignedPem().cert)},
        {"cert", "~"},
        {"key", "~"},
        {"min_version", "min_version: TLS12"},
        {"max_version", "max_version: TLS12"}}},
      {"basic_auth",
       FieldCount<BasicAuth>(),
       KeysOf<BasicAuth>(),
       "clients: [{url: 'http://l/p', basic_auth: {@}}]",
       {"clients", "0", "basic_auth"}},
      {"authorization",
       FieldCount<Authorization>(),
       KeysOf<Authorization>(),
       "clients: [{url: 'http://l/p', authorization: {@}}]",
       {"clients", "0", "authorization"}},
      {"oauth2",
       kOAuth2Fields,
       KeysOf<OAuth2Config>(),
       "clients: [{url: 'http://l/p', oauth2: {client_id: i, token_url: 'http://t/', @}}]",
       {"clients", "0", "oauth2"},
       oauth2},
      {"static_configs",
       FieldCount<StaticConfig>(),
       KeysOf<StaticConfig>(),
       Job("static_configs: [{labels: {__path__: /x}, @}]"),
       InJob({"static_configs", "0"}),
       {{"labels", "-"}}},
      {"file_sd_configs",
       FieldCount<FileSdConfig>(),
       KeysOf<FileSdConfig>(),
       Job("file_sd_configs: [{files: [a.json], @}]"),
       InJob({"file_sd_configs", "0"}),
       {{"files", "-"}}},
      {"journal",
       FieldCount<JournalConfig>(),
       KeysOf<JournalConfig>(),
       Job("journal: {@}"),
       InJob({"journal"}),
       {{"matches", "matches: A=b"}}},
      {"loki_push_api", FieldCount<PushApiConfig>() - 1, KeysOf<PushApiConfig>(),
       Job("loki_push_api: {@}"), InJob({"loki_push_api"})},
      {"heroku_drain", FieldCount<HerokuDrainConfig>() - 1, KeysOf<HerokuDrainConfig>(),
       Job("heroku_drain: {@}"), InJob({"heroku_drain"})},
      {"syslog",
       FieldCount<SyslogConfig>(),
       KeysOf<SyslogConfig>(),
       Job("syslog: {listen_address: ':1', @}"),
       InJob({"syslog"}),
       {{"listen_address", "-"},
        {"listen_protocol", "listen_protocol: udp"},
        {"syslog_format", "syslog_format: rfc3164"}}},
      {"gelf",
       FieldCount<GelfConfig>(),
       KeysOf<GelfConfig>(),
       Job("gelf: {@}"),
       InJob({"gelf"}),
       {{"listen_address", "listen_address: ':2'"}}},
      {"decompression",
       FieldCount<DecompressionConfig>(),
       KeysOf<DecompressionConfig>(),
       Job("static_configs: [{labels: {__path__: /x}}], decompression: {format: gz, @}"),
       InJob({"decompression"}),
       {{"format", "-"}}},
      {"scrape_configs", FieldCount<ScrapeConfig>() - 2, KeysOf<ScrapeConfig>(),
       Job("static_configs: [{labels: {__path__: /x}}], @"), kJob, scrape},
      {"kubernetes_sd_configs", kKubernetesFields, KeysOf<KubernetesSdConfig>(),
       Job("kubernetes_sd_configs: [{role: pod, @}]"), InJob({"kubernetes_sd_configs", "0"}),
       kubernetes},
      {"selectors",
       FieldCount<KubernetesSdConfig::Selector>(),
       KeysOf<KubernetesSdConfig::Selector>(),
       Job("kubernetes_sd_configs: [{role: pod, selectors: [{role: pod, @}]}]"),
       InJob({"kubernetes_sd_configs", "0", "selectors", "0"}),
       {{"role", "-"}}},
      {"kubernetes_events", kEventsFields, KeysOf<KubernetesEventsConfig>(),
       Job("kubernetes_events: {@}"), InJob({"kubernetes_events"}), events},
      {"docker_sd_configs", kDockerFields, KeysOf<DockerSdConfig>(),
       Job("docker_sd_configs: [{host: 'unix:///d.sock', @}]"), InJob({"docker_sd_configs", "0"}),
       docker},
      {"filters",
       2,  // a std::pair: name and values
       KeysOf<std::pair<std::string, std::vector<std::string>>>(),
       Job("docker_sd_configs: [{host: 'unix:///d.sock', filters: [{name: n, @}]}]"),
       InJob({"docker_sd_configs", "0", "filters", "0"}),
       {{"name", "-"}}},
      {"relabel_configs",
       FieldCount<RelabelConfig>(),
       KeysOf<RelabelConfig>(),
       Job("static_configs: [{labels: {__path__: /x}}], relabel_configs: [{target_label: t, @}]"),
       InJob({"relabel_configs", "0"}),
       {{"target_label", "-"}, {"action", "action: keep"}}},
  };
}

std::string Dump(const std::string& yaml) {
  Result<Config> cfg = ParseConfig(yaml, "cfg.yaml", false);
  if (!cfg) {
    ADD_FAILURE() << cfg.error().message() << "\nin:\n" << yaml;
    return "";
  }
  return DumpConfig(*cfg);
}

class FieldLists : public ::testing::TestWithParam<Section> {};

TEST_P(FieldLists, EveryFieldOfTheStructIsInItsFieldList) {
  const Section& section = GetParam();
  std::set<std::string> names;
  size_t fields = 0;
  for (const Key& key : section.keys) {
    EXPECT_TRUE(names.insert(key.group + "." + key.name).second) << key.name << " is listed twice";
    if (!key.is_group) ++fields;
  }
  EXPECT_EQ(fields, section.fields)
      << "the struct of " << section.name
      << " and its field list in agent/config/fields.h differ: describe each field there";
}

TEST_P(FieldLists, EveryListedKeyThatIsSetShowsInTheDumpAndParsesBack) {
  const Section& section = GetParam();
  const std::string base = Dump(Fill(section.yaml, ""));
  ASSERT_FALSE(base.empty());
  for (const Key& key : section.keys) {
    if (Unchecked(section, key)) continue;
    const std::string entry = EntryFor(section, key);
    const std::string dump = entry.empty() ? base : Dump(Fill(section.yaml, entry));
    ASSERT_FALSE(dump.empty()) << key.name;
    const YAML::Node section_node = At(YAML::Load(dump), section.dump_path);
    // (A new node: assigning a child to its parent's Node would rewrite the parent in yaml-cpp.)
    const YAML::Node written = key.group.empty() ? section_node : section_node[key.group];
    EXPECT_TRUE(written[key.name].IsDefined()) << key.name << " is missing from the dump:\n"
                                               << dump;
    if (!entry.empty()) {
      EXPECT_NE(dump, base) << "setting " << entry << " changes nothing in the dump";
    }
    EXPECT_EQ(Dump(dump), dump) << "the dump of " << entry << " does not parse back the same";
  }
}

TEST_P(FieldLists, TheDumpWritesOnlyListedKeys) {
  const Section& section = GetParam();
  std::set<std::string> listed;
  for (const Key& key : section.keys) {
    if (key.group.empty()) listed.insert(key.name);
  }
  for (const Key& key : section.keys) {
    const std::string entry = Unchecked(section, key) ? "" : EntryFor(section, key);
    const YAML::Node written = At(YAML::Load(Dump(Fill(section.yaml, entry))), section.dump_path);
    ASSERT_TRUE(written.IsMap()) << entry;
    for (auto it = written.begin(); it != written.end(); ++it) {
      EXPECT_TRUE(listed.contains(it->first.Scalar()))
          << it->first.Scalar() << " is dumped but not in the field list of " << section.name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Sections, FieldLists, ::testing::ValuesIn(Sections()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace skidder::config
