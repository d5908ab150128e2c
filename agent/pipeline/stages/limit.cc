#include "pipeline/stages/limit.h"

#include <algorithm>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "pipeline/stage_support.h"
#include "util/log.h"

namespace skidder::pipeline::stages {
namespace {

constexpr int64_t kMinDistinctLabels = 10000;  // Promtail's minimal reasonable value
constexpr const char* kDropReason = "ratelimit_drop_stage";

struct LimitConfig {
  double rate = 0;
  int64_t burst = 0;
  bool drop = false;
  std::string by_label_name;
  int64_t max_distinct_labels = kMinDistinctLabels;
};

// golang.org/x/time/rate's Limiter, reduced to Allow(): starts full, refills at `rate` per
// second up to `burst`. Times are monotonic nanoseconds (BatchTime::steady_ns); the bucket's
// clock starts with the first entry it sees.
struct TokenBucket {
  static constexpr int64_t kUnset = INT64_MIN;
  double tokens = 0;
  int64_t last_ns = kUnset;
  telemetry::Counter* dropped_by_label = nullptr;  // cached child of the by-label family

  bool Allow(int64_t now_ns, double rate, double burst) {
    if (last_ns == kUnset) {
      last_ns = now_ns;
    } else if (now_ns > last_ns) {
      tokens = std::min(burst, tokens + static_cast<double>(now_ns - last_ns) * rate / 1e9);
      last_ns = now_ns;
    }
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  }
  // Backpressure mode: every entry passes and takes a token, into debt if need be; the source
  // waits (WaitNs) until the debt is paid back, so the average rate is the configured one.
  void Take(int64_t now_ns, double rate, double burst) {
    if (!Allow(now_ns, rate, burst)) tokens -= 1;
  }
  int64_t WaitNs(int64_t now_ns, double rate, double burst) const {
    const int64_t since = last_ns == kUnset ? 0 : std::max<int64_t>(0, now_ns - last_ns);
    double t = std::min(burst, tokens + static_cast<double>(since) * rate / 1e9);
    if (t >= 1) return 0;
    return static_cast<int64_t>((1 - t) / rate * 1e9) + 1;
  }
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using BucketMap = std::unordered_map<std::string, TokenBucket, StringHash, std::equal_to<>>;

class LimitStage final : public Stage {
 public:
  LimitStage(LimitConfig cfg, telemetry::Counter* dropped,
             telemetry::Family<telemetry::Counter>* by_label)
      : cfg_(std::move(cfg)), dropped_(dropped), by_label_(by_label) {
    global_.tokens = static_cast<double>(cfg_.burst);
  }

  void Process(PipelineEntry&& e, Emitter& out) override {
    if (!cfg_.drop) {  // Promtail blocks here; we pass it on and make the source wait
      global_.Take(e.now.steady_ns, cfg_.rate, static_cast<double>(cfg_.burst));
      out.Emit(std::move(e));
      return;
    }
    if (Allow(e.entry.labels, e.now.steady_ns)) out.Emit(std::move(e));
  }

  int64_t ReadyInNs(int64_t steady_ns) const override {
    if (cfg_.drop) return 0;
    return global_.WaitNs(steady_ns, cfg_.rate, static_cast<double>(cfg_.burst));
  }

  std::string_view Name() const override { return "limit"; }

 private:
  bool Allow(const Labels& labels, int64_t now_ns) {
    const double rate = cfg_.rate, burst = static_cast<double>(cfg_.burst);
    if (cfg_.by_label_name.empty()) {
      if (global_.Allow(now_ns, rate, burst)) return true;
      Inc(dropped_);
      return false;
    }
    const std::string* value = labels.Get(cfg_.by_label_name);
    if (value == nullptr) return true;  // no such label: not limited
    TokenBucket& b = BucketFor(*value);
    if (b.Allow(now_ns, rate, burst)) return true;
    Inc(dropped_);
    if (by_label_ != nullptr) {
      if (b.dropped_by_label == nullptr) {
        b.dropped_by_label = by_label_->With({cfg_.by_label_name, *value});
        counted_.push_back(*value);
      }
      b.dropped_by_label->Add(1);
    }
    return false;
  }

  // Two generations, as Promtail's GenerationalMap: when the current one is full it becomes
  // the previous one and the older buckets (and their by-label drop counts) are forgotten.
  TokenBucket& BucketFor(const std::string& value) {
    if (auto it = current_.find(value); it != current_.end()) return it->second;
    TokenBucket b{static_cast<double>(cfg_.burst), TokenBucket::kUnset, nullptr};
    if (auto it = previous_.find(value); it != previous_.end()) {
      b = it->second;
      previous_.erase(it);
    }
    if (static_cast<int64_t>(current_.size()) >= cfg_.max_distinct_labels) NewGeneration();
    return current_.emplace(value, b).first->second;
  }

  void NewGeneration() {
    previous_ = std::move(current_);
    current_.clear();
    if (by_label_ == nullptr) return;
    for (const std::string& v : counted_) by_label_->Remove({cfg_.by_label_name, v});
    counted_.clear();
    for (auto& [v, b] : previous_) b.dropped_by_label = nullptr;
  }

  LimitConfig cfg_;
  telemetry::Counter* dropped_;
  telemetry::Family<telemetry::Counter>* by_label_;
  TokenBucket global_;
  BucketMap current_, previous_;
  std::vector<std::string> counted_;  // label values with a by-label drop count
};

}  // namespace

Result<std::unique_ptr<Stage>> NewLimitStage(const config::StageConfig& cfg,
                                             const StageContext& ctx, const std::string& path) {
  LimitConfig c;
  config::MapReader r = ReaderFor(cfg, path);
  r.Double("rate", &c.rate);
  r.Int("burst", &c.burst);
  r.Bool("drop", &c.drop);
  r.Str("by_label_name", &c.by_label_name);
  r.Int("max_distinct_labels", &c.max_distinct_labels);
  if (c.rate <= 0) r.Fail("rate", "rate must be greater than zero");
  if (c.burst <= 0) r.Fail("burst", "burst must be greater than zero");
  if (!c.by_label_name.empty() && !c.drop) {
    r.Fail("drop", "when rate limiting by label (by_label_name), drop must be true");
  }
  if (Status s = r.Finish(); !s.ok()) return Err(std::move(s));
  if (!c.by_label_name.empty() && c.max_distinct_labels < kMinDistinctLabels) {
    LOG_WARN("limit stage: max_distinct_labels raised to the minimal reasonable value",
             {{"stage", path},
              {"config", cfg.file},
              {"max_distinct_labels", std::to_string(kMinDistinctLabels)}});
    c.max_distinct_labels = kMinDistinctLabels;
  }
  telemetry::Family<telemetry::Counter>* by_label = nullptr;
  if (ctx.metrics != nullptr && !c.by_label_name.empty()) {
    by_label = &ctx.metrics->registry.NewCounter(
        "logentry_dropped_lines_by_label_total",
        "A count of all log lines dropped as a result of a pipeline stage",
        {"label_name", "label_value"});
  }
  telemetry::Counter* dropped = c.drop ? DropCounter(ctx, kDropReason) : nullptr;
  return std::make_unique<LimitStage>(std::move(c), dropped, by_label);
}

}  // namespace skidder::pipeline::stages
