// loki.source.syslog, loki.source.api and loki.source.gelf: Alloy's receivers as Promtail's
// `syslog`, `loki_push_api` and `gelf` jobs (sources/syslog, sources/push, sources/gelf).
//
// Each attribute is checked here, at its own position, for the type Alloy gives it; the values
// are then read by the Promtail readers, which check the rest (ranges, TLS files) and name the
// listener block. relabel_rules become the job's relabel_configs, which run over the
// __syslog_* labels (or the pushed labels), as Alloy's rules do, before `__` labels are dropped.
#include <fmt/format.h>

#include <charconv>
#include <span>

#include "config/alloy_internal.h"
#include "config/field_reader.h"
#include "config/sections.h"
#include "util/byte_size.h"

namespace skidder::config::alloy_internal {

enum class Kind { kString, kBool, kCount, kDuration, kLabels, kSize };

// One Alloy attribute: its Promtail key and the type Alloy declares for it.
struct AttrSpec {
  std::string_view alloy;
  std::string_view promtail;  // "" = accepted, no effect in skidder
  Kind kind;
};

namespace {

constexpr AttrSpec kRawFormatOptions[] = {
    {"use_null_terminator_delimiter", "use_null_terminator_delimiter", Kind::kBool},
};

constexpr AttrSpec kListener[] = {
    {"address", "listen_address", Kind::kString},
    {"protocol", "listen_protocol", Kind::kString},
    {"idle_timeout", "idle_timeout", Kind::kDuration},
    {"label_structured_data", "label_structured_data", Kind::kBool},
    {"labels", "labels", Kind::kLabels},
    {"max_message_length", "max_message_length", Kind::kCount},
    {"syslog_format", "syslog_format", Kind::kString},
    {"use_incoming_timestamp", "use_incoming_timestamp", Kind::kBool},
    {"use_rfc5424_message", "use_rfc5424_message", Kind::kBool},
    // skidder always dates an RFC 3164 message in the current year (the year before when that
    // would put it over a day ahead), which is what this switch turns on in Alloy.
    {"rfc3164_default_to_current_year", "", Kind::kBool},
};

constexpr AttrSpec kApi[] = {
    {"labels", "labels", Kind::kLabels},
    {"use_incoming_timestamp", "use_incoming_timestamp", Kind::kBool},
    {"max_send_message_size", "max_body_size", Kind::kSize},
    // The push server stops with the agent, within server.graceful_shutdown_timeout.
    {"graceful_shutdown_timeout", "", Kind::kDuration},
};

constexpr AttrSpec kGelf[] = {
    {"listen_address", "listen_address", Kind::kString},
    {"use_incoming_timestamp", "use_incoming_timestamp", Kind::kBool},
};

// The `http` block of loki.source.api: the keys of the push job's own `server` block.
constexpr AttrSpec kApiHttp[] = {
    {"listen_address", "http_listen_address", Kind::kString},
    {"listen_port", "http_listen_port", Kind::kCount},
    {"conn_limit", "http_listen_conn_limit", Kind::kCount},
    {"server_read_timeout", "http_server_read_timeout", Kind::kDuration},
    {"server_idle_timeout", "http_server_idle_timeout", Kind::kDuration},
    // skidder answers from memory once Loki has the entries; a write cannot stall on a body.
    {"server_write_timeout", "", Kind::kDuration},
};

// The `grpc` block of Grafana Agent's loki.source.api: checked, and warned about at start
// (skidder serves the push API over HTTP only).
constexpr AttrSpec kApiGrpc[] = {
    {"listen_address", "", Kind::kString},
    {"listen_port", "", Kind::kCount},
    {"conn_limit", "", Kind::kCount},
    {"max_connection_age", "", Kind::kDuration},
    {"max_connection_age_grace", "", Kind::kDuration},
    {"max_connection_idle", "", Kind::kDuration},
    {"server_max_recv_msg_size", "", Kind::kSize},
    {"server_max_send_msg_size", "", Kind::kSize},
    {"server_max_concurrent_streams", "", Kind::kCount},
};

std::string Names(std::span<const AttrSpec> specs) {
  std::string out;
  for (const AttrSpec& s : specs) out += fmt::format("{}{}", out.empty() ? "" : ", ", s.alloy);
  return out;
}

const char* Expected(Kind k) {
  switch (k) {
    case Kind::kString:
      return "a string";
    case Kind::kBool:
      return "true or false";
    case Kind::kCount:
      return "a whole number of at least 0";
    case Kind::kDuration:
      return "a duration like \"120s\"";
    case Kind::kLabels:
      return "an object of label values, e.g. { job = \"syslog\" }";
    case Kind::kSize:
      return "a size like \"100MiB\"";
  }
  return "";
}

// A number as Alloy converts it to a string (Go's FormatFloat(f, 'f', -1, 64)): fixed
// notation, the shortest digits that read back the same ("1000000000000000000000", not
// "1e+21"). skidder keeps Alloy numbers as doubles, so integers past 2^53 are rounded.
std::string NumberText(double n) {
  char buf[512];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n, std::chars_format::fixed);
  return ec == std::errc() ? std::string(buf, end) : lang::alloy::FormatNumber(n);
}

// v as the YAML value of a key of kind k, or nothing when v is not of that kind.
std::optional<YAML::Node> Typed(const Value& v, Kind k) {
  using VK = Value::Kind;
  switch (k) {
    case Kind::kString:  // Alloy converts numbers to strings
      if (v.kind == VK::kString) return YAML::Node(v.str);
      if (v.kind == VK::kNumber) return YAML::Node(NumberText(v.number));
      break;
    case Kind::kBool:
      if (v.kind == VK::kBool) return YAML::Node(v.boolean);
      break;
    case Kind::kCount: {  // Alloy converts numeric strings to numbers ("3500")
      double n = v.number;
      if (v.kind == VK::kString) {
        auto [end, ec] = std::from_chars(v.str.data(), v.str.data() + v.str.size(), n);
        if (ec != std::errc() || end != v.str.data() + v.str.size() || v.str.empty()) break;
      } else if (v.kind != VK::kNumber) {
        break;
      }
      if (n >= 0 && n <= INT32_MAX && n == static_cast<double>(static_cast<int64_t>(n))) {
        return YAML::Node(static_cast<int64_t>(n));
      }
      break;
    }
    case Kind::kDuration: {
      Duration unused;
      if (v.kind == VK::kString && ParseDuration(v.str, &unused)) return YAML::Node(v.str);
      break;
    }
    case Kind::kSize: {
      int64_t unused = 0;
      if (v.kind == VK::kString && ParseByteSize(v.str, &unused)) return YAML::Node(v.str);
      if (v.kind == VK::kNumber && v.number >= 1) return YAML::Node(static_cast<int64_t>(v.number));
      break;
    }
    case Kind::kLabels: {
      if (v.kind != VK::kObject) break;
      YAML::Node out(YAML::NodeType::Map);
      for (const auto& [name, value] : *v.object) {
        std::optional<YAML::Node> text = Typed(value, Kind::kString);
        if (!text) return std::nullopt;
        out[name] = *text;
      }
      return out;
    }
  }
  return std::nullopt;
}

}  // namespace

