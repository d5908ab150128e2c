// Alloy blocks -> the YAML nodes of Promtail's schema that the existing readers (and the stage
// registry) already validate and build. Alloy's attribute names are mostly Promtail's keys;
// where they differ the mapping is spelled out here.
#include <fmt/format.h>

#include "config/alloy_internal.h"
#include "config/sections.h"

namespace skidder::config::alloy_internal {
namespace {

YAML::Node EmptyMap() { return YAML::Node(YAML::NodeType::Map); }

// Moves a key of node to another name (nothing when absent). The value node itself moves, not
// a YAML::Clone: a clone carries the mark 1:1, which errors then printed after the block's
// position ("c.alloy:6:3:1:1: ...").
void Rename(YAML::Node& node, const std::string& from, const std::string& to) {
  if (!node[from]) return;
  YAML::Node value = node[from];
  node.remove(from);
  node[to] = value;
}

// stage.labels { values = { level = "" } }: an empty source means the label's own name, which
// Promtail's YAML writes as a null value.
YAML::Node NullForEmpty(const YAML::Node& map) {
  YAML::Node out = EmptyMap();
  for (const auto& kv : map) {
    bool empty = kv.second.IsScalar() && kv.second.Scalar().empty();
    out[kv.first.Scalar()] = empty ? YAML::Node(YAML::NodeType::Null) : kv.second;
  }
  return out;
}

// stage.* blocks that are Promtail's stage of the same name with the same keys.
const std::set<std::string> kSameKeys = {"cri",       "docker",     "json",
                                         "regex",     "logfmt",     "multiline",
                                         "timestamp", "output",     "drop",
                                         "limit",     "template",   "replace",
                                         "pack",      "tenant",     "decolorize",
                                         "sampling",  "geoip",      "luhn",
                                         "pattern",   "split_json", "structured_metadata_regex"};

// stage.labels { values = {...} } and friends: the body is the `values` attribute alone.
Result<YAML::Node> ValuesOnly(Loader& l, const Block& stage, bool null_for_empty) {
  for (const Attribute& a : stage.attributes) {
    if (a.name != "values") {
      return Err(l.ErrorAt(a.pos, fmt::format("unknown attribute {} in {}", a.name, stage.name)));
    }
  }
  const Attribute* values = stage.Attr("values");
  // Missing: empty (Alloy's default for most of these blocks; structured_metadata_drop requires
  // it), and the stage says whether that is valid ("expected a non-empty list ...").
  if (values == nullptr) {
    bool list = stage.name == "stage.label_drop" || stage.name == "stage.label_keep" ||
                stage.name == "stage.structured_metadata_drop";
    return YAML::Node(list ? YAML::NodeType::Sequence : YAML::NodeType::Map);
  }
  Result<Value> v = l.Eval(*values);
  if (!v) return Err(v.error());
  Result<YAML::Node> node = ToYaml(*v);
  if (!node) return Err(l.ErrorAt(values->pos, node.error().message()));
  return null_for_empty && node->IsMap() ? NullForEmpty(*node) : *node;
}

// stage.metrics { metric.counter { name = "x" ... } }: Promtail keys metrics by name, with the
// type-specific settings under `config`.
Result<YAML::Node> Metrics(Loader& l, const Block& stage) {
  YAML::Node out = EmptyMap();
  for (const Attribute& a : stage.attributes) {
    return Err(l.ErrorAt(a.pos, fmt::format("unknown attribute {} in stage.metrics", a.name)));
  }
  static const std::map<std::string, std::string> kTypes = {
      {"metric.counter", "Counter"}, {"metric.gauge", "Gauge"}, {"metric.histogram", "Histogram"}};
  for (const Block& m : stage.blocks) {
    auto type = kTypes.find(m.name);
    if (type == kTypes.end()) {
      return Err(l.ErrorAt(m.pos, fmt::format("unknown block {} in stage.metrics", m.name)));
    }
    Result<YAML::Node> attrs = l.AttrsToYaml(m);
    if (!attrs) return attrs;
    if (!(*attrs)["name"]) return Err(l.ErrorAt(m.pos, m.name + ": name is required"));
    YAML::Node metric = EmptyMap(), config = EmptyMap();
    metric["type"] = type->second;
    for (const auto& kv : *attrs) {
      const std::string key = kv.first.Scalar();
      if (key == "name") continue;
      bool top =
          key == "description" || key == "prefix" || key == "max_idle_duration" || key == "source";
      (top ? metric : config)[key] = kv.second;
    }
    // Alloy names custom metrics loki_process_custom_<name> (Promtail: promtail_custom_).
    if (!metric["prefix"]) metric["prefix"] = "loki_process_custom_";
    metric["config"] = config;
    out[(*attrs)["name"].Scalar()] = metric;
  }
  return out;
}

Result<YAML::Node> Match(Loader& l, const Block& stage, int depth) {
  std::set<std::string> nested;
  for (const Block& b : stage.blocks) nested.insert(b.name);
  Result<YAML::Node> body = l.AttrsToYaml(stage, {}, nested);
  if (!body) return body;
  YAML::Node stages(YAML::NodeType::Sequence);
  for (const Block& b : stage.blocks) {
    Result<std::pair<std::string, YAML::Node>> s = Stage(l, b, depth + 1);
    if (!s) return Err(s.error());
    YAML::Node item = EmptyMap();
    item[s->first] = s->second;
    stages.push_back(item);
  }
  if (stages.size() > 0) (*body)["stages"] = stages;
  return body;
}

}  // namespace

Status Authorization(Loader& l, const Block& block, const YAML::Node& attrs, YAML::Node* out) {
  if (attrs["type"] && attrs["type"].Scalar() != "Bearer") {
    return l.ErrorAt(block.pos, "authorization: only type \"Bearer\" is supported by skidder");
  }
  for (const auto& kv : attrs) {
    const std::string key = kv.first.Scalar();
    if (key == "credentials") {
      (*out)["bearer_token"] = kv.second;
    } else if (key == "credentials_file") {
      (*out)["bearer_token_file"] = kv.second;
    } else if (key != "type") {
      return l.ErrorAt(block.pos, fmt::format("unknown attribute {} in authorization", key));
    }
  }
  return Status::Ok();
}

Result<YAML::Node> ToYaml(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNull:
      return YAML::Node(YAML::NodeType::Null);
    case Value::Kind::kBool:
      return YAML::Node(v.boolean ? "true" : "false");
    case Value::Kind::kNumber:
      return YAML::Node(lang::alloy::FormatNumber(v.number));
    case Value::Kind::kString:
      return YAML::Node(v.str);
    case Value::Kind::kArray: {
      YAML::Node out(YAML::NodeType::Sequence);
      for (const Value& item : *v.array) {
        Result<YAML::Node> n = ToYaml(item);
        if (!n) return n;
        out.push_back(*n);
      }
      return out;
    }
    case Value::Kind::kObject: {
      YAML::Node out = EmptyMap();
      for (const auto& [k, item] : *v.object) {
        Result<YAML::Node> n = ToYaml(item);
        if (!n) return n;
        out[k] = *n;
      }
      return out;
    }
    case Value::Kind::kCapsule:
      break;
  }
  return Err(InvalidArgument(
      fmt::format("{}.{} is a component's export, not a value that can be used here",
                  v.capsule.component, v.capsule.kind)));
}

