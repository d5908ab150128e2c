#include "pipeline/stages/sampling.h"

#include <fmt/format.h>

#include <random>
#include <utility>

#include "pipeline/stage_support.h"

namespace skidder::pipeline::stages {
namespace {

constexpr uint64_t kMaxRandom = 0x7fffffffffffffffULL;

// xoshiro256** seeded through splitmix64: fast, and reproducible from one 64-bit seed.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& word : s_) {
      seed += 0x9e3779b97f4a7c15ULL;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      word = z ^ (z >> 31);
    }
  }
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

class SamplingStage final : public Stage {
 public:
  SamplingStage(double rate, uint64_t seed, telemetry::Counter* dropped)
      : boundary_(static_cast<uint64_t>(static_cast<double>(kMaxRandom) * rate)),
        rng_(seed),
        dropped_(dropped) {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    uint64_t r = 0;
    while (r == 0) r = rng_.Next() & kMaxRandom;  // Promtail draws a non-zero 63-bit id
    if (boundary_ >= r) {
      out.Emit(std::move(e));
      return;
    }
    Inc(dropped_);
  }

  std::string_view Name() const override { return "sampling"; }

 private:
  uint64_t boundary_;
  Rng rng_;
  telemetry::Counter* dropped_;
};

}  // namespace

Result<std::unique_ptr<Stage>> NewSeededSamplingStage(const config::StageConfig& cfg,
                                                      const StageContext& ctx,
                                                      const std::string& path, uint64_t seed) {
  config::MapReader r = ReaderFor(cfg, path);
  double rate = 0;
  std::string reason;
  r.Double("rate", &rate);
  r.Str("drop_counter_reason", &reason);
  if (reason.empty()) reason = "sampling_stage";
  if (rate < 0 || rate > 1) {
    r.Fail("rate", fmt::format("sampling rate must be between 0.0 and 1.0, got {}", rate));
  }
  if (Status s = r.Finish(); !s.ok()) return Err(std::move(s));
  return std::make_unique<SamplingStage>(rate, seed, DropCounter(ctx, reason));
}

Result<std::unique_ptr<Stage>> NewSamplingStage(const config::StageConfig& cfg,
                                                const StageContext& ctx, const std::string& path) {
  std::random_device rd;
  const uint64_t seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  return NewSeededSamplingStage(cfg, ctx, path, seed);
}

}  // namespace skidder::pipeline::stages
