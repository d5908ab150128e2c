// Walking the Alloy component graph: each source's discovery chain becomes a scrape config's
// targets and relabel rules, its forward_to chain the pipeline stages, and the loki.write
// endpoints the clients.
#include <fmt/format.h>

#include <algorithm>

#include "config/alloy_internal.h"
#include "config/sections.h"
#include "util/log.h"

namespace skidder::config::alloy_internal {
namespace {

// loki.source.kubernetes reads the pod logs the API would stream from the node's files: the
// same rules config/kubernetes.yaml uses to find a container's files, CRI lines decoded first.
void AddPodLogPaths(Targets* t) {
  YAML::Node by_uid, by_hash;
  by_uid["source_labels"].push_back("__meta_kubernetes_pod_uid");
  by_uid["source_labels"].push_back("__meta_kubernetes_pod_container_name");
  by_uid["separator"] = "/";
  by_uid["replacement"] = "/var/log/pods/*$1/*.log";
  by_uid["target_label"] = "__path__";
  by_hash["source_labels"].push_back(
      "__meta_kubernetes_pod_annotationpresent_kubernetes_io_config_hash");
  by_hash["source_labels"].push_back("__meta_kubernetes_pod_annotation_kubernetes_io_config_hash");
  by_hash["source_labels"].push_back("__meta_kubernetes_pod_container_name");
  by_hash["separator"] = "/";
  by_hash["regex"] = "true/(.*)";
  by_hash["replacement"] = "/var/log/pods/*$1/*.log";
  by_hash["target_label"] = "__path__";
  t->relabel.push_back(by_uid);
  t->relabel.push_back(by_hash);
}

// Alloy's loki.source.kubernetes labels each stream as its PrepareLabels does, after the
// targets' own rules: job "loki.source.kubernetes.<label>" and instance
// "<namespace>/<pod>:<container>" unless the target has them. (A rule matching "" sets a label
// only where it is empty, which in a label set is where it is absent.)
void AddKubernetesSourceDefaults(const std::string& id, Targets* t) {
  YAML::Node job, instance;
  job["source_labels"].push_back("job");
  job["regex"] = "";
  job["replacement"] = id;
  job["target_label"] = "job";
  for (const char* l : {"instance", "__meta_kubernetes_namespace", "__meta_kubernetes_pod_name",
                        "__meta_kubernetes_pod_container_name"}) {
    instance["source_labels"].push_back(l);
  }
  instance["regex"] = ";(.*);(.*);(.*)";
  instance["replacement"] = "$1/$2:$3";
  instance["target_label"] = "instance";
  t->relabel.push_back(job);
  t->relabel.push_back(instance);
}

}  // namespace

Status Loader::Enter(const std::string& id, Pos pos) {
  if (std::ranges::find(chain_, id) != chain_.end()) {
    std::string cycle;
    for (const std::string& c : chain_) cycle += c + " -> ";
    return ErrorAt(pos, fmt::format("reference cycle: {}{}", cycle, id));
  }
  if (chain_.size() >= kMaxChain) return ErrorAt(pos, "components chained too deeply");
  chain_.push_back(id);
  used_.insert(id);
  return Status::Ok();
}

// Components no source reaches are still checked, as Alloy evaluates every component: a typo in
// a pipeline kept for later must not wait for the day it is wired in.
Status Loader::CheckUnused() {
  for (const auto& [id, b] : components_) {
    if (used_.contains(id)) continue;
    chain_.clear();
    const Value capsule =
        Value::MakeCapsule(b->name.starts_with("loki.") ? "receiver" : "targets", id);
    Status s;
    if (b->name == "loki.process" || b->name == "loki.relabel") {
      Targets targets;
      Route route;
      visits_ = 0;
      s = ResolveReceivers(Value::MakeArray({capsule}), b->pos, false, &targets, &route);
      std::vector<StageConfig> stages;
      if (s.ok()) {
        for (const RouteStage& st : EncodeRoute(route)) {
          stages.push_back({st.type, st.body, ""});
          Place(st, &stages.back());
        }
      }
      if (!stages.empty()) cfg_->unused_pipelines.push_back(std::move(stages));
    } else if (b->name == "loki.echo") {
      s = CheckBody(*b, {}, {});
    } else if (b->name == "local.file") {  // Alloy reads it even when nothing uses it
      Result<Value> content = LocalFileContent(*b, b->pos);
      if (!content) s = content.error();
    } else if (b->name == "remote.kubernetes.secret") {  // so is a Secret
      Result<Value> data = SecretData(*b, b->pos);
      if (!data) s = data.error();
    } else if (b->name.starts_with("discovery.") || b->name == "local.file_match") {
      Result<Targets> t = ResolveTargets(capsule, b->pos, 0);
      if (!t) s = t.error();
      // Read as a used one's would be (file patterns, durations), so a mistake in a component
      // nothing reads yet fails now rather than when a source starts to use it.
      if (t && (!t->file_sd.empty() || !t->kubernetes_sd.empty() || !t->docker_sd.empty())) {
        YAML::Node node;
        node["job_name"] = id;
        for (const YAML::Node& sd : t->file_sd) node["file_sd_configs"].push_back(sd);
        for (const YAML::Node& sd : t->kubernetes_sd) node["kubernetes_sd_configs"].push_back(sd);
        for (const YAML::Node& sd : t->docker_sd) node["docker_sd_configs"].push_back(sd);
        ScrapeConfig unused;
        std::vector<std::string> no_warnings;  // about targets nothing reads
        s = internal::ReadScrapeConfig(node, Where(b->pos), id, &unused, &no_warnings);
      }
    }
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

// A discovery.relabel rule after local.file_match that must see each file (Targets::per_file),
// rewritten for the entry: the file's path is its `filename`. Setting __path__ there cannot be
// done per file. Nor can such a rule read a target's meta labels (__meta_*, __tmp_*, ...): the
// target's relabeling dropped them before the file was read, so in skidder the rule would see ""
// where Alloy's sees the value (and a replace would set or remove a label by it), unless an
// earlier rule of the entries (`earlier`) set that label.
Status Loader::ToEntryRule(const Block& rule, const std::vector<YAML::Node>& earlier,
                           YAML::Node* r) const {
  if ((*r)["target_label"] && (*r)["target_label"].Scalar() == "__path__") {
    return ErrorAt(rule.pos,
                   "a rule after local.file_match that reads __path__ runs on each file's "
                   "entries, where __path__ cannot be set again; set it before local.file_match");
  }
  if (YAML::Node sources = (*r)["source_labels"]; sources && sources.IsSequence()) {
    for (YAML::Node l : sources) {
      if (!l.IsScalar()) continue;
      const std::string name = l.Scalar();
      if (name == "__path__") {
        l = "filename";
        continue;
      }
      const bool set_earlier =
          std::any_of(earlier.begin(), earlier.end(), [&](const YAML::Node& e) {
            return e["target_label"] && e["target_label"].Scalar() == name;
          });
      if (name.starts_with("__") && !set_earlier) {
        return ErrorAt(rule.pos,
                       fmt::format("this rule comes after one that reads __path__ behind "
                                   "local.file_match, so it runs on each file's entries, which "
                                   "carry no {}: move it before that rule",
                                   name));
      }
    }
  }
  return Status::Ok();
}

Result<Targets> Loader::ResolveTargets(const Value& v, Pos pos, int depth) {
  Targets t;
  if (v.kind == Value::Kind::kArray) {  // [{"__path__" = "/var/log/*.log", job = "x"}, ...]
    for (const Value& item : *v.array) {
      Result<YAML::Node> labels = ToYaml(item);
      if (!labels || !labels->IsMap()) {
        return Err(ErrorAt(pos,
                           "targets: expected objects of labels, e.g. "
                           "[{\"__path__\" = \"/var/log/*.log\"}]"));
      }
      t.static_labels.push_back(*labels);
    }
    return t;
  }
  if (v.kind != Value::Kind::kCapsule || v.capsule.kind != "targets") {
    return Err(ErrorAt(
        pos, fmt::format("targets: expected a list of targets, got {}", lang::alloy::ToText(v))));
  }
  const Block& b = *Component(v);
  if (Status s = Enter(v.capsule.component, pos); !s.ok()) return Err(std::move(s));
  if (b.name == "discovery.kubernetes") {
    Result<YAML::Node> sd = KubernetesSd(*this, b);
    if (!sd) return Err(sd.error());
    t.kubernetes_sd.push_back(*sd);
  } else if (b.name == "discovery.docker") {
    Result<YAML::Node> sd = DockerSd(*this, b);
    if (!sd) return Err(sd.error());
    t.docker_sd.push_back(*sd);
  } else if (b.name == "discovery.file") {
    Result<YAML::Node> sd = FileSd(*this, b);
    if (!sd) return Err(sd.error());
    t.file_sd.push_back(*sd);
  } else {
    const bool relabel = b.name == "discovery.relabel";
    const char* input = relabel ? "targets" : "path_targets";
    Status s = relabel ? CheckBody(b, {"targets"}, {"rule"})
                       : CheckBody(b, {"path_targets", "sync_period", "ignore_older_than"}, {});
    if (!s.ok()) return Err(std::move(s));
    const Attribute* in = b.Attr(input);
    if (in == nullptr) return Err(ErrorAt(b.pos, fmt::format("{}: {} is required", b.name, input)));
    Result<Value> value = Eval(*in);
    if (!value) return Err(value.error());
    Result<Targets> inner = ResolveTargets(*value, in->pos, depth + 1);
    if (!inner) return inner;
    t = std::move(*inner);
    t.per_file = t.per_file || !relabel;
    for (const Block& rule : b.blocks) {
      Result<YAML::Node> r = RelabelRule(*this, rule);
      if (!r) return Err(r.error());
      if (t.per_file && (!t.entry_relabel.empty() || ReadsLabel(*r, "__path__"))) {
        if (Status s = ToEntryRule(rule, t.entry_relabel, &*r); !s.ok()) return Err(std::move(s));
        if (t.entry_relabel.empty()) t.entry_relabel_pos = b.pos;
        t.entry_relabel.push_back(*r);
        continue;
      }
      t.relabel.push_back(*r);
    }
    if (!relabel) {
      if (Status s = ReadMatchOptions(b); !s.ok()) return Err(std::move(s));
    }
  }
  chain_.pop_back();
  return t;
}

Status Loader::CheckBody(const Block& b, const std::set<std::string>& attrs,
                         const std::set<std::string>& blocks) const {
  for (const Attribute& a : b.attributes) {
    if (!attrs.contains(a.name)) {
      return ErrorAt(a.pos, fmt::format("unknown attribute {} in {}", a.name, b.name));
    }
  }
  for (const Block& nb : b.blocks) {
    bool stage_ok = blocks.contains("stage.*") && nb.name.starts_with("stage.");
    if (!blocks.contains(nb.name) && !stage_ok) {
      return ErrorAt(nb.pos,
                     fmt::format("block {} in {} is not supported by skidder", nb.name, b.name));
    }
  }
  return Status::Ok();
}

// A clustering block: Alloy shares the work of a component among its clustered replicas.
// skidder has no clustering; the caller says with a warning how to run it instead.
Result<bool> Loader::ClusteringEnabled(const Block& nb) {
  if (Status s = CheckBody(nb, {"enabled"}, {}); !s.ok()) return Err(std::move(s));
  const Attribute* enabled = nb.Attr("enabled");
  // Required, as in Alloy (cluster.ComponentBlock): `clustering { }` is an error there.
  if (enabled == nullptr) return Err(ErrorAt(nb.pos, "clustering: enabled is required"));
  Result<Value> on = Eval(*enabled);
  if (!on) return Err(on.error());
  if (on->kind != Value::Kind::kBool) return Err(ErrorAt(enabled->pos, "enabled: expected a bool"));
  return on->boolean;
}

Status Loader::ReadSourceOptions(const Block& b, YAML::Node* node, bool* tail_from_end) {
  for (const Block& nb : b.blocks) {
    if (nb.name == "clustering") {
      // skidder reads each node's pods on that node, so on every node (a DaemonSet) each pod is
      // read once anyway: Grafana's k8s-monitoring chart turns clustering on for its API
      // gather method.
      Result<bool> on = ClusteringEnabled(nb);
      if (!on) return on.error();
      if (*on) {
        cfg_->warnings.push_back(fmt::format(
            "{}: clustering is ignored: skidder reads each node's pods on that node, so run it on "
            "every node (a DaemonSet, as charts/skidder installs it) and each pod is read once",
            Where(nb.pos)));
      }
      continue;
    }
    if (nb.name == "decompression") {
      if (Status s = ReadDecompression(nb, node); !s.ok()) return s;
      continue;
    }
    if (nb.name == "file_match") {
      Status s = CheckBody(nb, {"enabled", "sync_period", "ignore_older_than"}, {});
      if (s.ok()) s = ReadMatchOptions(nb);
      if (!s.ok()) return s;
      continue;
    }
    if (Status s = CheckBody(nb, {"min_poll_frequency", "max_poll_frequency"}, {}); !s.ok()) {
      return s;
    }
    for (const Attribute& a : nb.attributes) {
      Duration* out = a.name == "min_poll_frequency" ? &cfg_->file_watch_config.min_poll_frequency
                                                     : &cfg_->file_watch_config.max_poll_frequency;
      if (Status s = DurationAttr(a, out); !s.ok()) return s;
    }
  }
  for (const Attribute& a : b.attributes) {
    if (a.name == "targets" || a.name == "forward_to") continue;
    Result<Value> v = Eval(a);
    if (!v) return v.error();
    if (a.name == "tail_from_end" && v->kind != Value::Kind::kBool) {
      return ErrorAt(a.pos, "tail_from_end: expected true or false");
    }
    if (a.name == "tail_from_end") *tail_from_end = v->boolean;
    // skidder reads a file whose position cannot be read from its start (no loss; see
    // docs/operations.md, "Positions file corrupt"): Alloy's default, the only one it has.
    if (a.name == "on_positions_file_error" &&
        (v->kind != Value::Kind::kString || v->str != "restart_from_beginning")) {
      return ErrorAt(a.pos,
                     "on_positions_file_error: skidder reads a file whose position is unreadable "
                     "from its start (\"restart_from_beginning\"); \"skip\" and "
                     "\"restart_from_end\" are not supported");
    }
    if (a.name == "encoding") (*node)["encoding"] = lang::alloy::ToText(*v);
    if (a.name == "legacy_positions_file") {
      if (v->kind != Value::Kind::kString) {
        return ErrorAt(a.pos, "legacy_positions_file: expected a file name");
      }
      if (v->str.empty()) continue;  // unset, as in Alloy
      // skidder keeps one positions file: the first named (unless -positions.file names one),
      // into which the others are imported, as Alloy imports each into its component's own.
      std::vector<std::string>& files = cfg_->positions.import_files;
      if (std::find(files.begin(), files.end(), v->str) == files.end()) files.push_back(v->str);
    }
  }
  return Status::Ok();
}

// The options of a local.file_match, and of loki.source.file's file_match block (Alloy 1.11+),
// in which the source expands the globs in its targets' __path__ itself, as a local.file_match
// in front of it would. skidder's targets are always globs, so only sync_period matters (one
// value for the agent); `enabled = false` (absolute paths only) reads the same files, since a
// path without glob characters matches itself.
Status Loader::ReadMatchOptions(const Block& nb) {
  // A file_match block is off unless enabled (Alloy's default): Alloy then neither globs nor
  // rescans, so its other settings do not apply.
  if (nb.name == "file_match") {
    const Attribute* on = nb.Attr("enabled");
    Result<Value> v = on == nullptr ? Value::Bool(false) : Eval(*on);
    if (!v) return v.error();
    if (v->kind != Value::Kind::kBool) return ErrorAt(on->pos, "enabled: expected true or false");
    if (!v->boolean) return Status::Ok();
  }
  for (const Attribute& a : nb.attributes) {
    if (a.name != "sync_period" && a.name != "ignore_older_than") continue;
    Result<Value> v = Eval(a);
    if (!v) return v.error();
    Duration d{0};
    if (v->kind != Value::Kind::kString || !ParseDuration(v->str, &d)) {
      return ErrorAt(a.pos, fmt::format("{}: expected a duration like \"10s\"", a.name));
    }
    if (a.name == "sync_period") {
      if (d <= Duration(0)) return ErrorAt(a.pos, "sync_period: must be positive");
      // Alloy rescans each component at its own period; skidder has one for every glob, and
      // takes the shortest given, so no component rescans less often than it asked.
      if (sync_period_ && *sync_period_ != d) {
        cfg_->warnings.push_back(fmt::format(
            "{}: sync_period {}: skidder rescans every glob at one period; the shortest "
            "given is used",
            Where(a.pos), v->str));
      }
      sync_period_ = sync_period_ ? std::min(*sync_period_, d) : d;
      cfg_->target_config.sync_period = *sync_period_;
    }
    if (a.name == "ignore_older_than" && d != Duration(0)) {
      return ErrorAt(a.pos,
                     "ignore_older_than is not supported by skidder yet: every matched file is "
                     "read (remove it, or set \"0s\")");
    }
  }
  return Status::Ok();
}

// loki.source.file's decompression block, as Promtail's (enabled, initial_delay, format): the
// scrape config's `decompression`, checked here so errors point at the Alloy attribute.
Status Loader::ReadDecompression(const Block& nb, YAML::Node* node) {
  if (Status s = CheckBody(nb, {"enabled", "initial_delay", "format"}, {}); !s.ok()) return s;
  YAML::Node d(YAML::NodeType::Map);
  for (const Attribute& a : nb.attributes) {
    Result<Value> v = Eval(a);
    if (!v) return v.error();
    if (a.name == "enabled") {
      if (v->kind != Value::Kind::kBool) return ErrorAt(a.pos, "enabled: expected true or false");
      d["enabled"] = v->boolean;
    } else if (a.name == "initial_delay") {
      Duration unused;
      if (v->kind != Value::Kind::kString || !ParseDuration(v->str, &unused)) {
        return ErrorAt(a.pos, "initial_delay: expected a duration like \"10s\"");
      }
      d["initial_delay"] = v->str;
    } else {
      if (v->kind != Value::Kind::kString || (v->str != "gz" && v->str != "z" && v->str != "bz2")) {
        return ErrorAt(a.pos, "format: expected \"gz\", \"z\" or \"bz2\"");
      }
      d["format"] = v->str;
    }
  }
  (*node)["decompression"] = d;
  return Status::Ok();
}

Status Loader::DurationAttr(const Attribute& a, Duration* out) {
  Result<Value> v = Eval(a);
  if (!v) return v.error();
  if (v->kind != Value::Kind::kString || !ParseDuration(v->str, out)) {
    return ErrorAt(a.pos, fmt::format("{}: expected a duration like \"250ms\"", a.name));
  }
  return Status::Ok();
}

// The whole route: the targets chain, then the forward_to graph down to the writers.
Status Loader::SourceRoute(const Block& b, Targets* t, Route* route) {
  const Attribute* targets = b.Attr("targets");
  const Attribute* fwd = b.Attr("forward_to");
  if (targets == nullptr) return ErrorAt(b.pos, b.name + ": targets is required");
  if (fwd == nullptr) return ErrorAt(b.pos, b.name + ": forward_to is required");
  chain_ = {Id(b)};
  Result<Value> tv = Eval(*targets);
  if (!tv) return tv.error();
  Result<Targets> resolved = ResolveTargets(*tv, targets->pos, 0);
  if (!resolved) return resolved.error();
  *t = std::move(*resolved);
  if (!t->entry_relabel.empty()) {  // before anything the source forwards to, as in Alloy
    YAML::Node rules(YAML::NodeType::Sequence);
    for (const YAML::Node& r : t->entry_relabel) rules.push_back(r);
    route->stages.push_back({"relabel", rules, t->entry_relabel_pos, "rule"});
  }
  Result<Value> fv = Eval(*fwd);
  if (!fv) return fv.error();
  visits_ = 0;
  return ResolveReceivers(*fv, fwd->pos, true, t, route);
}

Status Loader::ReadSource(const Block& b) {
  const bool kube = b.name == "loki.source.kubernetes";
  Status s = kube ? CheckBody(b, {"targets", "forward_to"}, {"clustering"})
                  : CheckBody(b,
                              {"targets", "forward_to", "encoding", "tail_from_end",
                               "legacy_positions_file", "on_positions_file_error"},
                              {"file_watch", "decompression", "file_match"});
  YAML::Node node;
  bool tail_from_end = false;
  if (s.ok()) s = ReadSourceOptions(b, &node, &tail_from_end);
  Targets t;
  Route route;
  if (s.ok()) s = SourceRoute(b, &t, &route);
  if (!s.ok()) return s;
  if (!t.docker_sd.empty()) {
    return ErrorAt(b.Attr("targets")->pos,
                   fmt::format("{}: targets from discovery.docker are containers, not files: read "
                               "them with loki.source.docker",
                               b.name));
  }
  if (kube) {
    if (t.kubernetes_sd.empty() || !t.static_labels.empty() || !t.file_sd.empty()) {
      return ErrorAt(b.Attr("targets")->pos,
                     "loki.source.kubernetes: targets must come from discovery.kubernetes");
    }
    AddPodLogPaths(&t);
    AddKubernetesSourceDefaults(Id(b), &t);
    // Lines streamed from the API carry neither the file source's `filename` nor the cri stage's
    // `stream`: without them skidder's streams are Alloy's, and dashboards keep matching.
    YAML::Node unlabel(YAML::NodeType::Sequence);
    unlabel.push_back("filename");
    unlabel.push_back("stream");
    // A new vector, not insert() at the front: shifting elements assigns YAML::Nodes, and a
    // Node's assignment writes through to the node it refers to (yaml-cpp's reference
    // semantics), which gave stages each other's bodies.
    // Nor does it extract anything: what the cri stage extracts is forgotten (reset_extracted),
    // or a stage.labels of `stream` and `flags` (k8s-monitoring's) would make them labels.
    std::vector<RouteStage> stages = {
        {"cri", YAML::Node(YAML::NodeType::Map), b.pos, b.name},
        {"labeldrop", unlabel, b.pos, b.name},
        {"reset_extracted", YAML::Node(YAML::NodeType::Map), b.pos, b.name}};
    stages.insert(stages.end(), route.stages.begin(), route.stages.end());
    route.stages = std::move(stages);
  }
  for (const YAML::Node& sd : t.kubernetes_sd) node["kubernetes_sd_configs"].push_back(sd);
  for (const YAML::Node& sd : t.file_sd) node["file_sd_configs"].push_back(sd);
  for (const YAML::Node& labels : t.static_labels) {
    YAML::Node sc;
    sc["targets"].push_back("localhost");
    sc["labels"] = labels;
    node["static_configs"].push_back(sc);
  }
  if (Status st = AddScrapeConfig(b, std::move(node), t, route); !st.ok()) return st;
  cfg_->scrape_configs.back().tail_from_end = tail_from_end;
  return Status::Ok();
}

// Names the job, adds the route's stages and the relabel rules to node, reads it as a Promtail
// scrape config and appends it; stage errors point at their Alloy blocks.
Status Loader::AddScrapeConfig(const Block& b, YAML::Node node, const Targets& t,
                               const Route& route, const Block* part, const std::string& job) {
  // The label (and the part's suffix) if no other job has it, else the component's id, else
  // that with a number: metrics and the pipeline's state are per job, so names must not repeat.
  auto taken = [&](const std::string& n) {
    return std::ranges::any_of(cfg_->scrape_configs,
                               [&](const ScrapeConfig& sc) { return sc.job_name == n; });
  };
  const std::string suffix = job.empty() ? "" : job.substr(b.label.size());
  std::string name = b.label + suffix;
  if (taken(name)) name = Id(b) + suffix;
  for (int n = 2; taken(name); ++n) name = fmt::format("{}{}#{}", Id(b), suffix, n);
  node["job_name"] = name;
  const std::vector<RouteStage> stages = EncodeRoute(route);
  for (const RouteStage& st : stages) {
    YAML::Node item;
    item[st.type] = st.body;
    node["pipeline_stages"].push_back(item);
  }
  for (const YAML::Node& r : t.relabel) node["relabel_configs"].push_back(r);
  ScrapeConfig sc;
  const std::string path = part == nullptr ? Id(b) : Id(b) + "." + part->name;
  Status s = internal::ReadScrapeConfig(node, Where((part == nullptr ? b : *part).pos), path, &sc,
                                        &cfg_->warnings);
  if (!s.ok()) return s;
  sc.origin = fmt::format("{}: {}", Where((part == nullptr ? b : *part).pos), path);
  for (size_t i = 0; i < sc.pipeline_stages.size() && i < stages.size(); ++i) {
    Place(stages[i], &sc.pipeline_stages[i]);
  }
  cfg_->scrape_configs.push_back(std::move(sc));
  return Status::Ok();
}

}  // namespace skidder::config::alloy_internal
