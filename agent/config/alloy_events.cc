// loki.source.kubernetes_events: a kubernetes_events job (sources/kube_events). Alloy labels every
// entry job=<job_name> (default "loki.source.kubernetes_events") and instance=<the component's
// id>, and the involved object's namespace; the first two become the job's static labels, the
// source adds the namespace. The client block is read as discovery.kubernetes' settings.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "config/alloy_internal.h"
#include "config/sections.h"
#include "util/kube_names.h"

namespace skidder::config::alloy_internal {

// As Alloy reads `namespaces`: "" stands for every namespace (then one cluster-wide watch), and
// a name given twice is watched once.
Status Loader::Namespaces(const Attribute& a, const Value& v, YAML::Node* events) {
  if (v.kind != Value::Kind::kArray || !v.array)
    return ErrorAt(a.pos, "namespaces: expected a list");
  std::vector<std::string> names;
  bool all = false;
  for (const Value& ns : *v.array) {
    if (ns.kind != Value::Kind::kString) {
      return ErrorAt(a.pos, "namespaces: expected a list of strings");
    }
    if (ns.str.empty()) {
      all = true;
    } else if (!IsDnsLabel(ns.str)) {  // it goes into the request path
      return ErrorAt(a.pos, fmt::format("namespaces: {} is not a Kubernetes namespace name "
                                        "(lower-case letters, digits and '-')",
                                        internal::Quote(ns.str)));
    } else if (std::ranges::find(names, ns.str) == names.end()) {
      names.push_back(ns.str);
    }
  }
  if (all) return Status::Ok();
  for (const std::string& ns : names) (*events)["namespaces"].push_back(ns);
  return Status::Ok();
}

Status Loader::ReadKubernetesEvents(const Block& b) {
  if (Status s = CheckBody(b, {"forward_to", "job_name", "namespaces", "log_format"},
                           {"client", "clustering"});
      !s.ok()) {
    return s;
  }
  Targets t;
  Route route;
  if (Status s = ReceiverRoute(b, &t, &route); !s.ok()) return s;
  YAML::Node events(YAML::NodeType::Map);
  std::string job = "loki.source.kubernetes_events";
  for (const Attribute& a : b.attributes) {
    if (a.name == "forward_to") continue;
    Result<Value> v = Eval(a);
    if (!v) return v.error();
    if (a.name == "namespaces") {
      if (Status st = Namespaces(a, *v, &events); !st.ok()) return st;
      continue;
    }
    if (v->kind != Value::Kind::kString) {
      return ErrorAt(a.pos, fmt::format("{}: expected a string", a.name));
    }
    if (a.name == "job_name") {
      if (v->str.empty()) return ErrorAt(a.pos, "job_name must not be an empty string");
      job = v->str;
    } else {
      if (v->str != "logfmt" && v->str != "json") {
        return ErrorAt(a.pos, fmt::format("log_format: unknown format {}; use \"logfmt\" or "
                                          "\"json\"",
                                          internal::Quote(v->str)));
      }
      events["log_format"] = v->str;
    }
  }
  std::set<std::string> seen;
  for (const Block& nb : b.blocks) {
    if (!seen.insert(nb.name).second) {
      return ErrorAt(nb.pos, fmt::format("the {} block is given twice", nb.name));
    }
    if (nb.name == "clustering") {
      // Grafana's k8s-monitoring chart turns it on: Alloy's replicas then elect one reader.
      Result<bool> on = ClusteringEnabled(nb);
      if (!on) return on.error();
      if (*on) {
        cfg_->warnings.push_back(fmt::format(
            "{}: clustering is ignored: every replica or node running this config reads and "
            "sends every event, so run one replica (charts/skidder's controller.type="
            "deployment)",
            Where(nb.pos)));
      }
      continue;
    }
    Result<YAML::Node> client = ClientBlockYaml(nb);
    if (!client) return client.error();
    for (const auto& kv : *client) events[kv.first.as<std::string>()] = kv.second;
  }
  events["labels"]["job"] = job;
  events["labels"]["instance"] = Id(b);
  YAML::Node node;
  node["kubernetes_events"] = events;
  return AddScrapeConfig(b, std::move(node), t, route);
}

}  // namespace skidder::config::alloy_internal