Result<YAML::Node> ClientBlock(Loader& l, const Block& nb) {
  if (nb.name == "tls_config") return l.TlsConfigToYaml(nb);
  const bool oauth2 = nb.name == "oauth2";  // its own tls_config, for the token URL
  Result<YAML::Node> sub =
      l.AttrsToYaml(nb, {}, oauth2 ? std::set<std::string>{"tls_config"} : std::set<std::string>{});
  if (!sub) return sub;
  for (const Block& inner : nb.blocks) {
    if ((*sub)[inner.name]) {
      return Err(l.ErrorAt(inner.pos, fmt::format("{}: {} is given twice", nb.name, inner.name)));
    }
    Result<YAML::Node> tls = l.TlsConfigToYaml(inner);
    if (!tls) return tls;
    (*sub)[inner.name] = *tls;
  }
  return sub;
}

Result<YAML::Node> KubernetesSd(Loader& l, const Block& b) {
  Result<YAML::Node> node = l.AttrsToYaml(b, {},
                                          {"namespaces", "selectors", "tls_config", "authorization",
                                           "basic_auth", "oauth2", "attach_metadata"});
  if (!node) return node;
  for (const Block& nb : b.blocks) {
    Result<YAML::Node> sub = ClientBlock(l, nb);
    if (!sub) return sub;
    if (nb.name == "selectors") {
      (*node)["selectors"].push_back(*sub);
    } else if (nb.name == "authorization") {
      if (Status s = Authorization(l, nb, *sub, &*node); !s.ok()) return Err(std::move(s));
    } else {
      (*node)[nb.name] = *sub;  // basic_auth, oauth2, attach_metadata, ...: as in YAML
    }
  }
  return node;
}

