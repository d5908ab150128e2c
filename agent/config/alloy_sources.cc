// Loader::Run and the top-level components: logging, loki.write and the sources.
#include <fmt/format.h>

#include <string_view>
#include <utility>

#include "config/alloy_internal.h"
#include "config/field_reader.h"
#include "config/sections.h"
#include "util/log.h"

namespace skidder::config::alloy_internal {
namespace {

Result<std::string> StringAttr(Loader& l, const Attribute& a) {
  Result<Value> v = l.Eval(a);
  if (!v) return Err(v.error());
  if (v->kind != Value::Kind::kString) {
    return Err(l.ErrorAt(a.pos, fmt::format("{}: expected a string, got a {}", a.name,
                                            lang::alloy::KindName(v->kind))));
  }
  return v->str;
}

}  // namespace

Result<Config> Loader::Run() {
  Result<lang::alloy::File> f = lang::alloy::Parse(text_, file_);
  if (!f) return Err(f.error());
  ast_ = std::move(*f);
  Config cfg;
  cfg.source_file = file_;
  cfg_ = &cfg;
  Status s = ExpandCustomComponents();
  if (s.ok()) s = Index();
  for (const Block& b : ast_.blocks) {
    if (!s.ok()) break;
    if (b.name == "logging") s = ReadLogging(b);
    if (b.name == "http") s = ReadHttp(b);
    if (b.name == "livedebugging") s = CheckBody(b, {"enabled"}, {});
    if (b.name == "loki.write") s = ReadWrite(b);
    if (b.name == "otelcol.exporter.loki") s = ReadOtelExporter(b);
  }
  for (const Block& b : ast_.blocks) {
    if (!s.ok()) break;
    if (b.name == "loki.source.journal") {
      s = ReadJournal(b);
    } else if (b.name == "loki.source.syslog") {
      s = ReadSyslog(b);
    } else if (b.name == "loki.source.api" || b.name == "loki.source.heroku") {
      s = ReadApi(b);
    } else if (b.name == "loki.source.gelf") {
      s = ReadGelf(b);
    } else if (b.name == "loki.source.docker") {
      s = ReadDocker(b);
    } else if (b.name == "loki.source.kubernetes_events") {
      s = ReadKubernetesEvents(b);
    } else if (b.name.starts_with("loki.source.")) {
      s = ReadSource(b);
    }
  }
  if (s.ok()) s = CheckUnused();
  if (s.ok()) s = CheckInstances();
  cfg_ = nullptr;
  if (!s.ok() && hooks_.offline && !secrets_.empty()) {
    // The null keys of a Secret -check-syntax did not read may be what failed, e.g. url =
    // nonsensitive(data["host"]) + "/loki/api/v1/push" (Grafana's k8s-monitoring chart v1).
    return Err(Status(s.code(), s.message() + " (-check-syntax reads no Kubernetes Secrets: "
                                              "remote.kubernetes.secret's keys are null here, "
                                              "so this may load when the agent runs)"));
  }
  if (!s.ok()) return Err(std::move(s));
  if (!cfg.positions.import_files.empty()) cfg.positions.filename = cfg.positions.import_files[0];
  return cfg;
}

Status Loader::ReadOtelExporter(const Block& b) {
  if (Status s = CheckBody(b, {"forward_to"}, {}); !s.ok()) return s;
  if (const Attribute* a = b.Attr("forward_to")) {
    if (Result<Value> v = Eval(*a); !v) return v.error();  // checked as Alloy checks it
  }
  cfg_->warnings.push_back(fmt::format(
      "{}: {} is ignored: skidder runs no otelcol receivers, so no OpenTelemetry logs reach it",
      Where(b.pos), Id(b)));
  return Status::Ok();
}

Status Loader::ReadLogging(const Block& b) {
  if (Status s = CheckBody(b, {"level", "format", "write_to"}, {}); !s.ok()) return s;
  for (const Attribute& a : b.attributes) {
    if (a.name == "write_to") {  // Alloy's meta-monitoring: its own logs into a pipeline
      if (Result<Value> v = Eval(a); !v) return v.error();  // checked as Alloy checks it
      cfg_->warnings.push_back(fmt::format(
          "{}: logging.write_to is ignored: skidder writes its own logs to stderr only (ship "
          "them as any pod's or unit's logs: the chart's pod log job, or the journal)",
          Where(a.pos)));
      continue;
    }
    Result<std::string> v = StringAttr(*this, a);
    if (!v) return v.error();
    log::Level level;
    log::Format format;
    if (a.name == "level" && !log::ParseLevel(*v, &level)) {
      return ErrorAt(a.pos, "level: must be debug, info, warn or error");
    }
    if (a.name == "format" && !log::ParseFormat(*v, &format)) {
      return ErrorAt(a.pos, "format: must be logfmt or json");
    }
    (a.name == "level" ? cfg_->server.log_level : cfg_->server.log_format) = *v;
  }
  return Status::Ok();
}

// Alloy's http block: the tls block becomes server.http_tls_config (Alloy's attribute names are
// Promtail's keys, so its checks name them as written) and tls_min_version.
Status Loader::ReadHttp(const Block& b) {
  if (Status s = CheckBody(b, {}, {"tls", "auth"}); !s.ok()) return s;
  bool seen_tls = false;
  for (const Block& nb : b.blocks) {
    if (nb.name == "auth") {
      return ErrorAt(
          nb.pos,
          "http: the auth block is not supported by skidder: require client "
          "certificates instead (tls { client_auth_type = \"RequireAndVerifyClientCert\" "
          "}), or keep the port from untrusted clients (a NetworkPolicy)");
    }
    static const std::set<std::string> kTaken = {"cert_file", "key_file", "client_ca_file",
                                                 "client_auth_type"};
    if (Status s = CheckBody(nb,
                             {"cert_file", "key_file", "client_ca_file", "client_auth_type",
                              "min_version", "max_version", "cipher_suites", "curve_preferences",
                              "cert_pem", "key_pem", "client_ca_pem"},
                             {});
        !s.ok()) {
      return s;
    }
    if (std::exchange(seen_tls, true)) return ErrorAt(nb.pos, "http: the tls block is given twice");
    YAML::Node tls(YAML::NodeType::Map);
    for (const Attribute& a : nb.attributes) {
      if (a.name.ends_with("_pem")) {
        return ErrorAt(a.pos, fmt::format("http: {} is not supported by skidder, which reads "
                                          "certificates from files: use {}_file",
                                          a.name, a.name.substr(0, a.name.size() - 4)));
      }
      if (!kTaken.contains(a.name) && a.name != "min_version") {
        cfg_->warnings.push_back(
            fmt::format("{}: http.tls: {} has no effect in skidder (GnuTLS "
                        "picks suites and curves; the newest version wins)",
                        Where(a.pos), a.name));
        continue;
      }
      Result<std::string> v = StringAttr(*this, a);
      if (!v) return v.error();
      if (a.name != "min_version") {
        tls[a.name] = *v;
      } else if (*v == "TLS10" || *v == "TLS11" || *v == "TLS12" || *v == "TLS13") {
        cfg_->server.tls_min_version = "Version" + *v;
      } else {
        return ErrorAt(a.pos, "http.tls.min_version: must be TLS10, TLS11, TLS12 or TLS13");
      }
    }
    if (Status s =
            internal::ReadBlock(tls, Where(nb.pos), "http.tls", cfg_->server.http_tls_config);
        !s.ok()) {
      return s;
    }
    if (cfg_->server.http_tls_config.cert_file.empty()) {  // Alloy refuses it too
      return ErrorAt(nb.pos,
                     "http.tls: cert_file and key_file are required (without them the port would "
                     "be served over plain HTTP)");
    }
  }
  return Status::Ok();
}

Result<YAML::Node> Loader::TlsConfigToYaml(const Block& b) {
  for (const char* name : {"ca", "cert", "key"}) {
    if (const Attribute* a = b.Attr(name)) {
      return Err(ErrorAt(
          a->pos, fmt::format("tls_config: {0} is Promtail's name; Alloy's is {0}_pem", name)));
    }
  }
  return AttrsToYaml(b, {{"ca_pem", "ca"}, {"cert_pem", "cert"}, {"key_pem", "key"}});
}

namespace {

// An endpoint's error names the attribute as the user wrote it, not the Promtail key it became.
Status AlloyNames(Status s) {
  static constexpr std::pair<std::string_view, std::string_view> kNames[] = {
      {".batchwait:", ".batch_wait:"},
      {".batchsize:", ".batch_size:"},
      {".timeout:", ".remote_timeout:"},
      {".backoff_config.min_period:", ".min_backoff_period:"},
      {".backoff_config.max_period:", ".max_backoff_period:"},
      {".backoff_config.max_retries:", ".max_backoff_retries:"},
      {".drop_rate_limited_batches:", ".retry_on_http_429:"},
      {".tls_config.ca:", ".tls_config.ca_pem:"},
      {".tls_config.cert:", ".tls_config.cert_pem:"},
      {".tls_config.key:", ".tls_config.key_pem:"},
  };
  // The key an unknown one was probably meant as, likewise.
  static constexpr std::pair<std::string_view, std::string_view> kSuggested[] = {
      {"(did you mean \"batchwait\"?)", "(did you mean \"batch_wait\"?)"},
      {"(did you mean \"batchsize\"?)", "(did you mean \"batch_size\"?)"},
      {"(did you mean \"timeout\"?)", "(did you mean \"remote_timeout\"?)"},
  };
  std::string msg = s.message();
  for (const auto& [promtail, alloy] : kSuggested) {
    if (size_t at = msg.find(promtail); at != std::string::npos) {
      msg.replace(at, promtail.size(), alloy);
    }
  }
  for (const auto& [promtail, alloy] : kNames) {
    if (size_t at = msg.find(promtail); at != std::string::npos) {
      msg.replace(at, promtail.size(), alloy);
      break;
    }
  }
  return Status(s.code(), std::move(msg));
}

}  // namespace

Status Loader::ReadWrite(const Block& b) {
  if (Status s = CheckBody(b, {"external_labels", "max_streams"}, {"endpoint", "wal"}); !s.ok()) {
    return s;
  }
  if (const Attribute* a = b.Attr("max_streams")) {  // skidder's limit is per batch, as Promtail's
    Result<Value> v = Eval(*a);
    if (!v) return v.error();
    if (v->kind != Value::Kind::kNumber || v->number < 0 || v->number > INT32_MAX ||
        v->number != static_cast<double>(static_cast<int64_t>(v->number))) {
      return ErrorAt(a->pos,
                     "max_streams: expected a whole number up to 2147483647 (0 = no limit)");
    }
    cfg_->limits_config.max_streams = static_cast<int>(v->number);
  }
  YAML::Node labels;
  if (const Attribute* a = b.Attr("external_labels")) {
    Result<Value> v = Eval(*a);
    if (!v) return v.error();
    Result<YAML::Node> n = ToYaml(*v);
    if (!n || !n->IsMap()) return ErrorAt(a->pos, "external_labels: expected an object of labels");
    labels = *n;
  }
  Result<std::vector<YAML::Node>> endpoints = Endpoints(*this, b);
  if (!endpoints) return endpoints.error();
  for (size_t i = 0; i < endpoints->size(); ++i) {
    write_clients_[Id(b)].push_back(cfg_->clients.size());
    YAML::Node node = (*endpoints)[i];
    if (labels.IsDefined()) node["external_labels"] = labels;
    ClientConfig client;
    Status s = internal::ReadClient(node, Where(b.blocks[i].pos),
                                    fmt::format("{}.endpoint[{}]", Id(b), i), &client);
    if (!s.ok()) return AlloyNames(std::move(s));
    cfg_->clients.push_back(std::move(client));
  }
  return Status::Ok();
}

}  // namespace skidder::config::alloy_internal
