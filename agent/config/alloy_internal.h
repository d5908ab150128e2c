// Internal to the Alloy loader (alloy_*.cc): the graph walk and the block translations.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "config/alloy.h"
#include "config/config.h"
#include "lang/alloy/eval.h"
#include "lang/alloy/parser.h"

namespace skidder::config::alloy_internal {

using lang::alloy::Attribute;
using lang::alloy::Block;
using lang::alloy::Pos;
using lang::alloy::Value;

struct AttrSpec;  // alloy_receivers.cc

// An instance of a custom component (a declare block), once expanded (alloy_declare.cc): its
// exports, each the `value` of one of the declare's export blocks, and the arguments it gives,
// with references renamed as in the instance's copied components.
struct CustomInstance {
  std::map<std::string, lang::alloy::ExprPtr> exports;
  std::vector<lang::alloy::ExprPtr> arguments;  // evaluated once, read or not (CheckInstances)
};

// Where a source's entries come from: the discovery half of a scrape config.
struct Targets {
  std::vector<YAML::Node> kubernetes_sd;  // kubernetes_sd_configs items
  std::vector<YAML::Node> docker_sd;      // docker_sd_configs items (discovery.docker)
  std::vector<YAML::Node> file_sd;        // file_sd_configs items (discovery.file)
  std::vector<YAML::Node> static_labels;  // static_configs[].labels
  std::vector<YAML::Node> relabel;        // relabel_configs, in order
  // The targets passed through a local.file_match, which in Alloy makes one target per file
  // (its __path__ the file's path). skidder's targets stay globs, so discovery.relabel rules
  // from the first that reads __path__ on run per entry instead (entry_relabel: a relabel
  // stage before the route's, reading the file's path as `filename`).
  bool per_file = false;
  std::vector<YAML::Node> entry_relabel;
  Pos entry_relabel_pos;
};

// One pipeline stage: Promtail's type name, its body, and the Alloy block it came from.
struct RouteStage {
  std::string type;
  YAML::Node body;
  Pos pos;
  std::string name;  // as errors name it: the block ("stage.regex"), the component, forward_to
};

// Where a source's entries go: the stages in order, then the loki.write components this path
// forwards to, and the paths it fans out into (each gets its own copy of every entry).
struct Route {
  std::vector<RouteStage> stages;
  std::set<std::string> writes;  // loki.write component ids forwarded to here
  std::vector<Route> branches;
  Pos fanout_pos;  // the forward_to that fans out
  // A branch whose entries may carry values a loki.process before the fan-out extracted.
  bool extracted = false;
  // Whether an entry at the end of `stages` may carry extracted values (a stage other than
  // relabeling and label edits ran): a loki.process next must start without them.
  bool MayHaveExtracted() const;
};

class Loader {
 public:
  Loader(std::string text, std::string file, LoadHooks hooks = {});
  Result<Config> Run();

  // Shared with the block translations.
  std::string Where(Pos pos) const;
  Status ErrorAt(Pos pos, std::string_view msg) const;
  Result<Value> Eval(const Attribute& a);
  // A block's attributes as a YAML mapping (names renamed per `rename`); nested blocks refused
  // unless listed in `blocks_ok`.
  Result<YAML::Node> AttrsToYaml(const Block& b,
                                 const std::map<std::string, std::string>& rename = {},
                                 const std::set<std::string>& blocks_ok = {});
  // A tls_config block: Alloy's ca_pem, cert_pem and key_pem are Promtail's ca, cert and key
  // (which Alloy does not know; refused by those names).
  Result<YAML::Node> TlsConfigToYaml(const Block& b);
  // Records where a stage body was written, so that the stage's errors name that block even
  // when it ends up nested in a match or fanout stage (StageConfig::origins).
  void NoteStage(const YAML::Node& body, Pos pos, const std::string& name);
  // Gives a stage built from `from` its Alloy place, name and the config's origins.
  void Place(const RouteStage& from, StageConfig* st) const;
  // Refuses attributes and blocks of b not in the allowed sets ("stage.*" allows any stage).
  Status CheckBody(const Block& b, const std::set<std::string>& attrs,
                   const std::set<std::string>& blocks) const;

