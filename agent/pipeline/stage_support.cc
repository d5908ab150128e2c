#include "pipeline/stage_support.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <iterator>
#include <utility>

#include "telemetry/agent_metrics.h"
#include "util/log.h"

namespace skidder::pipeline::stages {

Status ReadNestedStages(const YAML::Node& list, const config::StageConfig& parent,
                        const std::string& path, std::vector<config::StageConfig>* out) {
  if (!list.IsSequence()) {
    return config::ErrorAt(parent.file, list, path, "expected a list of stages");
  }
  for (size_t i = 0; i < list.size(); ++i) {
    YAML::Node item = list[i];
    if (!item.IsMap() || item.size() != 1 || !item.begin()->first.IsScalar()) {
      return config::ErrorAt(parent.file, item, fmt::format("{}[{}]", path, i),
                             "a stage must be a mapping with one key, the stage type");
    }
    config::StageConfig st{item.begin()->first.Scalar(), item.begin()->second, parent.file};
    st.origins = parent.origins;
    if (parent.origins != nullptr) {  // a translated stage: named by its own block
      for (const config::StageOrigin& o : *parent.origins) {
        if (o.body.is(st.body)) {
          st.file = o.file;
          st.name = o.name;
          break;
        }
      }
    }
    out->push_back(std::move(st));
  }
  return Status::Ok();
}

std::optional<std::string_view> SourceText(const PipelineEntry& e,
                                           const std::optional<std::string>& source,
                                           std::string* copy) {
  if (!source) return std::string_view(e.entry.line);
  const std::string* v = e.extracted.Get(*source, e.entry.labels);
  if (v == nullptr) return std::nullopt;
  copy->assign(*v);
  return std::string_view(*copy);
}

telemetry::Counter* DropCounter(const StageContext& ctx, std::string_view reason) {
  if (ctx.metrics == nullptr) return nullptr;
  return ctx.metrics->dropped_lines.With({std::string(reason)});
}

size_t StageOutputCap(const StageContext& ctx) {
  if (ctx.limits != nullptr && ctx.limits->max_line_size > 0) {
    return static_cast<size_t>(ctx.limits->max_line_size);
  }
  return kMaxStageOutputBytes;
}

uint64_t LabelsMemo::Hash(const Labels& in, std::string_view key) {
  return in.Hash() ^ std::hash<std::string_view>{}(key);
}

const Labels* LabelsMemo::Find(const Labels& in, std::string_view key) const {
  const Slot* s = slots_.Find(
      Hash(in, key), [&](const Slot& s) { return s.used && s.in.SameAs(in) && s.key == key; });
  return s != nullptr ? &s->out : nullptr;
}

void LabelsMemo::Store(const Labels& in, std::string_view key, const Labels& out) {
  Slot& s = slots_.Insert(Hash(in, key));
  s.used = true;
  s.in = in;
  s.out = out;
  s.key.assign(key);
}

void SetStreamLabel(Labels& labels, std::string_view stream, LabelsMemo& memo) {
  memo.Apply(labels, stream, [stream](Labels& l) { l.Set("stream", stream); });
}

telemetry::Counter* TruncatedCounter(const StageContext& ctx) {
  return ctx.metrics == nullptr ? nullptr : ctx.metrics->truncated_lines.With({});
}

}  // namespace skidder::pipeline::stages
