// The shipped example configs (config/examples/) run end to end on realistic sample logs
// (tests/testdata/examples/): parsed by the real config loader, built into the real pipeline,
// fed line by line the way the file source does, flushed by time as the agent does.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "example_configs.h"
#include "stage_test_util.h"
#include "support/fake_clock.h"
#include "util/clock.h"

namespace skidder::pipeline {
namespace {

namespace fs = std::filesystem;
using testing::Collect;
using testing::kExamples;
using testing::LoadExample;

constexpr int64_t kMs = 1'000'000;
std::string PathGlob(const config::ScrapeConfig& sc) {
  const std::string* p = sc.static_configs.at(0).labels.Get(kPathLabel);
  return p != nullptr ? *p : "";
}

// Runs files through the scrape config's pipeline as the file source would: every line an
// entry with the target's labels and `filename`, stamped with the read time; when a file has
// been read, time passes (5s > max_wait_time) and the pipeline is flushed by its timer.
std::vector<PipelineEntry> RunFiles(const config::ScrapeConfig& sc,
                                    const std::vector<std::string>& files) {
  FakeClock clock(1'790'000'000'000'000'000);  // 2026-09
  StageContext ctx = testing::Ctx(nullptr, nullptr, &clock);
  auto pipeline = Pipeline::Build(sc.pipeline_stages, ctx);
  EXPECT_TRUE(pipeline.has_value()) << (pipeline ? "" : pipeline.error().message());
  Collect out;
  for (const std::string& file : files) {
    std::istringstream in(skidder::testing::ReadFile(file));
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

std::string Metadata(const PipelineEntry& e, const std::string& name) {
  for (const Label& l : e.entry.structured_metadata) {
    if (l.name == name) return l.value;
  }
  return "<absent>";
}

size_t Lines(const std::string& s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')) + 1;
}

TEST(ExampleConfigs, AirflowTaskLogsBecomeOneEntryPerRecordWithDagAndTaskLabels) {
  const config::ScrapeConfig sc = LoadExample("airflow.yaml");
  const std::string glob = PathGlob(sc);
  ASSERT_EQ(glob, "/opt/airflow/logs/dag_id=*/run_id=*/task_id=*/**/attempt=*.log");
  // The sample folder has Airflow's layout; it stands in for /opt/airflow/logs.
  const std::string task_dir = kExamples +
                               "/airflow/dag_id=etl_daily/run_id=scheduled__2026-11-24T00:00:00+"
                               "00:00/task_id=extract_orders";
  ASSERT_TRUE(fs::exists(task_dir + "/attempt=1.log"));
  auto out = RunFiles(sc, {task_dir + "/attempt=1.log", task_dir + "/attempt=2.log"});
  ASSERT_EQ(out.size(), 16u);  // 10 records in attempt 1 (one with a traceback), 6 in attempt 2

  const Labels want_info{{"dag_id", "etl_daily"},
                         {"job", "airflow"},
                         {"level", "info"},
                         {"task_id", "extract_orders"}};
  EXPECT_EQ(out[0].entry.labels, want_info);
  EXPECT_EQ(out[0].entry.timestamp_ns, 1795516812542 * kMs);  // 2026-11-24T10:40:12.542Z
  EXPECT_EQ(Metadata(out[0], "run_id"), "scheduled__2026-11-24T00:00:00+00:00");
  EXPECT_EQ(Metadata(out[0], "attempt"), "1");
  EXPECT_EQ(Metadata(out[0], "filename"), task_dir + "/attempt=1.log");
  EXPECT_EQ(Metadata(out[0], "map_index"), "<absent>");  // not a mapped task

  EXPECT_EQ(*out[5].entry.labels.Get("level"), "warning");
  const PipelineEntry& failure = out[6];
  EXPECT_EQ(*failure.entry.labels.Get("level"), "error");
  EXPECT_TRUE(failure.entry.line.starts_with(
      "[2026-11-24T10:40:15.003+0000] {taskinstance.py:1937} ERROR - Task failed with exception\n"
      "Traceback (most recent call last):\n"
      "  File \"/home/airflow/.local/lib/python3.11/site-packages/airflow/operators/python.py\""))
      << failure.entry.line;
  EXPECT_TRUE(failure.entry.line.ends_with("\nKeyError: 'customer_id'")) << failure.entry.line;
  EXPECT_EQ(Lines(failure.entry.line), 15u);
  EXPECT_EQ(failure.entry.timestamp_ns, 1795516815003 * kMs);
  EXPECT_EQ(Metadata(failure, "exception"), "KeyError");

  EXPECT_EQ(Metadata(out[10], "attempt"), "2");
  EXPECT_EQ(out[10].entry.timestamp_ns, 1795517116010 * kMs);  // 10:45:16.010Z
  for (size_t i = 1; i < out.size(); ++i) {
    EXPECT_GT(out[i].entry.timestamp_ns, out[i - 1].entry.timestamp_ns) << i;
    EXPECT_FALSE(out[i].entry.labels.Has("filename")) << i;
    EXPECT_FALSE(out[i].entry.labels.Has("run_id")) << i;
  }
}

TEST(ExampleConfigs, PythonServiceJoinsChainedTracebacksAndMasksCards) {
  const config::ScrapeConfig sc = LoadExample("python-service.yaml");
  ASSERT_EQ(PathGlob(sc), "/var/log/payments/*.log");
  auto out = RunFiles(sc, {kExamples + "/python/payments.log"});
  ASSERT_EQ(out.size(), 5u);
  // 11:40:12,542 in Europe/Berlin (CET, +01:00) is 10:40:12.542Z.
  EXPECT_EQ(out[0].entry.timestamp_ns, 1795516812542 * kMs);
  EXPECT_EQ(out[0].entry.labels, (Labels{{"filename", kExamples + "/python/payments.log"},
                                         {"job", "payments"},
                                         {"level", "info"}}));
  EXPECT_EQ(Metadata(out[0], "logger"), "payments.api");
  EXPECT_NE(out[1].entry.line.find("card=************1111 for order=1234"), std::string::npos)
      << out[1].entry.line;
  const PipelineEntry& failure = out[2];
  EXPECT_EQ(*failure.entry.labels.Get("level"), "error");
  EXPECT_EQ(Lines(failure.entry.line), 16u);  // both tracebacks and the blank lines between
  EXPECT_NE(failure.entry.line.find("\n\nDuring handling of the above exception"),
            std::string::npos);
  EXPECT_TRUE(failure.entry.line.ends_with("payments.errors.GatewayUnavailable: order 1234"));
  EXPECT_EQ(Metadata(failure, "exception"), "payments.errors.GatewayUnavailable");
  EXPECT_EQ(Metadata(failure, "logger"), "payments.worker");
  EXPECT_EQ(*out[3].entry.labels.Get("level"), "warning");
}

TEST(ExampleConfigs, JavaServiceJoinsStackTracesWithTheirCauses) {
  const config::ScrapeConfig sc = LoadExample("java-service.yaml");
  ASSERT_EQ(PathGlob(sc), "/var/log/shop/*.log");
  auto out = RunFiles(sc, {kExamples + "/java/shop.log"});
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].entry.timestamp_ns, 1795516812542 * kMs);
  EXPECT_EQ(Metadata(out[0], "thread"), "main");
  EXPECT_EQ(*out[1].entry.labels.Get("level"), "warn");
  const PipelineEntry& failure = out[2];
  EXPECT_EQ(*failure.entry.labels.Get("level"), "error");
  EXPECT_EQ(failure.entry.timestamp_ns, 1795516865907 * kMs);  // 10:41:05.907Z
  EXPECT_EQ(Lines(failure.entry.line), 13u);
  EXPECT_TRUE(failure.entry.line.ends_with("\t... 58 common frames omitted"));
  EXPECT_EQ(Metadata(failure, "exception"), "java.lang.IllegalStateException");
  EXPECT_EQ(Metadata(failure, "root_cause"), "java.net.ConnectException");
  EXPECT_EQ(Metadata(failure, "thread"), "nio-8080-exec-5");
  EXPECT_EQ(out[3].entry.line,
            "2026-11-24 10:41:06.010  INFO 1 --- [nio-8080-exec-6] c.e.shop.order.OrderController"
            "           : GET /orders/1233 200 in 12 ms");
}

}  // namespace
}  // namespace skidder::pipeline