// discovery.file as one file_sd_configs item: Prometheus's file discovery, which skidder runs
// for Promtail (discovery/file_sd): the same keys, and Alloy's refresh_interval default (5m) is
// Promtail's too. Each target carries __meta_filepath, as in Alloy.
Result<YAML::Node> FileSd(Loader& l, const Block& b) {
  if (Status s = l.CheckBody(b, {"files", "refresh_interval"}, {}); !s.ok()) {
    return Err(std::move(s));
  }
  if (b.Attr("files") == nullptr) {
    return Err(l.ErrorAt(b.pos,
                         "discovery.file: files is required, e.g. files = "
                         "[\"/etc/alloy/targets/*.json\"]"));
  }
  return l.AttrsToYaml(b);
}

// A rule block as Promtail's relabel_configs item, checked here (action, regex, target) so that
// an error names the rule's own line, used or not, rather than the source that reads it later.
Result<YAML::Node> RelabelRule(Loader& l, const Block& rule) {
  Result<YAML::Node> node = l.AttrsToYaml(rule);
  if (!node) return node;
  RelabelConfig checked;
  if (Status s = internal::ReadRelabelConfig(*node, l.Where(rule.pos), "rule", &checked); !s.ok()) {
    return Err(std::move(s));
  }
  return node;
}

bool ReadsLabel(const YAML::Node& rule, std::string_view label) {
  if (const YAML::Node sources = rule["source_labels"]; sources && sources.IsSequence()) {
    for (const YAML::Node& l : sources) {
      if (l.IsScalar() && l.Scalar() == label) return true;
    }
  }
  return false;
}

