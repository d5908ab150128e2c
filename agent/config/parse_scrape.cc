// scrape_configs[]: which files to tail (static globs or Kubernetes pods), how to relabel the
// targets, and the raw pipeline stages (their bodies are checked by the pipeline registry). The
// fields are read from their lists (fields.h); here are the checks across them, the sources
// skidder refuses, and the kubernetes_sd_configs checks (the receivers' are in
// parse_receivers.cc).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "config/field_reader.h"
#include "util/kube_names.h"

namespace skidder::config::internal {
namespace {

// Promtail sources and discoveries skidder will not have, with what to use instead.
struct Refusal {
  std::string_view key, instead;
};
constexpr std::string_view kLocalFiles =
    "run skidder on each host (a DaemonSet or a systemd unit) and tail the local files with "
    "static_configs, or kubernetes_sd_configs for pods";
constexpr Refusal kNotPlanned[] = {
    {"ec2_sd_configs", kLocalFiles},
    {"gce_sd_configs", kLocalFiles},
    {"azure_sd_configs", kLocalFiles},
    {"openstack_sd_configs", kLocalFiles},
    {"digitalocean_sd_configs", kLocalFiles},
    {"consul_sd_configs", kLocalFiles},
    {"consulagent_sd_configs", kLocalFiles},
    {"dns_sd_configs", kLocalFiles},
    {"dockerswarm_sd_configs", kLocalFiles},
    {"marathon_sd_configs", kLocalFiles},
    {"nerve_sd_configs", kLocalFiles},
    {"serverset_sd_configs", kLocalFiles},
    {"triton_sd_configs", kLocalFiles},
    {"gcplog", "use Grafana Alloy's loki.source.gcplog for Google Cloud Pub/Sub"},
    {"kafka", "use Grafana Alloy's loki.source.kafka"},
    {"cloudflare", "use Grafana Alloy's loki.source.cloudflare"},
    {"azure_event_hubs", "use Grafana Alloy's loki.source.azure_event_hubs"},
    {"windows_events", "skidder runs on Linux only; use Grafana Alloy's loki.source.windowsevent"},
};

// Every Promtail source and discovery skidder does not implement: refused by name, so a config
// never silently collects less than it did under Promtail.
void RefuseUnsupportedSources(MapReader& r) {
  // Being built: their message stays "not supported by skidder yet".
  RefuseUnsupported(r, {"push"});
  for (const Refusal& no : kNotPlanned) {
    if (!r.Has(no.key)) continue;
    r.Node(no.key);
    r.Fail(no.key, fmt::format("{} is not supported by skidder: {} (see "
                               "docs/migrate-from-promtail.md)",
                               Quote(no.key), no.instead));
  }
}

// `authorization` of type Bearer is what bearer_token(_file) says in the older spelling; the
// discovery sends only Bearer tokens.
Status BearerFromAuthorization(MapReader& r, HttpClientConfig* out, std::string_view section) {
  if (!out->authorization) return Status::Ok();
  if (out->authorization->type != "Bearer") {
    const YAML::Node node = r.Node("authorization");
    const YAML::Node type = node["type"];
    return ErrorAt(r.file(), type.IsDefined() ? type : node, r.Sub("authorization") + ".type",
                   fmt::format("only Bearer is supported on {}, not {}", section,
                               Quote(out->authorization->type)));
  }
  out->bearer_token = out->authorization->credentials;
  out->bearer_token_file = out->authorization->credentials_file;
  out->authorization.reset();
  return Status::Ok();
}

// Static configs without __path__ (when no relabel rule sets one) are dropped with a warning, as
// Promtail drops their targets; so are the targets of kubernetes_sd_configs.
void DropTargetsWithoutPath(MapReader& r, ScrapeConfig* out, std::vector<std::string>* warnings) {
  const bool relabel_sets_path = std::ranges::any_of(
      out->relabel_configs, [](const RelabelConfig& rc) { return rc.target_label == "__path__"; });
  if (relabel_sets_path) return;
  auto where = [&](std::string_view key, size_t i) {
    const YAML::Node list = r.Node(key);  // const: operator[] must not add to the document
    const YAML::Mark mark = list[i].Mark();
    // YAML an Alloy config was translated into has no marks: its file names the block already.
    if (mark.is_null()) return fmt::format("{}: {}[{}]", r.file(), r.Sub(key), i);
    return fmt::format("{}:{}:{}: {}[{}]", r.file(), mark.line + 1, mark.column + 1, r.Sub(key), i);
  };
  std::vector<StaticConfig> kept;
  for (size_t i = 0; i < out->static_configs.size(); ++i) {
    if (out->static_configs[i].labels.Has("__path__")) {
      kept.push_back(std::move(out->static_configs[i]));
      continue;
    }
    warnings->push_back(where("static_configs", i) +
                        ": has no __path__ label and no relabel rule sets one: its targets are "
                        "dropped, as Promtail does (add a __path__ glob such as /var/log/*.log "
                        "to tail files)");
  }
  out->static_configs = std::move(kept);
  for (size_t i = 0; i < out->kubernetes_sd_configs.size(); ++i) {
    // Discovered objects carry no __path__: only a rule can name a file.
    warnings->push_back(
        fmt::format("{}: role {}: no relabel rule sets __path__: its targets are "
                    "dropped, as Promtail does",
                    where("kubernetes_sd_configs", i), out->kubernetes_sd_configs[i].role));
  }
}

// Promtail hands a scrape config with static_configs, file_sd_configs or kubernetes_sd_configs
// to its file target manager, which ignores docker_sd_configs beside them (they are read only in
// a scrape config of their own): such a job reads the files here too, with a warning.
void IgnoreDockerBesideFiles(MapReader& r, ScrapeConfig* out, std::vector<std::string>* warnings) {
  if (out->docker_sd_configs.empty() ||
      (out->static_configs.empty() && out->file_sd_configs.empty() &&
       out->kubernetes_sd_configs.empty())) {
    return;
  }
  out->docker_sd_configs.clear();
  warnings->push_back(
      ErrorAt(r.file(), r.Node("docker_sd_configs"), r.Sub("docker_sd_configs"),
              "ignored beside static_configs, file_sd_configs or kubernetes_sd_configs, as "
              "Promtail ignores it: this scrape config reads files (move docker_sd_configs to a "
              "scrape config of its own to read containers through the Docker API)")
          .message());
}

// A scrape config reads from one kind of source.
void CheckOneSource(MapReader& r, const ScrapeConfig* out, bool dropped) {
  if (out->job_name.empty()) r.Fail("job_name", "is required");
  std::string enc = out->encoding;
  std::ranges::transform(enc, enc.begin(), [](unsigned char c) { return std::tolower(c); });
  if (!enc.empty() && enc != "utf-8" && enc != "utf8") {
    r.Fail("encoding", fmt::format("encoding {} is not supported by skidder yet; only utf-8 is",
                                   Quote(out->encoding)));
  }
  const bool has_sd = !out->kubernetes_sd_configs.empty() || !out->file_sd_configs.empty();
  if (out->journal && (!out->static_configs.empty() || has_sd)) {
    r.Fail("journal",
           "a scrape config reads either the journal or files: move static_configs, "
           "file_sd_configs and kubernetes_sd_configs to a scrape config of their own");
  }
  if (out->journal && !out->docker_sd_configs.empty()) {
    r.Fail("journal",
           "a scrape config reads either the journal or Docker containers: move "
           "docker_sd_configs to a scrape config of their own");
  }
  const bool docker = !out->docker_sd_configs.empty();  // not beside files (see above)
  if (out->syslog && (out->journal || !out->static_configs.empty() || has_sd || docker)) {
    r.Fail("syslog",
           "a scrape config with syslog reads nothing else: move static_configs, "
           "file_sd_configs, kubernetes_sd_configs, docker_sd_configs and journal to scrape "
           "configs of their own");
  }
  const bool files = !out->static_configs.empty() || has_sd;
  if (out->gelf && (out->journal || out->syslog || files || docker)) {
    r.Fail("gelf",
           "a scrape config with gelf reads nothing else: move static_configs, "
           "kubernetes_sd_configs, file_sd_configs, docker_sd_configs, journal and syslog to "
           "scrape configs of their own");
  }
  if (out->push && (out->journal || out->syslog || out->gelf || files || docker)) {
    r.Fail("loki_push_api",
           "a scrape config with loki_push_api reads nothing else: move static_configs, "
           "kubernetes_sd_configs, file_sd_configs, docker_sd_configs, journal, syslog and gelf "
           "to scrape configs of their own");
  }
  if (out->heroku && (out->push || out->journal || out->syslog || out->gelf || files || docker)) {
    r.Fail("heroku_drain",
           "a scrape config with heroku_drain reads nothing else: move static_configs, "
           "kubernetes_sd_configs, file_sd_configs, docker_sd_configs, journal, syslog, gelf and "
           "loki_push_api to scrape configs of their own");
  }
  const bool events = out->kubernetes_events.has_value();
  if (events &&
      (out->heroku || out->push || out->journal || out->syslog || out->gelf || files || docker)) {
    r.Fail("kubernetes_events",
           "a scrape config with kubernetes_events reads nothing else: move the other sources to "
           "scrape configs of their own");
  }
  if (!files && !docker && !out->journal && !out->syslog && !out->gelf && !out->push &&
      !out->heroku && !events && !dropped) {
    r.Fail("static_configs",
           "nothing to tail: add static_configs (with a __path__ glob), file_sd_configs, "
           "kubernetes_sd_configs, docker_sd_configs, journal, syslog, gelf, loki_push_api, "
           "heroku_drain or kubernetes_events");
  }
}

}  // namespace

Status ReadStages(const YAML::Node& list, const std::string& file, const std::string& path,
                  std::vector<StageConfig>* out) {
  return ForEachItem(list, file, path, [&](const YAML::Node& item, const std::string& p) {
    if (!item.IsMap() || item.size() != 1) {
      std::string found =
          item.IsMap() ? fmt::format("a mapping with {} keys", item.size()) : Describe(item);
      return ErrorAt(file, item, p,
                     fmt::format("a stage must be a mapping with one key, the stage type "
                                 "(e.g. `- cri: {{}}`), got {}",
                                 found));
    }
    auto it = item.begin();
    if (!it->first.IsScalar()) return ErrorAt(file, it->first, p, "stage type must be a string");
    out->push_back(StageConfig{it->first.Scalar(), it->second, file});
    return Status::Ok();
  });
}

// The checks of one kubernetes_sd_config once its fields are read.
Status Validate(MapReader& r, KubernetesSdConfig& k) {
  ValidateHttpClient(r, k);
  if (Status s = BearerFromAuthorization(r, &k, "kubernetes_sd_configs"); !s.ok()) return s;
  static constexpr std::string_view kRoles[] = {"pod",       "node",          "service",
                                                "endpoints", "endpointslice", "ingress"};
  if (std::ranges::find(kRoles, k.role) == std::end(kRoles)) {
    r.Fail("role", fmt::format("unknown role {}; use one of pod, node, service, endpoints, "
                               "endpointslice, ingress",
                               Quote(k.role)));
  }
  for (const KubernetesSdConfig::Selector& sel : k.selectors) {
    // Prometheus also takes pod and service selectors for endpoints(lice): they filter the pods
    // and services it watches beside them for extra labels. skidder watches those unfiltered, so
    // such a selector is refused rather than silently ignored.
    if (sel.role != k.role) {
      r.Fail("selectors", fmt::format("selector role {} is not supported for role {}: skidder "
                                      "applies only selectors of the discovery's own role",
                                      Quote(sel.role), Quote(k.role)));
    }
  }
  if (!k.api_server.empty()) {
    if (std::string why = CheckHttpUrl(k.api_server); !why.empty()) r.Fail("api_server", why);
    if (!k.kubeconfig_file.empty()) {
      r.Fail("kubeconfig_file", "set either api_server or kubeconfig_file, not both");
    }
  }
  return Status::Ok();
}

Status Validate(MapReader& r, KubernetesEventsConfig& e) {
  ValidateHttpClient(r, e);
  if (Status s = BearerFromAuthorization(r, &e, "kubernetes_events"); !s.ok()) return s;
  if (!e.api_server.empty()) {
    if (std::string why = CheckHttpUrl(e.api_server); !why.empty()) r.Fail("api_server", why);
    if (!e.kubeconfig_file.empty()) {
      r.Fail("kubeconfig_file", "set either api_server or kubeconfig_file, not both");
    }
  }
  if (e.log_format != "logfmt" && e.log_format != "json") {
    r.Fail("log_format",
           fmt::format("unknown log_format {}; use logfmt or json", Quote(e.log_format)));
  }
  std::set<std::string> seen;
  for (const std::string& ns : e.namespaces) {
    if (!IsDnsLabel(ns)) {  // it goes into the request path
      r.Fail("namespaces", fmt::format("{} is not a Kubernetes namespace name (lower-case letters, "
                                       "digits and '-')",
                                       Quote(ns)));
    } else if (!seen.insert(ns).second) {
      r.Fail("namespaces", fmt::format("namespace {} is listed twice", Quote(ns)));
    }
  }
  return Status::Ok();
}

// A selector's role is checked against its discovery's role, in Validate(KubernetesSdConfig).
void Validate(MapReader&, KubernetesSdConfig::Selector&) {}

Status ReadScrapeConfig(const YAML::Node& node, const std::string& file, const std::string& path,
                        ScrapeConfig* out, std::vector<std::string>* warnings) {
  MapReader r(node, file, path);
  RefuseUnsupportedSources(r);
  FieldReader fields(r);
  Fields(fields, *out);
  if (!fields.status().ok()) return fields.status();
  IgnoreDockerBesideFiles(r, out, warnings);
  const size_t warned = warnings->size();
  DropTargetsWithoutPath(r, out, warnings);
  CheckOneSource(r, out, warnings->size() != warned);
  return r.Finish();
}

}  // namespace skidder::config::internal
