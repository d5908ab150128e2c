#include "pipeline/stages/fanout.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "pipeline/stage_support.h"

namespace skidder::pipeline::stages {
namespace {

constexpr size_t kMaxRoutedClients = 64;  // bits of Entry::clients

struct Branch {
  std::unique_ptr<Pipeline> pipeline;  // null: no stages
  uint64_t clients = ~uint64_t{0};
};

// Narrows what a branch emits to the branch's clients.
class RouteEmitter final : public Emitter {
 public:
  RouteEmitter(Emitter& out, uint64_t clients) : out_(out), clients_(clients) {}
  void Emit(PipelineEntry&& e) override {
    e.entry.clients &= clients_;
    out_.Emit(std::move(e));
  }

 private:
  Emitter& out_;
  uint64_t clients_;
};

class FanoutStage final : public Stage {
 public:
  explicit FanoutStage(std::vector<Branch> branches) : branches_(std::move(branches)) {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    for (size_t i = 0; i + 1 < branches_.size(); ++i) {
      PipelineEntry copy = e;  // each path gets its own copy; the ack ref is shared
      Run(branches_[i], std::move(copy), out);
    }
    if (!branches_.empty()) Run(branches_.back(), std::move(e), out);
  }

  void Flush(int64_t now_ns, bool force, Emitter& out) override {
    for (Branch& b : branches_) {
      RouteEmitter routed(out, b.clients);
      if (b.pipeline) b.pipeline->Flush(now_ns, force, routed);
    }
  }

  void Hold(int64_t now_ns, const UnreadSources& unread) override {
    for (Branch& b : branches_) {
      if (b.pipeline) b.pipeline->Hold(now_ns, unread);
    }
  }
  bool Holding() const override {
    return std::any_of(branches_.begin(), branches_.end(),
                       [](const Branch& b) { return b.pipeline && b.pipeline->Holding(); });
  }

  int64_t ReadyInNs(int64_t steady_ns) const override {
    int64_t wait = 0;
    for (const Branch& b : branches_) {
      if (b.pipeline) wait = std::max(wait, b.pipeline->ReadyInNs(steady_ns));
    }
    return wait;
  }

  int64_t NextFlushNs() const override {
    int64_t next = kNoFlush;
    for (const Branch& b : branches_) {
      if (b.pipeline) next = std::min(next, b.pipeline->NextFlushNs());
    }
    return next;
  }

  uint64_t Routes() const override {
    uint64_t routes = 0;
    for (const Branch& b : branches_)
      routes |= b.clients & (b.pipeline ? b.pipeline->Routes() : ~uint64_t{0});
    return routes;
  }

  std::string_view Name() const override { return "fanout"; }

 private:
  static void Run(Branch& b, PipelineEntry&& e, Emitter& out) {
    RouteEmitter routed(out, b.clients);
    if (b.pipeline) {
      b.pipeline->Process(std::move(e), routed);
    } else {
      routed.Emit(std::move(e));
    }
  }

  std::vector<Branch> branches_;
};

// `clients`: a list of indices into the config's clients.
void ReadClients(config::MapReader& r, const YAML::Node& list, const StageContext& ctx,
                 uint64_t* out) {
  if (!list.IsSequence()) {
    r.Fail("clients", "expected a list of client indices, e.g. [0, 1]");
    return;
  }
  *out = 0;
  for (const YAML::Node& item : list) {
    int64_t i = -1;
    if (!item.IsScalar() || !YAML::convert<int64_t>::decode(item, i) || i < 0) {
      r.Fail("clients", "expected a list of client indices, e.g. [0, 1]");
    } else if (static_cast<size_t>(i) >= kMaxRoutedClients) {
      r.Fail("clients", fmt::format("client {} is past the 64 a fanout can route to", i));
    } else if (ctx.clients != 0 && static_cast<size_t>(i) >= ctx.clients) {
      r.Fail("clients", fmt::format("client {} does not exist ({} clients)", i, ctx.clients));
    } else {
      *out |= uint64_t{1} << i;
    }
  }
}

Result<Branch> ReadBranch(const config::StageConfig& cfg, const YAML::Node& node,
                          const StageContext& ctx, const std::string& path) {
  config::MapReader r(node, cfg.file, path);
  Branch b;
  YAML::Node stages = r.Node("stages");
  YAML::Node clients = r.Node("clients");
  if (clients.IsDefined() && !clients.IsNull()) ReadClients(r, clients, ctx, &b.clients);
  if (Status s = r.Finish(); !s.ok()) return Err(std::move(s));
  if (!stages.IsDefined() || stages.IsNull()) return b;
  std::vector<config::StageConfig> list;
  const std::string sub = path + ".stages";
  if (Status s = ReadNestedStages(stages, cfg, sub, &list); !s.ok()) return Err(s);
  auto built = Pipeline::Build(list, ctx, sub);
  if (!built) return Err(std::move(built.error()));
  b.pipeline = std::move(*built);
  return b;
}

}  // namespace

Result<std::unique_ptr<Stage>> NewFanoutStage(const config::StageConfig& cfg,
                                              const StageContext& ctx, const std::string& path) {
  if (!cfg.body.IsSequence() || cfg.body.size() == 0) {
    return Err(config::ErrorAt(cfg.file, cfg.body, path,
                               "expected a list of branches ({stages: [...], clients: [...]})"));
  }
  std::vector<Branch> branches;
  for (size_t i = 0; i < cfg.body.size(); ++i) {
    Result<Branch> b = ReadBranch(cfg, cfg.body[i], ctx, fmt::format("{}[{}]", path, i));
    if (!b) return Err(std::move(b.error()));
    branches.push_back(std::move(*b));
  }
  return std::make_unique<FanoutStage>(std::move(branches));
}

}  // namespace skidder::pipeline::stages
