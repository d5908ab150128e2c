// scrape_configs[]: which files to tail (static globs or Kubernetes pods), how to relabel the
// targets, and the raw pipeline stages (their bodies are checked by the pipeline registry).
#include <fmt/format.h>

#include <algorithm>

#include "config/field_reader.h"

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
    {"gelf", "use Grafana Alloy's loki.source.gelf"},
    {"cloudflare", "use Grafana Alloy's loki.source.cloudflare"},
    {"heroku_drain", "use Grafana Alloy's loki.source.heroku"},
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

Status ReadStatic(const YAML::Node& node, const std::string& file, const std::string& path,
                  bool relabel_sets_path, StaticConfig* out, std::string* dropped) {
  MapReader r(node, file, path);
  FieldReader fields(r);
  Fields(fields, *out);
  if (!fields.status().ok()) return fields.status();
  Status s = r.Finish();
  // Promtail accepts such a config and drops its targets (they name no file); so do we, aloud.
  if (s.ok() && !out->labels.Has("__path__") && !relabel_sets_path) {
    *dropped = fmt::format(
        "{}:{}:{}: {}: has no __path__ label and no relabel rule sets one: its targets are "
        "dropped, as Promtail does (add a __path__ glob such as /var/log/*.log to tail files)",
        file, node.Mark().line + 1, node.Mark().column + 1, path);
  }
  return s;
}

// `authorization` of type Bearer is what bearer_token(_file) says in the older spelling; the
// discovery sends only Bearer tokens.
Status BearerFromAuthorization(MapReader& r, KubernetesSdConfig* out) {
  if (!out->authorization) return Status::Ok();
  if (out->authorization->type != "Bearer") {
    const YAML::Node node = r.Node("authorization");
    const YAML::Node type = node["type"];
    return ErrorAt(r.file(), type.IsDefined() ? type : node, r.Sub("authorization") + ".type",
                   fmt::format("only Bearer is supported on kubernetes_sd_configs, not {}",
                               Quote(out->authorization->type)));
  }
  out->bearer_token = out->authorization->credentials;
  out->bearer_token_file = out->authorization->credentials_file;
  out->authorization.reset();
  return Status::Ok();
}

Status ReadKubernetes(const YAML::Node& node, const std::string& file, const std::string& path,
                      KubernetesSdConfig* out) {
  MapReader r(node, file, path);
  // The API server does not redirect, and HTTP/2 is libcurl's choice: both are accepted. Without
  // proxy_url the API connection already honours the *_proxy environment variables.
  // attach_metadata is ignored by roles without node metadata, as in Prometheus.
  FieldReader fields(r);
  Fields(fields, *out);
  if (!fields.status().ok()) return fields.status();
  ValidateHttpClient(r, *out);
  if (Status s = BearerFromAuthorization(r, out); !s.ok()) return s;
  static constexpr std::string_view kRoles[] = {"pod",       "node",          "service",
                                                "endpoints", "endpointslice", "ingress"};
  if (std::ranges::find(kRoles, out->role) == std::end(kRoles)) {
    r.Fail("role", fmt::format("unknown role {}; use one of pod, node, service, endpoints, "
                               "endpointslice, ingress",
                               Quote(out->role)));
  }
  for (const KubernetesSdConfig::Selector& sel : out->selectors) {
    // Prometheus also takes pod and service selectors for endpoints(lice): they filter the pods
    // and services it watches beside them for extra labels. skidder watches those unfiltered, so
    // such a selector is refused rather than silently ignored.
    if (sel.role != out->role) {
      r.Fail("selectors", fmt::format("selector role {} is not supported for role {}: skidder "
                                      "applies only selectors of the discovery's own role",
                                      Quote(sel.role), Quote(out->role)));
    }
  }
  if (!out->api_server.empty()) {
    if (std::string why = CheckHttpUrl(out->api_server); !why.empty()) r.Fail("api_server", why);
    if (!out->kubeconfig_file.empty()) {
      r.Fail("kubeconfig_file", "set either api_server or kubeconfig_file, not both");
    }
  }
  return r.Finish();
}

// Prometheus accepts only these file names: a `*` may appear in the last path component only,
// and the name ends in .json, .yml or .yaml (which also says how the file is parsed).
bool ValidFileSdPattern(std::string_view p) {
  const size_t star = p.find('*');
  if (star != std::string_view::npos && p.find('/', star) != std::string_view::npos) return false;
  if (star != std::string_view::npos && p.find('*', star + 1) != std::string_view::npos)
    return false;
  for (std::string_view ext : {".json", ".yml", ".yaml", ".JSON", ".YML", ".YAML"}) {
    if (p.ends_with(ext)) return true;
  }
  return false;
}

