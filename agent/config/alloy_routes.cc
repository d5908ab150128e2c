// The forward_to graph of a source: loki.process and loki.relabel chains, fan-out into several
// receivers, and the loki.write (or loki.echo) components each path ends at. A path becomes
// pipeline stages; where the graph branches, or a path reaches only some loki.write components, a
// fanout stage (pipeline/stages/fanout.h) gives each branch its own copy of the entry and its own
// clients. The file is read once however many paths its entries take.
#include <fmt/format.h>

#include <cctype>

#include "config/alloy_internal.h"

namespace skidder::config::alloy_internal {

bool Route::MayHaveExtracted() const {
  static const std::set<std::string> kNone = {"relabel", "labeldrop", "labelallow", "static_labels",
                                              "reset_extracted"};
  // Since the last reset (or the start), a stage that may extract values.
  for (auto it = stages.rbegin(); it != stages.rend(); ++it) {
    if (it->type == "reset_extracted") return false;
    if (!kNone.contains(it->type)) return true;
  }
  return extracted;
}

Status Loader::ReadProcess(const Block& b, Route* route) {
  for (const Block& stage : b.blocks) {
    Result<std::pair<std::string, YAML::Node>> s = Stage(*this, stage, 0);
    if (!s) return s.error();
    route->stages.push_back({std::move(s->first), std::move(s->second), stage.pos, stage.name});
  }
  return Status::Ok();
}

Status Loader::ResolveReceivers(const Value& v, Pos pos, bool head, Targets* targets,
                                Route* route) {
  if (v.kind != Value::Kind::kArray) {
    return ErrorAt(pos,
                   "forward_to: expected a list of receivers, e.g. [loki.write.default.receiver]");
  }
  std::vector<const Block*> next;
  std::set<std::string> writes;
  for (const Value& r : *v.array) {
    if (r.kind != Value::Kind::kCapsule || r.capsule.kind != "receiver") {
      return ErrorAt(pos, fmt::format("forward_to: {} is not a receiver", lang::alloy::ToText(r)));
    }
    const Block* b = Component(r);
    if (b->name == "loki.write") {
      writes.insert(r.capsule.component);
    } else {
      next.push_back(b);
    }
  }
  route->writes.insert(writes.begin(), writes.end());
  route->fanout_pos = pos;  // a routing stage, if one is needed, points at this forward_to
  if (next.size() == 1 && writes.empty()) {  // a chain: the next component's stages follow on
    return Follow(*next[0], pos, head && route->stages.empty(), targets, route);
  }
  for (const Block* b : next) {  // fan-out: each receiver gets its own copy of every entry
    Route branch;
    branch.extracted = route->MayHaveExtracted();
    if (Status s = Follow(*b, pos, false, targets, &branch); !s.ok()) return s;
    route->branches.push_back(std::move(branch));
  }
  return Status::Ok();
}

namespace {

// A loki.relabel rule that reads or sets `filename`, or keeps or drops labels by name: in Alloy
// it sees an entry of loki.source.file, which carries the file's `filename`; skidder's target
// relabeling runs before a file is opened, when there is no `filename` yet (a keep on it would
// drop every file, a labeldrop of it would leave it on every entry).
bool NeedsEntryLabels(const YAML::Node& rule) {
  std::string action = rule["action"] ? rule["action"].Scalar() : "replace";
  for (char& c : action) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (action == "labeldrop" || action == "labelkeep") return true;
  if (rule["target_label"] && rule["target_label"].Scalar() == "filename") return true;
  return ReadsLabel(rule, "filename");
}

}  // namespace

Status Loader::Follow(const Block& b, Pos pos, bool head, Targets* targets, Route* route) {
  if (++visits_ > kMaxVisits) {
    return ErrorAt(pos, fmt::format("forward_to: more than {} components on the paths of one "
                                    "source",
                                    kMaxVisits));
  }
  if (Status s = Enter(Id(b), pos); !s.ok()) return s;
  if (b.name == "loki.echo") {  // a sink: the entries are printed and go no further
    if (Status s = CheckBody(b, {}, {}); !s.ok()) return s;
    route->stages.push_back({"echo", YAML::Node(YAML::NodeType::Map), b.pos, Id(b)});
    chain_.pop_back();
    return Status::Ok();
  }
  const bool process = b.name == "loki.process";
  Status s = CheckBody(b,
                       process ? std::set<std::string>{"forward_to"}
                               : std::set<std::string>{"forward_to", "max_cache_size"},
                       process ? std::set<std::string>{"stage.*"} : std::set<std::string>{"rule"});
  if (!s.ok()) return s;
  if (process) {
    // Alloy's loki.process starts each entry with its labels as the extracted values: nothing a
    // component before it on the path extracted.
    if (route->MayHaveExtracted()) {
      route->stages.push_back({"reset_extracted", YAML::Node(YAML::NodeType::Map), b.pos, Id(b)});
    }
    if (s = ReadProcess(b, route); !s.ok()) return s;
  } else {
    YAML::Node rules(YAML::NodeType::Sequence);
    bool entry_labels = false;
    for (const Block& rule : b.blocks) {
      Result<YAML::Node> r = RelabelRule(*this, rule);
      if (!r) return r.error();
      entry_labels = entry_labels || NeedsEntryLabels(*r);
      rules.push_back(*r);
    }
    // Before any processing a loki.relabel is part of the target's relabeling (a dropped target
    // is never read), unless a rule needs what only entries carry (the file's `filename`);
    // otherwise, and after any processing, a stage over the entry's labels.
    if (head && !entry_labels) {
      for (const YAML::Node& r : rules) targets->relabel.push_back(r);
    } else {
      NoteStage(rules, b.pos, Id(b) + ".rule");
      route->stages.push_back({"relabel", rules, b.pos, Id(b) + ".rule"});
    }
  }
  const Attribute* fwd = b.Attr("forward_to");
  if (fwd == nullptr) return ErrorAt(b.pos, b.name + ": forward_to is required");
  Result<Value> out = Eval(*fwd);
  if (!out) return out.error();
  s = ResolveReceivers(*out, fwd->pos, head && route->stages.empty(), targets, route);
  chain_.pop_back();
  return s;
}

YAML::Node Loader::ClientIndices(const std::set<std::string>& writes) const {
  YAML::Node list(YAML::NodeType::Sequence);
  for (const std::string& w : writes) {
    auto it = write_clients_.find(w);
    if (it == write_clients_.end()) continue;
    for (size_t i : it->second) list.push_back(i);
  }
  list.SetStyle(YAML::EmitterStyle::Flow);
  return list;
}

std::vector<RouteStage> Loader::EncodeRoute(const Route& route) {
  std::vector<RouteStage> out = route.stages;
  std::set<std::string> all;
  for (const auto& [id, clients] : write_clients_) all.insert(id);
  // Every client: no routing. Not when there is no loki.write at all (a loki.echo-only config),
  // where a path with forward_to = [] must still go to no client (-client.url may add one).
  if (route.branches.empty() && !all.empty() && route.writes == all) return out;
  // A path that ends at a loki.echo: nothing reaches a routing stage after it.
  if (route.branches.empty() && route.writes.empty() && !out.empty() && out.back().type == "echo") {
    return out;
  }
  YAML::Node fanout(YAML::NodeType::Sequence);
  if (!route.writes.empty() || route.branches.empty()) {
    YAML::Node direct;
    direct["clients"] = ClientIndices(route.writes);
    fanout.push_back(direct);
  }
  for (const Route& b : route.branches) {
    YAML::Node branch(YAML::NodeType::Map);
    // A branch that ends at its writers names them itself rather than through a nested fanout.
    const bool leaf = b.branches.empty() && !b.writes.empty();
    for (const RouteStage& st : leaf ? b.stages : EncodeRoute(b)) {
      YAML::Node item;
      item[st.type] = st.body;
      branch["stages"].push_back(item);
    }
    if (leaf && b.writes != all) branch["clients"] = ClientIndices(b.writes);
    fanout.push_back(branch);
  }
  NoteStage(fanout, route.fanout_pos, "forward_to");  // a branch may hold a fanout of its own
  out.push_back({"fanout", fanout, route.fanout_pos, "forward_to"});
  return out;
}

}  // namespace skidder::config::alloy_internal