 private:
  Status Index();
  // Replaces each instance of a custom component with copies of its declare's components, and
  // drops the declare blocks (alloy_declare.cc). Before Index(), which sees built-ins only.
  Status ExpandCustomComponents();
  // Evaluates every instance's arguments and exports, as Alloy does: a mistake in one nothing
  // reads yet is reported now.
  Status CheckInstances();
  Result<Value> Resolve(const std::vector<std::string>& parts, size_t* consumed, Pos pos);
  Result<Value> LocalFileContent(const Block& b, Pos pos);
  // remote.kubernetes.secret's data: the Secret read through hooks_, once per load
  // (alloy_secret.cc).
  Result<Value> SecretData(const Block& b, Pos pos);
  Result<SecretRef> ReadSecretRef(const Block& b);
  Result<KubernetesSdConfig> ReadClient(const Block& b);
  Result<YAML::Node> ClientBlockYaml(const Block& client);
  Result<Value> InstanceExport(const std::string& id, const CustomInstance& inst,
                               const std::vector<std::string>& parts, size_t n, size_t* consumed,
                               Pos pos);
  Status ToEntryRule(const Block& rule, const std::vector<YAML::Node>& earlier,
                     YAML::Node* r) const;
  Result<Targets> ResolveTargets(const Value& v, Pos pos, int depth);
  // Walks forward_to value v into route. At the head of a source (head: nothing processed
  // and no fan-out yet) loki.relabel rules join the targets' relabeling; elsewhere they are a
  // relabel stage over the entry's labels.
  Status ResolveReceivers(const Value& v, Pos pos, bool head, Targets* targets, Route* route);
  Status Follow(const Block& b, Pos pos, bool head, Targets* targets, Route* route);
  // The route as pipeline stages: its own, then a fanout stage when it branches or reaches only
  // some of the loki.write components.
  std::vector<RouteStage> EncodeRoute(const Route& route);  // notes the fanouts it makes
  YAML::Node ClientIndices(const std::set<std::string>& writes) const;
  Status Enter(const std::string& id, Pos pos);
  Status ReadSource(const Block& b);
  Status ReadSourceOptions(const Block& b, YAML::Node* node, bool* tail_from_end);
  Status SourceRoute(const Block& b, Targets* t, Route* route);
  Status ReadJournal(const Block& b);
  Status ReadSyslog(const Block& b);
  Status ReadDocker(const Block& b);
  Status ReadApi(const Block& b);
  Status ReadApiTls(const Block& tls, YAML::Node* server);
  Status ReadGelf(const Block& b);
  Status ReadKubernetesEvents(const Block& b);
  Result<bool> ClusteringEnabled(const Block& clustering);
  Status Namespaces(const Attribute& a, const Value& v, YAML::Node* events);
  // A receiver's relabel_rules and forward_to graph (loki.source.syslog, loki.source.api).
  Status ReceiverRoute(const Block& b, Targets* t, Route* route);
  void WarnMetaLabelRules(const Block& b, const Route& route, std::set<std::string>* warned);
  Status TypedAttrs(const Block& b, std::span<const AttrSpec> specs,
                    const std::set<std::string>& skip, YAML::Node* out);
  // A map(string) attribute (labels), with Alloy's number-to-string conversion.
  Result<YAML::Node> LabelsAttr(const Attribute& a);
  // A "host:port" listen address attribute, checked here to name its place (the Promtail
  // reader checks it again, but can only point at the block).
  Status ListenAddress(const Block& b, const std::string& name);
  Status OneOf(const Block& b, const std::string& name,
               std::initializer_list<std::string_view> allowed);
  // Appends the scrape config. `part`: the nested block (a syslog listener) this job is made
  // from, which its errors name; `job`: its job_name when the block's label cannot be it.
  Status AddScrapeConfig(const Block& b, YAML::Node node, const Targets& t, const Route& route,
                         const Block* part = nullptr, const std::string& job = "");
  // relabel_rules = <a discovery.relabel's or loki.relabel's rules>: the job's relabel_configs.
  Status RelabelRulesAttr(const Attribute& a, Targets* t);
  Status DurationAttr(const Attribute& a, Duration* out);
  Status PollDuration(const Attribute& a, Duration* out);  // poll_timeout, poll_frequency
  Status ReadDecompression(const Block& nb, YAML::Node* node);
  Status ReadMatchOptions(const Block& nb);
  Status ReadWrite(const Block& b);
  Status ReadLogging(const Block& b);
  Status ReadOtelExporter(const Block& b);
  Status ReadHttp(const Block& b);
  Status ReadProcess(const Block& b, Route* route);
  const Block* Component(const Value& capsule) const;