// Reads b's attributes named in specs into out (Promtail's keys), each checked for its type at
// its own position; `skip` names the attributes the caller reads itself. Nested blocks are the
// caller's to check.
Status Loader::TypedAttrs(const Block& b, std::span<const AttrSpec> specs,
                          const std::set<std::string>& skip, YAML::Node* out) {
  for (const Attribute& a : b.attributes) {
    if (skip.contains(a.name)) continue;
    const AttrSpec* spec = nullptr;
    for (const AttrSpec& s : specs) {
      if (s.alloy == a.name) spec = &s;
    }
    if (spec == nullptr) {
      return ErrorAt(a.pos, fmt::format("unknown attribute {} in {} (skidder reads {})", a.name,
                                        b.name, Names(specs)));
    }
    Result<Value> v = Eval(a);
    if (!v) return v.error();
    std::optional<YAML::Node> node = Typed(*v, spec->kind);
    if (!node) return ErrorAt(a.pos, fmt::format("{}: expected {}", a.name, Expected(spec->kind)));
    if (!spec->promtail.empty()) (*out)[std::string(spec->promtail)] = *node;
  }
  return Status::Ok();
}

Result<YAML::Node> Loader::LabelsAttr(const Attribute& a) {
  Result<Value> v = Eval(a);
  if (!v) return Err(v.error());
  std::optional<YAML::Node> node = Typed(*v, Kind::kLabels);
  if (!node)
    return Err(ErrorAt(a.pos, fmt::format("{}: expected {}", a.name, Expected(Kind::kLabels))));
  return *node;
}