Status ReadFileSd(const YAML::Node& node, const std::string& file, const std::string& path,
                  FileSdConfig* out) {
  MapReader r(node, file, path);
  FieldReader fields(r);
  Fields(fields, *out);  // plain values only: nothing nested can fail
  if (out->files.empty()) r.Fail("files", "is required: list the target files (globs allowed)");
  for (const std::string& f : out->files) {
    if (!ValidFileSdPattern(f)) {
      r.Fail("files", fmt::format("path {} is not valid for file discovery: it must end in "
                                  ".json, .yml or .yaml, with a `*` only in its last component",
                                  Quote(f)));
    }
  }
  if (out->refresh_interval <= Duration(0)) r.Fail("refresh_interval", "must be positive");
  return r.Finish();
}

// Promtail's journal block; matches are checked here so a typo fails at load, not at start.
Status ReadJournal(MapReader& parent, ScrapeConfig* out) {
  if (!parent.Has("journal")) return Status::Ok();
  MapReader r(parent.Node("journal"), parent.file(), parent.Sub("journal"));
  JournalConfig j;
  FieldReader fields(r);
  Fields(fields, j);
  if (!fields.status().ok()) return fields.status();
  for (size_t i = 0; i < j.matches.size();) {
    size_t end = std::min(j.matches.find(' ', i), j.matches.size());
    std::string_view m = std::string_view(j.matches).substr(i, end - i);
    if (!m.empty() && m != "+" && (m.find('=') == std::string_view::npos || m.front() == '=')) {
      r.Fail("matches", fmt::format("{} is not a FIELD=value journal match", Quote(m)));
    }
    i = end + 1;
  }
  if (j.max_age <= Duration(0)) r.Fail("max_age", "must be positive");
  out->journal = std::move(j);
  return r.Finish();
}

// Promtail's loki_push_api block. Its server block is read like the top-level one; keys that
// cannot apply (gRPC) are kept in ignored_keys and named when the push server starts.
Status ReadPushApi(MapReader& parent, ScrapeConfig* out) {
  if (!parent.Has("loki_push_api")) return Status::Ok();
  MapReader r(parent.Node("loki_push_api"), parent.file(), parent.Sub("loki_push_api"));
  PushApiConfig p;
  FieldReader fields(r);
  Fields(fields, p);
  if (!fields.status().ok()) return fields.status();
  if (p.ack_timeout <= Duration::zero()) r.Fail("ack_timeout", "must be positive");
  out->push = std::move(p);
  return r.Finish();
}

// Promtail's syslog block (Promtail's defaults; 0 means the default, as in Promtail).
Status ReadSyslog(MapReader& parent, ScrapeConfig* out) {
  if (!parent.Has("syslog")) return Status::Ok();
  MapReader r(parent.Node("syslog"), parent.file(), parent.Sub("syslog"));
  SyslogConfig c;
  FieldReader fields(r);
  Fields(fields, c);
  if (!fields.status().ok()) return fields.status();
  if (c.listen_address.empty()) r.Fail("listen_address", "is required (host:port)");
  if (c.listen_protocol.empty()) c.listen_protocol = "tcp";
  if (c.listen_protocol != "tcp" && c.listen_protocol != "udp") {
    r.Fail("listen_protocol", fmt::format("must be tcp or udp, not {}", Quote(c.listen_protocol)));
  }
  if (c.syslog_format.empty()) c.syslog_format = "rfc5424";
  if (c.syslog_format != "rfc5424" && c.syslog_format != "rfc3164") {
    r.Fail("syslog_format",
           fmt::format("must be rfc5424 or rfc3164, not {}", Quote(c.syslog_format)));
  }
  if (c.idle_timeout == Duration(0)) c.idle_timeout = std::chrono::seconds(120);
  if (c.idle_timeout < Duration(0)) r.Fail("idle_timeout", "must not be negative");
  if (c.max_message_length == 0) c.max_message_length = 8192;
  if (c.max_message_length < 0 || c.max_message_length > (64 << 20)) {
    r.Fail("max_message_length", "must be between 1 and 67108864 bytes");
  }
  const TlsConfig& t = c.tls_config;
  if ((!t.ca_file.empty() || !t.cert_file.empty()) && (t.cert_file.empty() || t.key_file.empty())) {
    r.Fail("tls_config", "cert_file and key_file are required to serve TLS");
  }
  if (!t.cert_file.empty() && c.listen_protocol == "udp") {
    r.Fail("tls_config", "TLS applies to listen_protocol tcp only");
  }
  out->syslog = std::move(c);
  return r.Finish();
}

// Promtail's decompression block. The format is required when enabled (Promtail fails at the
// first file otherwise); a disabled block may leave it out.
Status ReadDecompression(MapReader& parent, ScrapeConfig* out) {
  if (!parent.Has("decompression")) return Status::Ok();
  MapReader r(parent.Node("decompression"), parent.file(), parent.Sub("decompression"));
  DecompressionConfig& d = out->decompression;
  FieldReader fields(r);
  Fields(fields, d);  // plain values only: nothing nested can fail
  if (d.format != "gz" && d.format != "z" && d.format != "bz2" &&
      (d.enabled || !d.format.empty())) {
    r.Fail("format",
           fmt::format("unsupported compression format {}: use gz, z or bz2", Quote(d.format)));
  }
  if (d.initial_delay < Duration(0)) r.Fail("initial_delay", "must not be negative");
  return r.Finish();
}