  std::string text_, file_;
  LoadHooks hooks_;
  std::map<std::string, Value> secrets_;      // remote.kubernetes.secret id -> its data, read once
  std::map<std::string, Value> local_files_;  // local.file id -> its content, read once per load
  lang::alloy::File ast_;
  lang::alloy::Evaluator eval_;
  std::map<std::string, const Block*> components_;   // "loki.write.default" -> its block
  std::map<std::string, CustomInstance> instances_;  // "pod_logs.feature" -> its exports
  std::vector<std::string> instance_names_{""};      // by Pos::instance (0: none)
  std::set<std::string> evaluating_;  // local.file components and instance exports being read
  Status CheckUnused();

  std::vector<std::string> chain_;       // components on the walk, for cycles
  std::set<std::string> used_;           // components some source's walk reached
  Config* cfg_ = nullptr;                // being built by Run()
  std::optional<Duration> sync_period_;  // the shortest local.file_match/file_match sync_period
  std::map<std::string, std::vector<size_t>> write_clients_;  // loki.write id -> client indices
  size_t visits_ = 0;  // components visited by one source's forward_to walk (diamonds repeat)
  // Where each translated stage was written; shared by every StageConfig of the config.
  std::shared_ptr<std::vector<StageOrigin>> origins_ = std::make_shared<std::vector<StageOrigin>>();
};

// A component's id: "loki.write.default", or in an instance of a custom component
// "pod_logs.feature/loki.process.pod_logs" (as Alloy names components of modules).
inline std::string Id(const Block& b) {
  return b.id_prefix + (b.label.empty() ? b.name : b.name + "." + b.label);
}
// The first n parts of a dotted reference joined: {"loki", "write", "x"}, 2 -> "loki.write".
std::string JoinParts(const std::vector<std::string>& parts, size_t n);
inline constexpr size_t kMaxChain = 32;    // components in one targets or forward_to chain
inline constexpr size_t kMaxVisits = 256;  // components on all paths of one source

// Block translations (alloy_blocks.cc).
Result<YAML::Node> ToYaml(const Value& v);
Result<YAML::Node> KubernetesSd(Loader& l, const Block& b);
Result<YAML::Node> FileSd(Loader& l, const Block& b);
// A block of the HTTP client settings (basic_auth, tls_config, oauth2 with its own tls_config,
// ...) with Promtail's keys.
Result<YAML::Node> ClientBlock(Loader& l, const Block& nb);
// discovery.docker as a docker_sd_configs item (alloy_docker.cc).
Result<YAML::Node> DockerSd(Loader& l, const Block& b);
// authorization { type = "Bearer", credentials(_file) } as bearer_token(_file) keys of out.
Status Authorization(Loader& l, const Block& block, const YAML::Node& attrs, YAML::Node* out);
Result<YAML::Node> RelabelRule(Loader& l, const Block& rule);
// Whether a rule (as RelabelRule made it) lists `label` among its source_labels.
bool ReadsLabel(const YAML::Node& rule, std::string_view label);
Result<std::vector<YAML::Node>> Endpoints(Loader& l, const Block& write);
// One stage.* block as a pipeline stage: Promtail's type name and body.
Result<std::pair<std::string, YAML::Node>> Stage(Loader& l, const Block& stage, int depth);

}  // namespace skidder::config::alloy_internal