// The value of a string attribute that must be one of `allowed`, checked where it is written
// (the Promtail reader would name the listener block instead).
Status Loader::OneOf(const Block& b, const std::string& name,
                     std::initializer_list<std::string_view> allowed) {
  const Attribute* a = b.Attr(name);
  if (a == nullptr) return Status::Ok();
  Result<Value> v = Eval(*a);
  if (!v) return v.error();
  std::string list;
  for (std::string_view s : allowed) {
    if (v->kind == Value::Kind::kString && v->str == s) return Status::Ok();
    list += fmt::format("{}\"{}\"", list.empty() ? "" : " or ", s);
  }
  return ErrorAt(a->pos, fmt::format("{}: must be {}", name, list));
}

Status Loader::ListenAddress(const Block& b, const std::string& name) {
  const Attribute* a = b.Attr(name);
  if (a == nullptr) return Status::Ok();
  Result<Value> v = Eval(*a);
  if (!v) return v.error();
  if (v->kind != Value::Kind::kString) return Status::Ok();  // TypedAttrs names the type
  if (std::string why = internal::ListenAddressProblem(v->str); !why.empty()) {
    return ErrorAt(a->pos, fmt::format("{}: {} {}", name, internal::Quote(v->str), why));
  }
  return Status::Ok();
}

namespace {

// The meta labels each receiver gives its relabel_rules, and drops before forward_to.
std::string_view MetaPrefix(std::string_view component) {
  if (component == "loki.source.syslog") return "__syslog_";
  if (component == "loki.source.journal") return "__journal_";
  if (component == "loki.source.docker") return "__meta_docker_";
  if (component == "loki.source.gelf") return "__gelf_";
  if (component == "loki.source.heroku") return "__heroku_drain_";
  return "";
}

}  // namespace

// A loki.relabel in a receiver's forward_to that reads the receiver's meta labels matches
// nothing, in Alloy too: they were dropped before. Said at load rather than left to puzzle.
void Loader::WarnMetaLabelRules(const Block& b, const Route& route, std::set<std::string>* warned) {
  const std::string_view prefix = MetaPrefix(b.name);
  if (prefix.empty()) return;
  for (const RouteStage& st : route.stages) {
    if (st.type != "relabel" || !st.body.IsSequence()) continue;
    const std::string_view component = std::string_view(st.name).substr(0, st.name.rfind(".rule"));
    for (const YAML::Node& rule : st.body) {
      const YAML::Node sources = rule["source_labels"];
      if (!sources || !sources.IsSequence()) continue;
      for (const YAML::Node& l : sources) {
        if (!l.IsScalar() || !l.Scalar().starts_with(prefix)) continue;
        // A loki.relabel two paths reach (a diamond) is said once.
        if (!warned->insert(fmt::format("{}\n{}", component, l.Scalar())).second) break;
        cfg_->warnings.push_back(fmt::format(
            "{}: {} reads {}, which entries of {} no longer carry in forward_to (labels starting "
            "with __ are dropped first, as in Alloy): give the rules to the source instead, "
            "relabel_rules = {}.rules",
            Where(st.pos), component, l.Scalar(), Id(b), component));
        break;
      }
    }
  }
  for (const Route& branch : route.branches) WarnMetaLabelRules(b, branch, warned);
}

// The relabel_rules and forward_to graph of a receiver (syslog, api, docker, journal). Its
// relabel_rules are the job's relabel_configs, over the meta labels; every loki.relabel in
// forward_to is a stage over the entry's labels, after the `__` labels are dropped, as in Alloy
// (not part of the job's relabeling, as at the head of a file source: that would show it the
// meta labels, skip it for raw pushes, and drop a __tenant_id__ it sets).
Status Loader::ReceiverRoute(const Block& b, Targets* t, Route* route) {
  const Attribute* fwd = b.Attr("forward_to");
  if (fwd == nullptr) return ErrorAt(b.pos, b.name + ": forward_to is required");
  if (const Attribute* rules = b.Attr("relabel_rules")) {
    chain_ = {Id(b)};
    if (Status s = RelabelRulesAttr(*rules, t); !s.ok()) return s;
  }
  chain_ = {Id(b)};
  Result<Value> fv = Eval(*fwd);
  if (!fv) return fv.error();
  visits_ = 0;
  if (Status s = ResolveReceivers(*fv, fwd->pos, /*head=*/false, t, route); !s.ok()) return s;
  std::set<std::string> warned;
  WarnMetaLabelRules(b, *route, &warned);
  return Status::Ok();
}