Result<std::vector<YAML::Node>> Endpoints(Loader& l, const Block& write) {
  std::vector<YAML::Node> out;
  for (const Block& ep : write.blocks) {
    if (ep.name != "endpoint") {
      return Err(l.ErrorAt(ep.pos, fmt::format("{} in loki.write is not supported by skidder, "
                                               "which keeps unsent lines on disk without a WAL; "
                                               "only endpoint blocks are",
                                               ep.name)));
    }
    Result<YAML::Node> node =
        l.AttrsToYaml(ep, {{"batch_wait", "batchwait"}, {"remote_timeout", "timeout"}},
                      {"basic_auth", "tls_config", "authorization"});
    if (!node) return Err(node.error());
    YAML::Node& n = *node;
    for (const Block& nb : ep.blocks) {
      Result<YAML::Node> sub = nb.name == "tls_config" ? l.TlsConfigToYaml(nb) : l.AttrsToYaml(nb);
      if (!sub) return Err(sub.error());
      if (nb.name == "authorization") {
        if (Status s = Authorization(l, nb, *sub, &n); !s.ok()) return Err(std::move(s));
      } else {
        n[nb.name] = *sub;  // basic_auth and tls_config have Promtail's keys
      }
    }
    if (YAML::Node size = n["batch_size"]) {  // "1MiB" in Alloy, bytes in the struct
      int64_t bytes = 0;
      if (!size.IsScalar() || !internal::ParseByteSize(size.Scalar(), &bytes)) {
        return Err(l.ErrorAt(ep.Attr("batch_size")->pos, "batch_size: expected a size like 1MiB"));
      }
      n.remove("batch_size");
      n["batchsize"] = std::to_string(bytes);
    }
    Rename(n, "min_backoff_period", "min_period");
    Rename(n, "max_backoff_period", "max_period");
    Rename(n, "max_backoff_retries", "max_retries");
    for (const char* key : {"min_period", "max_period", "max_retries"}) {
      if (n[key]) {
        YAML::Node value = n[key];  // (not a clone: see Rename)
        n.remove(key);
        n["backoff_config"][key] = value;
      }
    }
    if (YAML::Node retry = n["retry_on_http_429"]) {
      n["drop_rate_limited_batches"] = retry.Scalar() == "true" ? "false" : "true";
      n.remove("retry_on_http_429");
    }
    n.remove("name");  // a display name only
    out.push_back(n);
  }
  if (out.empty()) return Err(l.ErrorAt(write.pos, "loki.write needs at least one endpoint block"));
  return out;
}

Result<std::pair<std::string, YAML::Node>> Stage(Loader& l, const Block& stage, int depth) {
  if (!stage.name.starts_with("stage.")) {
    return Err(l.ErrorAt(stage.pos, fmt::format("unknown block {} in a pipeline", stage.name)));
  }
  const std::string type = stage.name.substr(6);
  Result<YAML::Node> body = Err(Status::Ok());
  std::string promtail = type;
  if (kSameKeys.contains(type)) {
    body = l.AttrsToYaml(stage);
    // Alloy's stage.drop splits source on ',' (splitSource: no trimming) and drops only when
    // every named value is extracted; Promtail's string is one key, its list that meaning.
    if (type == "drop" && body && (*body)["source"] && (*body)["source"].IsScalar()) {
      const std::string source = (*body)["source"].Scalar();
      if (source.find(',') != std::string::npos) {
        YAML::Node list(YAML::NodeType::Sequence);
        for (size_t start = 0;;) {
          const size_t comma = source.find(',', start);
          list.push_back(source.substr(start, comma - start));
          if (comma == std::string::npos) break;
          start = comma + 1;
        }
        (*body)["source"] = list;
      }
    }
  } else if (type == "labels" || type == "structured_metadata") {
    body = ValuesOnly(l, stage, true);
  } else if (type == "static_labels" || type == "structured_metadata_drop") {
    body = ValuesOnly(l, stage, false);
  } else if (type == "label_drop" || type == "label_keep") {
    promtail = type == "label_drop" ? "labeldrop" : "labelallow";
    body = ValuesOnly(l, stage, false);
  } else if (type == "match") {
    body = Match(l, stage, depth);
  } else if (type == "metrics") {
    body = Metrics(l, stage);
  } else if (type == "truncate") {  // rule blocks -> rules: [...]
    body = l.AttrsToYaml(stage, {}, {"rule"});
    for (const Block& rule : stage.blocks) {
      Result<YAML::Node> r = body ? l.AttrsToYaml(rule) : body;
      if (!r) return Err(r.error());
      (*body)["rules"].push_back(*r);
    }
  } else {
    return Err(l.ErrorAt(stage.pos, fmt::format("{} is not supported by skidder yet", stage.name)));
  }
  if (!body) return Err(body.error());
  if (body->IsMap() && body->size() == 0) body->SetStyle(YAML::EmitterStyle::Flow);  // `cri: {}`
  l.NoteStage(*body, stage.pos, stage.name);
  return std::pair{promtail, *body};
}

}  // namespace skidder::config::alloy_internal
