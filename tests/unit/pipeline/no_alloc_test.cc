// The stage chain must not allocate per entry in steady state: neither when its stages leave the
// entry as it is nor on the default Kubernetes path and the parsing and labelling stages (cri,
// docker, json, regex, logfmt, labels, static_labels). This binary's operator new counts while a
// test asks it to.
#include <gtest/gtest.h>

#include "stage_test_util.h"
#include "support/counting_new.h"
#include "support/fake_clock.h"
#include "util/clock.h"

namespace {
bool& g_counting = skidder::testing::alloc_count::counting;
size_t& g_allocations = skidder::testing::alloc_count::allocations;
}  // namespace

namespace skidder::pipeline {
namespace {

class Discard final : public Emitter {
 public:
  void Emit(PipelineEntry&& e) override { lines += e.entry.line.size(); }
  size_t lines = 0;
};

// Allocations made by `entries` runs of the pipeline after one warm-up entry (buffers that
// stages keep and reuse are sized then).
size_t AllocationsPerRun(const std::string& yaml, const std::string& line, const Labels& labels,
                         int entries = 100) {
  FakeClock clock;
  auto p = Pipeline::Build(testing::StagesYaml(yaml), testing::Ctx(nullptr, nullptr, &clock));
  EXPECT_TRUE(p.has_value()) << (p ? "" : p.error().message());
  Discard out;
  std::vector<Entry> input;
  for (int i = 0; i <= entries; ++i) input.push_back(testing::MakeEntry(line, labels, 1));
  (*p)->Process(std::move(input[0]), out);
  g_allocations = 0;
  g_counting = true;
  for (int i = 1; i <= entries; ++i) (*p)->Process(std::move(input[static_cast<size_t>(i)]), out);
  g_counting = false;
  return g_allocations;
}

TEST(StageChain, DoesNotAllocateWhenStagesLeaveEntriesUnchanged) {
  const Labels labels{{"filename", "/var/log/app.log"}, {"job", "app"}, {"__tenant_id__", "t"}};
  const std::string line =
      "2026-11-24T10:40:12.542Z level=info caller=handler.go:118 method=GET status=200";
  EXPECT_EQ(AllocationsPerRun(R"y(
- decolorize: {}
- labeldrop: [pod, container]
- labelallow: [filename, job, __tenant_id__]
- replace:
    expression: 'password=(\S+)'
    replace: '****'
- logfmt:
    mapping: {level:}
    source: absent
- tenant:
    value: t
- structured_metadata:
    trace_id:
- multiline:
    firstline: '^\d{4}-'
    max_lines: 1
)y",
                              line, labels),
            0u);
}

TEST(StageChain, TimestampParsingDoesNotAllocate) {
  // The timestamp changes, the line and labels do not: parsing needs no heap.
  FakeClock clock;
  auto p = Pipeline::Build(testing::StagesYaml(R"y(
- timestamp:
    source: filename
    format: '2006-01-02T15:04:05.000Z07:00'
    location: Europe/Berlin
)y"),
                           testing::Ctx(nullptr, nullptr, &clock));
  ASSERT_TRUE(p.has_value()) << p.error().message();
  Discard out;
  std::vector<Entry> input;
  const Labels labels{{"filename", "2026-11-24T10:40:12.542+01:00"}};
  for (int i = 0; i < 51; ++i) input.push_back(testing::MakeEntry("x", labels, 1));
  (*p)->Process(std::move(input[0]), out);
  g_allocations = 0;
  g_counting = true;
  for (int i = 1; i < 51; ++i) (*p)->Process(std::move(input[static_cast<size_t>(i)]), out);
  g_counting = false;
  EXPECT_EQ(g_allocations, 0u);
}

// The default Kubernetes path: the chart's labels (as relabelling leaves them) and the cri stage,
// which sets four extracted values and the stream label on every line.
TEST(StageChain, CriStageDoesNotAllocatePerLine) {
  const Labels labels{{"filename", "/var/log/pods/ns_web-1_uid/app/0.log"},
                      {"job", "ns/app"},
                      {"namespace", "ns"},
                      {"pod", "web-1"},
                      {"container", "app"},
                      {"app", "web"},
                      {"node_name", "node-1"}};
  const std::string line =
      "2026-11-24T10:40:12.542001710Z stdout F GET /api/v1/orders/8f2c 200 12ms "
      "user=alice@example.com trace=4bf92f3577b34da6a3ce929d0e0e4736";
  EXPECT_EQ(AllocationsPerRun("- cri: {}\n", line, labels), 0u);
}

// The default Kubernetes path with what charts commonly add: the cri stage, a static label and
// a label from an extracted value, on the chart's label set (shared by every entry of a file).
TEST(StageChain, KubernetesPathWithStaticLabelsAndLabelsDoesNotAllocatePerLine) {
  const Labels labels{{"app", "web"},
                      {"container", "app"},
                      {"filename", "/var/log/pods/ns_web-1_uid/app/0.log"},
                      {"instance", "web-eu"},
                      {"job", "ns/web"},
                      {"namespace", "ns"},
                      {"node_name", "node-1"},
                      {"pod", "web-1"}};
  const std::string line =
      "2026-11-24T10:40:12.542001710Z stderr F GET /api/v1/orders/8f2c 200 12ms "
      "user=alice@example.com trace=4bf92f3577b34da6a3ce929d0e0e4736";
  EXPECT_EQ(AllocationsPerRun(R"y(
- cri: {}
- static_labels: {cluster: eu-prod-1, env: prod}
- labels: {stream:, flags:}
)y",
                              line, labels),
            0u);
}