// loki.source.syslog: one Promtail syslog job per listener block.
Status Loader::ReadSyslog(const Block& b) {
  if (Status s = CheckBody(b, {"forward_to", "relabel_rules"}, {"listener"}); !s.ok()) return s;
  Targets t;
  Route route;
  if (Status s = ReceiverRoute(b, &t, &route); !s.ok()) return s;
  if (b.blocks.empty()) {  // required in Alloy too
    return ErrorAt(b.pos,
                   "loki.source.syslog: a listener block is required, e.g. listener { "
                   "address = \"0.0.0.0:1514\" }");
  }
  for (size_t i = 0; i < b.blocks.size(); ++i) {
    const Block& listener = b.blocks[i];
    YAML::Node syslog(YAML::NodeType::Map);
    if (Status s = TypedAttrs(listener, kListener, {}, &syslog); !s.ok()) return s;
    if (listener.Attr("address") == nullptr) {
      return ErrorAt(listener.pos,
                     "listener: address is required, e.g. address = \"0.0.0.0:1514\"");
    }
    if (Status s = ListenAddress(listener, "address"); !s.ok()) return s;
    if (Status s = OneOf(listener, "protocol", {"tcp", "udp"}); !s.ok()) return s;
    if (Status s = OneOf(listener, "syslog_format", {"rfc5424", "rfc3164", "raw"}); !s.ok()) {
      return s;
    }
    const bool raw = syslog["syslog_format"] && syslog["syslog_format"].as<std::string>() == "raw";
    if (const Attribute* a = listener.Attr("rfc3164_default_to_current_year"); a && raw) {
      return ErrorAt(a->pos,
                     "rfc3164_default_to_current_year has no effect when syslog_format is \"raw\"");
    }
    for (const Block& nb : listener.blocks) {
      if (nb.name != "tls_config" && nb.name != "raw_format_options") {
        return ErrorAt(nb.pos,
                       fmt::format("block {} in listener is not supported by skidder", nb.name));
      }
      if (syslog[nb.name])
        return ErrorAt(nb.pos, fmt::format("listener: {} is given twice", nb.name));
      if (nb.name == "raw_format_options") {
        if (!raw) {  // Alloy refuses the block with another format, even empty
          return ErrorAt(nb.pos,
                         "raw_format_options has no effect when syslog_format is not \"raw\"");
        }
        YAML::Node options(YAML::NodeType::Map);
        if (Status s = TypedAttrs(nb, kRawFormatOptions, {}, &options); !s.ok()) return s;
        syslog[nb.name] = options;
        continue;
      }
      Result<YAML::Node> node = TlsConfigToYaml(nb);
      if (!node) return node.error();
      syslog["tls_config"] = *node;
    }
    YAML::Node node;
    node["syslog"] = syslog;
    const std::string job = b.blocks.size() == 1 ? "" : fmt::format("{}_{}", b.label, i);
    if (Status s = AddScrapeConfig(b, std::move(node), t, route, &listener, job); !s.ok()) {
      return s;
    }
  }
  return Status::Ok();
}

// loki.source.api's http > tls_config (dskit's server TLS, as Alloy's common net config names
// it): the push server's http_tls_config. Certificates are read from files only.
Status Loader::ReadApiTls(const Block& tls, YAML::Node* server) {
  if (Status s = CheckBody(tls,
                           {"cert_file", "key_file", "client_auth_type", "client_ca_file",
                            "cert_pem", "key_pem", "client_ca"},
                           {});
      !s.ok()) {
    return s;
  }
  if ((*server)["http_tls_config"]) return ErrorAt(tls.pos, "http: tls_config is given twice");
  for (const Attribute& a : tls.attributes) {
    if (a.name == "cert_pem" || a.name == "key_pem" || a.name == "client_ca") {
      const std::string file =
          a.name == "client_ca" ? "client_ca_file" : a.name.substr(0, a.name.size() - 4) + "_file";
      return ErrorAt(a.pos, fmt::format("http.tls_config: {} is not supported by skidder, which "
                                        "reads server certificates from files: use {}",
                                        a.name, file));
    }
  }
  Result<YAML::Node> node = AttrsToYaml(tls);
  if (!node) return node.error();
  // Checked here, so that mistakes name the block as written.
  ServerTlsConfig checked;
  if (Status s = internal::ReadBlock(*node, Where(tls.pos), "http.tls_config", checked); !s.ok()) {
    return s;
  }
  if (checked.cert_file.empty() || checked.key_file.empty()) {  // else plain HTTP
    return ErrorAt(tls.pos, "http.tls_config: cert_file and key_file are required");
  }
  (*server)["http_tls_config"] = *node;
  return Status::Ok();
}