Status ReadTargets(MapReader& r, ScrapeConfig* out, std::vector<std::string>* warnings) {
  const std::string& file = r.file();
  bool relabel_sets_path = std::ranges::any_of(
      out->relabel_configs, [](const RelabelConfig& rc) { return rc.target_label == "__path__"; });
  Status s = ForEachItem(r.Node("static_configs"), file, r.Sub("static_configs"),
                         [&](const YAML::Node& item, const std::string& p) {
                           StaticConfig sc;
                           std::string dropped;
                           Status ss = ReadStatic(item, file, p, relabel_sets_path, &sc, &dropped);
                           if (!dropped.empty()) {
                             warnings->push_back(std::move(dropped));
                           } else if (ss.ok()) {
                             out->static_configs.push_back(std::move(sc));
                           }
                           return ss;
                         });
  if (!s.ok()) return s;
  s = ForEachItem(r.Node("file_sd_configs"), file, r.Sub("file_sd_configs"),
                  [&](const YAML::Node& item, const std::string& p) {
                    FileSdConfig f;
                    Status fs = ReadFileSd(item, file, p, &f);
                    if (fs.ok()) out->file_sd_configs.push_back(std::move(f));
                    return fs;
                  });
  if (!s.ok()) return s;
  return ForEachItem(r.Node("kubernetes_sd_configs"), file, r.Sub("kubernetes_sd_configs"),
                     [&](const YAML::Node& item, const std::string& p) {
                       KubernetesSdConfig k;
                       Status ks = ReadKubernetes(item, file, p, &k);
                       if (!ks.ok()) return ks;
                       // Discovered objects carry no __path__: only a rule can name a file.
                       if (!relabel_sets_path) {
                         warnings->push_back(fmt::format(
                             "{}:{}:{}: {}: role {}: no relabel rule sets __path__: its targets "
                             "are dropped, as Promtail does",
                             file, item.Mark().line + 1, item.Mark().column + 1, p, k.role));
                       }
                       out->kubernetes_sd_configs.push_back(std::move(k));
                       return ks;
                     });
}

}  // namespace

// A selector's role is checked against its discovery's role, in ReadKubernetes.
void Validate(MapReader&, KubernetesSdConfig::Selector&) {}

Status ReadScrapeConfig(const YAML::Node& node, const std::string& file, const std::string& path,
                        ScrapeConfig* out, std::vector<std::string>* warnings) {
  MapReader r(node, file, path);
  r.Str("job_name", &out->job_name);
  r.Str("encoding", &out->encoding);
  RefuseUnsupportedSources(r);
  Status s =
      ReadStages(r.Node("pipeline_stages"), file, r.Sub("pipeline_stages"), &out->pipeline_stages);
  if (s.ok()) {
    s = ForEachItem(r.Node("relabel_configs"), file, r.Sub("relabel_configs"),
                    [&](const YAML::Node& item, const std::string& p) {
                      RelabelConfig rc;
                      Status rs = ReadRelabelConfig(item, file, p, &rc);
                      if (rs.ok()) out->relabel_configs.push_back(std::move(rc));
                      return rs;
                    });
  }
  const size_t warned = warnings->size();
  if (s.ok()) s = ReadTargets(r, out, warnings);
  if (s.ok()) s = ReadJournal(r, out);
  if (s.ok()) s = ReadPushApi(r, out);
  if (s.ok()) s = ReadDockerSdConfigs(r, out);
  if (s.ok()) s = ReadSyslog(r, out);
  if (s.ok()) s = ReadDecompression(r, out);
  if (!s.ok()) return s;
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
  const bool docker = !out->docker_sd_configs.empty();
  if (docker && (!out->static_configs.empty() || has_sd)) {
    r.Fail("docker_sd_configs",
           "a scrape config reads either Docker containers or files: move static_configs, "
           "file_sd_configs and kubernetes_sd_configs to a scrape config of their own");
  }
  if (out->syslog && (out->journal || !out->static_configs.empty() || has_sd || docker)) {
    r.Fail("syslog",
           "a scrape config with syslog reads nothing else: move static_configs, "
           "file_sd_configs, kubernetes_sd_configs, docker_sd_configs and journal to scrape "
           "configs of their own");
  }
  const bool files = !out->static_configs.empty() || has_sd;
  if (out->push && (out->journal || out->syslog || files || docker)) {
    r.Fail("loki_push_api",
           "a scrape config with loki_push_api reads nothing else: move static_configs, "
           "kubernetes_sd_configs, file_sd_configs, docker_sd_configs, journal and syslog to "
           "scrape configs of their own");
  }
  if (!files && !docker && !out->journal && !out->syslog && !out->push &&
      warnings->size() == warned) {
    r.Fail("static_configs",
           "nothing to tail: add static_configs (with a __path__ glob), file_sd_configs, "
           "kubernetes_sd_configs, docker_sd_configs, journal, syslog or loki_push_api");
  }
  return r.Finish();
}

}  // namespace skidder::config::internal