// Parsing and labelling stages on typical lines (values longer than std::string's inline
// buffer): after a warm-up they reuse their buffers and their label sets' results.
TEST(StageChain, ParsingStagesDoNotAllocatePerLine) {
  const Labels labels{{"filename", "/var/log/app.log"}, {"job", "app"}};
  EXPECT_EQ(
      AllocationsPerRun("- regex:\n    expression: 'status=(?P<status>\\d+) (?P<ms>\\d+)ms'\n",
                        "GET /api/v1/orders status=200 12ms user=alice", labels),
      0u)
      << "regex";
  EXPECT_EQ(AllocationsPerRun("- regex:\n    expression: '^(?P<ip>\\S+) - (?P<user>\\S+) '\n",
                              "10.2.7.14 - alice@example.com [24/Nov/2026:10:40:12 +0000] "
                              "\"GET /api/v1/orders/8f2c HTTP/1.1\" 200 512",
                              labels),
            0u)
      << "regex with long values";
  EXPECT_EQ(AllocationsPerRun("- logfmt:\n    mapping: {level:, caller:, msg:, trace:}\n",
                              "level=info caller=handler.go:118 method=GET status=200 "
                              "msg=\"order placed for customer\" "
                              "trace=4bf92f3577b34da6a3ce929d0e0e4736",
                              labels),
            0u)
      << "logfmt";
  EXPECT_EQ(AllocationsPerRun(R"y(
- json:
    expressions:
      level:
      msg:
      trace_id:
      user: user.name
      status:
      duration: duration_ms
      first_item: items[0].sku
      last_item: items[-1].sku
      account: user
      items:
)y",
                              R"({"ts":"2026-11-24T10:40:12.542Z","level":"info",)"
                              R"("msg":"order placed for customer",)"
                              R"("trace_id":"4bf92f3577b34da6a3ce929d0e0e4736",)"
                              R"("user":{"id":42,"name":"alice@example.com"},"status":200,)"
                              R"("duration_ms":12.5,"items":[{"sku":"A-1"},{"sku":"B-2"}]})",
                              labels),
            0u)
      << "json";
  EXPECT_EQ(AllocationsPerRun("- docker: {}\n",
                              R"({"log":"GET /api/v1/orders/8f2c 200 12ms user=alice\n",)"
                              R"("stream":"stderr","time":"2026-11-24T10:40:12.542001710Z"})",
                              labels),
            0u)
      << "docker";
  EXPECT_EQ(AllocationsPerRun("- regex:\n    expression: 'level=(?P<level>\\w+)'\n"
                              "- labels: {level:, app: job}\n",
                              "ts=2026-11-24T10:40:12Z level=warning msg=slow", labels),
            0u)
      << "labels";
  EXPECT_EQ(AllocationsPerRun("- static_labels: {cluster: eu-prod-1, job: override}\n",
                              "GET /api/v1/orders status=200 12ms user=alice", labels),
            0u)
      << "static_labels";
  EXPECT_EQ(
      AllocationsPerRun("- pattern:\n    pattern: '<ip> - <user> [<_>] \"<method> <uri> <_>\" "
                        "<status> <_>'\n"
                        "- labels: {method:, status:}\n",
                        "10.2.7.14 - alice@example.com [24/Nov/2026:10:40:12 +0000] "
                        "\"GET /api/v1/orders/8f2c HTTP/1.1\" 200 512",
                        labels),
      0u)
      << "pattern";
  EXPECT_EQ(AllocationsPerRun("- pattern:\n    pattern: 'level=<level> <_>'\n"
                              "    labels_from_groups: true\n",
                              "level=info caller=handler.go:118 msg=\"order placed\"", labels),
            0u)
      << "pattern's labels_from_groups";
  EXPECT_EQ(AllocationsPerRun("- labeldrop: [filename]\n", "GET /api/v1/orders status=200", labels),
            0u)
      << "labeldrop";
  EXPECT_EQ(AllocationsPerRun("- labelallow: [job]\n", "GET /api/v1/orders status=200", labels), 0u)
      << "labelallow";
}

}  // namespace
}  // namespace skidder::pipeline
