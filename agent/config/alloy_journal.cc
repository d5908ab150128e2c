// loki.source.journal: Promtail's journal scrape config in Alloy's form. Attributes map one to
// one (format_as_json -> json); relabel_rules names the `rules` export of a discovery.relabel or
// loki.relabel, whose rule blocks become the job's relabel_configs over the __journal_* labels.
#include <fmt/format.h>

#include "config/alloy_internal.h"
#include "config/sections.h"

namespace skidder::config::alloy_internal {

Status Loader::RelabelRulesAttr(const Attribute& a, Targets* t) {
  Result<Value> v = Eval(a);
  if (!v) return v.error();
  const Block* b =
      v->kind == Value::Kind::kCapsule && v->capsule.kind == "rules" ? Component(*v) : nullptr;
  if (b == nullptr) {
    return ErrorAt(a.pos,
                   "relabel_rules: expected the rules of a discovery.relabel or "
                   "loki.relabel, e.g. discovery.relabel.journal.rules");
  }
  if (Status s = Enter(v->capsule.component, a.pos); !s.ok()) return s;
  const bool loki = b->name == "loki.relabel";
  Status s = CheckBody(*b,
                       loki ? std::set<std::string>{"forward_to", "max_cache_size"}
                            : std::set<std::string>{"targets"},
                       {"rule"});
  if (!s.ok()) return s;
  for (const Block& rule : b->blocks) {
    Result<YAML::Node> r = RelabelRule(*this, rule);
    if (!r) return r.error();
    t->relabel.push_back(*r);
  }
  return Status::Ok();
}

Status Loader::ReadJournal(const Block& b) {
  Status s = CheckBody(
      b, {"forward_to", "format_as_json", "max_age", "path", "matches", "labels", "relabel_rules"},
      {});
  if (!s.ok()) return s;
  Targets t;
  Route route;
  if (s = ReceiverRoute(b, &t, &route); !s.ok()) return s;
  YAML::Node journal(YAML::NodeType::Map);
  for (const Attribute& a : b.attributes) {
    if (a.name == "forward_to" || a.name == "relabel_rules") continue;
    Result<Value> v = Eval(a);
    if (!v) return v.error();
    if (a.name == "format_as_json") {
      if (v->kind != Value::Kind::kBool) return ErrorAt(a.pos, "format_as_json: expected a bool");
      journal["json"] = v->boolean;
    } else if (a.name == "labels") {
      Result<YAML::Node> labels = ToYaml(*v);
      if (!labels || !labels->IsMap()) return ErrorAt(a.pos, "labels: expected an object");
      journal["labels"] = *labels;
    } else {
      if (v->kind != Value::Kind::kString) {
        return ErrorAt(a.pos, fmt::format("{}: expected a string", a.name));
      }
      journal[a.name] = v->str;  // max_age, path, matches: Promtail's names
    }
  }
  // Alloy labels every entry job="loki.source.journal.<label>" unless `labels` names a job
  // (convertArgs); dashboards built on Alloy's streams select on it.
  if (!journal["labels"]) journal["labels"] = YAML::Node(YAML::NodeType::Map);
  if (!journal["labels"]["job"]) journal["labels"]["job"] = Id(b);
  YAML::Node node;
  node["journal"] = journal;
  return AddScrapeConfig(b, std::move(node), t, route);
}

}  // namespace skidder::config::alloy_internal