// loki.source.api: a Promtail loki_push_api job; loki.source.heroku: a heroku_drain job, the
// same server and arguments but max_send_message_size. Its server takes Alloy's defaults unless
// the http block says otherwise: port 8080 (Promtail's is 80), read timeout 30s, idle timeout
// 120s.
Status Loader::ReadApi(const Block& b) {
  const bool heroku = b.name == "loki.source.heroku";
  std::set<std::string> attrs = {"forward_to", "relabel_rules", "labels", "use_incoming_timestamp",
                                 "graceful_shutdown_timeout"};
  if (!heroku) attrs.insert("max_send_message_size");
  if (Status s = CheckBody(b, attrs, {"http", "grpc"}); !s.ok()) return s;
  Targets t;
  Route route;
  if (Status s = ReceiverRoute(b, &t, &route); !s.ok()) return s;
  YAML::Node push(YAML::NodeType::Map);
  if (Status s = TypedAttrs(b, kApi, {"forward_to", "relabel_rules"}, &push); !s.ok()) return s;
  // Alloy gives a push's X-Scope-OrgID to its entries (a Heroku drain always does).
  if (!heroku) push["tenant_from_header"] = true;
  YAML::Node server(YAML::NodeType::Map);  // Alloy's defaults, where they differ from Promtail's
  server["http_listen_port"] = 8080;
  server["http_server_read_timeout"] = "30s";
  server["http_server_idle_timeout"] = "120s";
  std::set<std::string> seen;
  for (const Block& nb : b.blocks) {
    if (!seen.insert(nb.name).second) {
      return ErrorAt(nb.pos, fmt::format("{}: the {} block is given twice", b.name, nb.name));
    }
    const bool http = nb.name == "http";
    for (const Block& inner : nb.blocks) {
      if (!http) continue;  // the whole grpc block has no effect (warned below)
      if (inner.name != "tls_config") {
        return ErrorAt(inner.pos, fmt::format("block {} in {} is not supported by skidder",
                                              inner.name, nb.name));
      }
      if (Status s = ReadApiTls(inner, &server); !s.ok()) return s;
    }
    if (!http) {
      cfg_->warnings.push_back(
          fmt::format("{}: the grpc block of {} has no effect: skidder "
                      "serves {} over HTTP only",
                      Where(nb.pos), Id(b), heroku ? "Heroku drains" : "the push API"));
    }
    if (Status s =
            TypedAttrs(nb, http ? std::span<const AttrSpec>(kApiHttp) : kApiGrpc, {}, &server);
        !s.ok()) {
      return s;
    }
  }
  push["server"] = server;
  YAML::Node node;
  node[heroku ? "heroku_drain" : "loki_push_api"] = push;
  return AddScrapeConfig(b, std::move(node), t, route);
}

// loki.source.gelf: a Promtail gelf job (UDP) with Alloy's defaults: address 0.0.0.0:12201
// (Promtail's is ":12201", IPv6 too) and job="loki.source.gelf.<label>" unless relabel_rules set
// a job.
Status Loader::ReadGelf(const Block& b) {
  if (Status s = CheckBody(
          b, {"forward_to", "relabel_rules", "listen_address", "use_incoming_timestamp"}, {});
      !s.ok()) {
    return s;
  }
  Targets t;
  Route route;
  if (Status s = ReceiverRoute(b, &t, &route); !s.ok()) return s;
  YAML::Node gelf(YAML::NodeType::Map);
  gelf["listen_address"] = "0.0.0.0:12201";
  if (Status s = TypedAttrs(b, kGelf, {"forward_to", "relabel_rules"}, &gelf); !s.ok()) return s;
  if (Status s = ListenAddress(b, "listen_address"); !s.ok()) return s;
  YAML::Node job;
  job["source_labels"].push_back("job");
  job["regex"] = "";
  job["replacement"] = Id(b);
  job["target_label"] = "job";
  t.relabel.push_back(job);
  YAML::Node node;
  node["gelf"] = gelf;
  return AddScrapeConfig(b, std::move(node), t, route);
}

}  // namespace skidder::config::alloy_internal
