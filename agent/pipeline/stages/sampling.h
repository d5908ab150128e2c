// The sampling stage: keeps a random `rate` (0..1) share of entries, like Promtail's sampling
// stage; the others are dropped and counted in logentry_dropped_lines_total with reason
// `drop_counter_reason` ("sampling_stage" by default).
// Each entry is kept independently with probability `rate` (Promtail's Jaeger-style boundary
// test on a 63-bit random number). Owned by one Pipeline; called from its thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "util/status.h"

namespace skidder::pipeline::stages {

// Seeded from std::random_device.
Result<std::unique_ptr<Stage>> NewSamplingStage(const config::StageConfig& cfg,
                                                const StageContext& ctx, const std::string& path);
// The same with a fixed seed: the same seed keeps the same entries (tests, benchmarks).
Result<std::unique_ptr<Stage>> NewSeededSamplingStage(const config::StageConfig& cfg,
                                                      const StageContext& ctx,
                                                      const std::string& path, uint64_t seed);

}  // namespace skidder::pipeline::stages
