// discovery.docker and loki.source.docker: a Promtail job with docker_sd_configs, which skidder
// runs (sources/docker). Alloy splits listing the containers (discovery.docker) from reading
// their logs (loki.source.docker); Promtail's docker_sd_configs does both through one daemon, so
// the two must name the same host.
//
// Labels as Alloy gives them: the targets' labels after any discovery.relabel, then the source's
// `labels` over them, then its relabel_rules (which also see
// __meta_docker_container_log_stream); labels starting with `__` are dropped after that.
#include <fmt/format.h>

#include "config/alloy_internal.h"
#include "config/field_reader.h"

namespace skidder::config::alloy_internal {
namespace {

// A `labels` entry as a relabel rule that sets it whatever the target had ('$' is literal).
YAML::Node SetLabel(const std::string& name, const std::string& value) {
  std::string replacement;
  for (char c : value) replacement += c == '$' ? "$$" : std::string(1, c);
  YAML::Node rule;
  rule["target_label"] = name;
  rule["replacement"] = replacement;
  return rule;
}

}  // namespace

// discovery.docker as one docker_sd_configs item: the same keys, `filter` blocks as `filters`.
Result<YAML::Node> DockerSd(Loader& l, const Block& b) {
  Result<YAML::Node> node =
      l.AttrsToYaml(b, {}, {"filter", "tls_config", "authorization", "basic_auth", "oauth2"});
  if (!node) return node;
  if (!(*node)["host"]) return Err(l.ErrorAt(b.pos, "discovery.docker: host is required"));
  for (const Block& nb : b.blocks) {
    Result<YAML::Node> sub = ClientBlock(l, nb);
    if (!sub) return sub;
    if (nb.name == "filter") {
      (*node)["filters"].push_back(*sub);  // {name, values}, as Prometheus' filters items
    } else if (nb.name == "authorization") {
      if (Status s = Authorization(l, nb, *sub, &*node); !s.ok()) return Err(std::move(s));
    } else {
      (*node)[nb.name] = *sub;  // tls_config, basic_auth, oauth2: Promtail's keys
    }
  }
  // Checked now, so a mistake names the discovery block even when no source reads it yet.
  DockerSdConfig checked;
  if (Status s = internal::ReadBlock(*node, l.Where(b.pos), Id(b), checked); !s.ok()) {
    return Err(std::move(s));
  }
  return node;
}

Status Loader::ReadDocker(const Block& b) {
  for (const Block& nb : b.blocks) {
    if (nb.name == "http_client_config") {
      return ErrorAt(nb.pos,
                     "http_client_config in loki.source.docker is not supported by skidder, "
                     "which reads the logs with the client settings of the discovery.docker that "
                     "lists the containers: set them there");
    }
  }
  if (Status s = CheckBody(
          b, {"host", "targets", "forward_to", "labels", "relabel_rules", "refresh_interval"}, {});
      !s.ok()) {
    return s;
  }
  const Attribute* host = b.Attr("host");
  if (host == nullptr) return ErrorAt(b.pos, "loki.source.docker: host is required");
  Result<Value> hv = Eval(*host);
  if (!hv) return hv.error();
  if (hv->kind != Value::Kind::kString) return ErrorAt(host->pos, "host: expected a string");
  if (const Attribute* a = b.Attr("refresh_interval")) {  // Alloy: the HTTP client's timeout
    Duration unused;
    if (Status s = DurationAttr(*a, &unused); !s.ok()) return s;
  }
  const Attribute* targets = b.Attr("targets");
  if (targets == nullptr) return ErrorAt(b.pos, "loki.source.docker: targets is required");
  chain_ = {Id(b)};
  Result<Value> tv = Eval(*targets);
  if (!tv) return tv.error();
  Result<Targets> resolved = ResolveTargets(*tv, targets->pos, 0);
  if (!resolved) return resolved.error();
  Targets t = std::move(*resolved);
  if (t.docker_sd.empty() || !t.kubernetes_sd.empty() || !t.file_sd.empty() ||
      !t.static_labels.empty() || t.per_file) {
    return ErrorAt(targets->pos, "loki.source.docker: targets must come from discovery.docker");
  }
  for (const YAML::Node& sd : t.docker_sd) {
    if (sd["host"].Scalar() != hv->str) {
      return ErrorAt(host->pos,
                     fmt::format("host: skidder reads the containers' logs from the daemon that "
                                 "lists them, so this must be discovery.docker's host \"{}\"",
                                 sd["host"].Scalar()));
    }
  }
  if (const Attribute* a = b.Attr("labels")) {
    Result<YAML::Node> labels = LabelsAttr(*a);
    if (!labels) return labels.error();
    for (const auto& kv : *labels)
      t.relabel.push_back(SetLabel(kv.first.Scalar(), kv.second.Scalar()));
  }
  // Then relabel_rules, and what the source forwards to.
  Route route;
  if (Status s = ReceiverRoute(b, &t, &route); !s.ok()) return s;
  YAML::Node node;
  for (const YAML::Node& sd : t.docker_sd) node["docker_sd_configs"].push_back(sd);
  return AddScrapeConfig(b, std::move(node), t, route);
}

}  // namespace skidder::config::alloy_internal
