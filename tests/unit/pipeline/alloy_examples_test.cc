// The Alloy forms of the shipped examples (config/examples/*.alloy) give the same entries as
// their Promtail YAML: labels, timestamp, line and structured metadata, entry by entry, on the
// sample logs of tests/testdata/examples/ run the way the file source feeds the pipeline.
#include <gtest/gtest.h>

#include <fstream>

#include "example_configs.h"
#include "stage_test_util.h"
#include "support/fake_clock.h"
#include "util/clock.h"

namespace skidder::pipeline {
namespace {

using testing::Collect;
using testing::kExamples;
using testing::LoadExample;

// As the file source runs a pipeline: one entry per line with the target's labels and
// `filename`, stamped with the read time, flushed by time after each file.
std::vector<PipelineEntry> Run(const config::ScrapeConfig& sc,
                               const std::vector<std::string>& files) {
  FakeClock clock(1'790'000'000'000'000'000);
  StageContext ctx = testing::Ctx(nullptr, nullptr, &clock);
  auto pipeline = Pipeline::Build(sc.pipeline_stages, ctx);
  EXPECT_TRUE(pipeline.has_value()) << (pipeline ? "" : pipeline.error().message());
  if (!pipeline) return {};
  Collect out;
  for (const std::string& file : files) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      Entry e;
      e.line = line;
      for (const Label& l : sc.static_configs.at(0).labels) {
        if (!l.name.starts_with("__")) e.labels.Set(l.name, l.value);
      }
      e.labels.Set(kFilenameLabel, file);
      e.timestamp_ns = clock.NowNs();
      (*pipeline)->Process(std::move(e), out);
      clock.Advance(std::chrono::milliseconds(1));
      (*pipeline)->Flush(clock.NowNs(), false, out);
    }
    clock.Advance(std::chrono::seconds(5));
    (*pipeline)->Flush(clock.NowNs(), false, out);
  }
  return std::move(out.entries);
}

void ExpectSameEntries(const std::string& name, const std::vector<std::string>& files) {
  SCOPED_TRACE(name);
  const std::vector<PipelineEntry> yaml = Run(LoadExample(name + ".yaml"), files);
  const std::vector<PipelineEntry> alloy = Run(LoadExample(name + ".alloy"), files);
  ASSERT_GT(yaml.size(), 0u);
  ASSERT_EQ(alloy.size(), yaml.size());
  for (size_t i = 0; i < yaml.size(); ++i) {
    EXPECT_EQ(alloy[i].entry.labels, yaml[i].entry.labels) << i;
    EXPECT_EQ(alloy[i].entry.timestamp_ns, yaml[i].entry.timestamp_ns) << i;
    EXPECT_EQ(alloy[i].entry.line, yaml[i].entry.line) << i;
    EXPECT_EQ(alloy[i].entry.structured_metadata, yaml[i].entry.structured_metadata) << i;
  }
}

TEST(AlloyExamples, GiveTheSameEntriesAsTheirYaml) {
  const std::string task = kExamples +
                           "/airflow/dag_id=etl_daily/run_id=scheduled__2026-11-24T00:00:00+"
                           "00:00/task_id=extract_orders";
  ExpectSameEntries("airflow", {task + "/attempt=1.log", task + "/attempt=2.log"});
  ExpectSameEntries("python-service", {kExamples + "/python/payments.log"});
  ExpectSameEntries("java-service", {kExamples + "/java/shop.log"});
}

}  // namespace
}  // namespace skidder::pipeline
