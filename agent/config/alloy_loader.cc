// The Alloy component graph -> Config: components indexed by id, references resolved on
// demand, each source's targets and route walked with cycle and depth checks.
#include <fmt/format.h>

#include <algorithm>

#include "config/alloy.h"
#include "config/alloy_internal.h"
#include "config/loader.h"
#include "config/sections.h"
#include "util/log.h"

namespace skidder::config {
namespace alloy_internal {
namespace {

// Each component skidder runs and what it exports.
const std::map<std::string, std::set<std::string>> kComponents = {
    {"logging", {}},
    {"http", {}},           // the agent's own server: its tls block (alloy_sources.cc)
    {"livedebugging", {}},  // Alloy's UI debugging stream: accepted, no effect (see docs)
    {"discovery.kubernetes", {"targets"}},
    {"discovery.docker", {"targets"}},
    {"discovery.file", {"targets"}},
    {"discovery.relabel", {"output", "rules"}},
    {"local.file_match", {"targets"}},
    {"local.file", {"content"}},
    {"remote.kubernetes.secret", {"data"}},
    {"loki.source.file", {}},
    {"loki.source.kubernetes", {}},
    {"loki.source.journal", {}},
    {"loki.source.syslog", {}},
    {"loki.source.api", {}},
    {"loki.source.heroku", {}},
    {"loki.source.gelf", {}},
    {"loki.source.docker", {}},
    {"loki.source.kubernetes_events", {}},
    {"loki.process", {"receiver"}},
    {"loki.relabel", {"receiver", "rules"}},
    {"loki.write", {"receiver"}},
    {"loki.echo", {"receiver"}},
    // OpenTelemetry logs into Loki entries: only otelcol components (refused) can send to it, so
    // it is checked and ignored. Grafana's k8s-monitoring chart writes one beside each loki.write.
    {"otelcol.exporter.loki", {"input"}},
};

}  // namespace

std::string JoinParts(const std::vector<std::string>& parts, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += (i ? "." : "") + parts[i];
  return out;
}

Loader::Loader(std::string text, std::string file, LoadHooks hooks)
    : text_(std::move(text)),
      file_(std::move(file)),
      hooks_(std::move(hooks)),
      eval_(file_, [this](const std::vector<std::string>& parts, size_t* consumed, Pos pos) {
        return Resolve(parts, consumed, pos);
      }) {
  eval_.set_instance_names(&instance_names_);
}

std::string Loader::Where(Pos pos) const {
  return fmt::format("{}:{}:{}", file_, pos.line, pos.column);
}

Status Loader::ErrorAt(Pos pos, std::string_view msg) const { return eval_.ErrorAt(pos, msg); }

void Loader::NoteStage(const YAML::Node& body, Pos pos, const std::string& name) {
  origins_->push_back({body, Where(pos), name});
}

void Loader::Place(const RouteStage& from, StageConfig* st) const {
  st->file = Where(from.pos);
  st->name = from.name;
  st->origins = origins_;
}

Result<Value> Loader::Eval(const Attribute& a) {
  // The attributes Alloy types as secret (a secret anywhere else is refused there, as Alloy's
  // type check refuses it): skidder masks their values wherever it prints the config.
  static const std::set<std::string, std::less<>> kSecretAttributes = {
      "password",      "bearer_token", "credentials",
      "client_secret", "key_pem",      "proxy_connect_header"};
  Result<Value> v = eval_.Eval(*a.value);
  if (v && !kSecretAttributes.contains(a.name) && lang::alloy::HasSecret(*v)) {
    return Err(ErrorAt(a.pos, fmt::format("{}: a secret value cannot be used here, "
                                          "where it would be printed: wrap it in "
                                          "convert.nonsensitive() if it is not secret",
                                          a.name)));
  }
  return v;
}

Result<YAML::Node> Loader::AttrsToYaml(const Block& b,
                                       const std::map<std::string, std::string>& rename,
                                       const std::set<std::string>& blocks_ok) {
  YAML::Node out(YAML::NodeType::Map);
  for (const Attribute& a : b.attributes) {
    Result<Value> v = Eval(a);
    if (!v) return Err(v.error());
    Result<YAML::Node> n = ToYaml(*v);
    if (!n) return Err(ErrorAt(a.pos, fmt::format("{}: {}", a.name, n.error().message())));
    auto it = rename.find(a.name);
    out[it == rename.end() ? a.name : it->second] = *n;
  }
  for (const Block& nb : b.blocks) {
    if (!blocks_ok.contains(nb.name)) {
      return Err(ErrorAt(
          nb.pos, fmt::format("block {} in {} is not supported by skidder", nb.name, b.name)));
    }
  }
  return out;
}

Status Loader::Index() {
  if (!ast_.attributes.empty()) {
    return ErrorAt(ast_.attributes[0].pos, "attributes belong inside a component block");
  }
  for (const Block& b : ast_.blocks) {
    if (b.name.starts_with("import.")) {
      return ErrorAt(b.pos, fmt::format("{} is not supported by skidder: copy the module's declare "
                                        "blocks into this file",
                                        b.name));
    }
    // Alloy's own single-word blocks skidder does not run, then the name of a custom component
    // no declare defines (declares were expanded before).
    const bool alloy_block = b.name == "tracing" || b.name == "remotecfg" || b.name == "foreach";
    if (!alloy_block && b.name.find('.') == std::string::npos && !kComponents.contains(b.name)) {
      return ErrorAt(b.pos, fmt::format("unknown component {}: no declare \"{}\" defines it here",
                                        b.name, b.name));
    }
    if (b.name == "prometheus" || b.name.starts_with("prometheus.") ||
        (b.name.starts_with("otelcol.") && b.name != "otelcol.exporter.loki") ||
        !kComponents.contains(b.name)) {
      return ErrorAt(b.pos, fmt::format("component {} is not supported by skidder, which runs the "
                                        "log components (see docs/migrate-from-alloy.md)",
                                        b.name));
    }
    if (b.label.empty() && b.name != "logging" && b.name != "livedebugging" && b.name != "http") {
      return ErrorAt(
          b.pos, fmt::format("{} needs a label, e.g. {} \"default\" {{ ... }}", b.name, b.name));
    }
    if (!components_.emplace(Id(b), &b).second) {
      return ErrorAt(b.pos, fmt::format("{} is defined twice", Id(b)));
    }
  }
  return Status::Ok();
}

Result<Value> Loader::Resolve(const std::vector<std::string>& parts, size_t* consumed, Pos pos) {
  for (size_t n = parts.size(); n >= 1; --n) {
    if (auto inst = instances_.find(JoinParts(parts, n)); inst != instances_.end()) {
      return InstanceExport(inst->first, inst->second, parts, n, consumed, pos);
    }
    auto it = components_.find(JoinParts(parts, n));
    if (it == components_.end()) continue;
    const Block& b = *it->second;
    const std::set<std::string>& exports = kComponents.at(b.name);
    if (n == parts.size() || !exports.contains(parts[n])) {
      return Err(ErrorAt(pos, fmt::format("{} has no export {}", it->first,
                                          n == parts.size() ? "named" : parts[n])));
    }
    *consumed = n + 1;
    if (parts[n] == "content") return LocalFileContent(b, pos);
    if (parts[n] == "data") return SecretData(b, pos);
    std::string kind = parts[n] == "output" ? "targets" : parts[n];
    return Value::MakeCapsule(kind, it->first);
  }
  return Err(NotFound(""));
}

// An export of a custom component instance: its export block's value, evaluated where it is
// read (as Alloy's exports change with their inputs, an export is an expression, not a value).
Result<Value> Loader::InstanceExport(const std::string& id, const CustomInstance& inst,
                                     const std::vector<std::string>& parts, size_t n,
                                     size_t* consumed, Pos pos) {
  auto e = n < parts.size() ? inst.exports.find(parts[n]) : inst.exports.end();
  if (e == inst.exports.end()) {
    return Err(ErrorAt(
        pos, fmt::format("{} has no export {}", id, n == parts.size() ? "named" : parts[n])));
  }
  const std::string key = id + "." + e->first;
  if (!evaluating_.insert(key).second) {
    return Err(ErrorAt(pos, fmt::format("reference cycle through {}", key)));
  }
  Result<Value> v = eval_.Eval(*e->second);
  evaluating_.erase(key);
  *consumed = n + 1;
  return v;
}

const Block* Loader::Component(const Value& capsule) const {
  auto it = components_.find(capsule.capsule.component);
  return it == components_.end() ? nullptr : it->second;
}

}  // namespace alloy_internal

bool IsAlloyConfig(const std::string& format, const std::string& file) {
  if (!format.empty()) return format == "alloy";
  return file.ends_with(".alloy");
}

Result<Config> ParseAlloyConfig(const std::string& text, const std::string& file,
                                const LoadHooks& hooks) {
  return alloy_internal::Loader(text, file, hooks).Run();
}

}  // namespace skidder::config
