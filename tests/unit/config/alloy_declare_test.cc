// Alloy custom components (declare blocks, as Grafana's k8s-monitoring chart v2 writes them):
// each instance loads as its declare's components written out, with Alloy's scoping, and what
// Alloy refuses is refused with its place.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "alloy_file.h"
#include "config/loader.h"
#include "support/test_util.h"

namespace skidder::config {
namespace {

constexpr const char* kWriteLoki = R"(
loki.write "loki" {
  endpoint { url = "http://loki:3100/loki/api/v1/push" }
}
)";

// The shape of the chart's pod_logs feature: discovery, relabeling, a file source and a process
// pipeline inside the declare, the destination passed in as an argument.
constexpr const char* kDeclare = R"(
declare "pod_logs" {
  argument "logs_destinations" {
    comment = "where collected logs go"
  }
  discovery.kubernetes "pods" {
    role = "pod"
  }
  discovery.relabel "filtered_pods" {
    targets = discovery.kubernetes.pods.targets
    rule {
      source_labels = ["__meta_kubernetes_namespace"]
      target_label  = "namespace"
    }
    rule {
      source_labels = ["__meta_kubernetes_pod_uid", "__meta_kubernetes_pod_container_name"]
      separator     = "/"
      replacement   = "/var/log/pods/*$1/*.log"
      target_label  = "__path__"
    }
  }
  local.file_match "pod_logs" {
    path_targets = discovery.relabel.filtered_pods.output
  }
  loki.source.file "pod_logs" {
    targets    = local.file_match.pod_logs.targets
    forward_to = [loki.process.pod_logs.receiver]
  }
  loki.process "pod_logs" {
    stage.cri {}
    stage.static_labels {
      values = { "source" = "pods" }
    }
    forward_to = argument.logs_destinations.value
  }
}
)";

constexpr const char* kFlat = R"(
discovery.kubernetes "pods" {
  role = "pod"
}
discovery.relabel "filtered_pods" {
  targets = discovery.kubernetes.pods.targets
  rule {
    source_labels = ["__meta_kubernetes_namespace"]
    target_label  = "namespace"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_uid", "__meta_kubernetes_pod_container_name"]
    separator     = "/"
    replacement   = "/var/log/pods/*$1/*.log"
    target_label  = "__path__"
  }
}
local.file_match "pod_logs" {
  path_targets = discovery.relabel.filtered_pods.output
}
loki.source.file "pod_logs" {
  targets    = local.file_match.pod_logs.targets
  forward_to = [loki.process.pod_logs.receiver]
}
loki.process "pod_logs" {
  stage.cri {}
  stage.static_labels {
    values = { "source" = "pods" }
  }
  forward_to = [loki.write.loki.receiver]
}
)";

std::string Dump(Config c) {
  c.source_file.clear();
  return DumpConfig(c);
}

TEST(AlloyDeclare, AnInstanceLoadsAsItsComponentsWrittenOut) {
  AlloyFile f;
  Result<Config> flat = f.Load(std::string(kFlat) + kWriteLoki);
  ASSERT_TRUE(flat) << flat.error().message();
  const std::string instance = R"(
pod_logs "feature" {
  logs_destinations = [
    loki.write.loki.receiver,
  ]
}
)";
  // Before and after the declare, and with the destination before it, as the chart writes it.
  for (const std::string& text : {std::string(kDeclare) + instance + kWriteLoki,
                                  std::string(kWriteLoki) + instance + kDeclare}) {
    Result<Config> declared = f.Load(text);
    ASSERT_TRUE(declared) << declared.error().message();
    EXPECT_EQ(Dump(*declared), Dump(*flat));
    ASSERT_EQ(declared->scrape_configs.size(), 1u);
    EXPECT_EQ(declared->scrape_configs[0].job_name, "pod_logs");
    // Errors in the copy name the line in the declare where the component is written.
    EXPECT_NE(declared->scrape_configs[0].origin.find("pod_logs.feature/loki.source.file.pod_logs"),
              std::string::npos)
        << declared->scrape_configs[0].origin;
  }
}

TEST(AlloyDeclare, EachInstanceIsAJobOfItsOwn) {
  AlloyFile f;
  Result<Config> c = f.Load(std::string(R"(
declare "app_logs" {
  argument "path" { }
  argument "app" {
    optional = true
    default  = "unnamed"
  }
  argument "out" { }
  loki.source.file "files" {
    targets    = [{"__path__" = argument.path.value, "app" = argument.app.value}]
    forward_to = argument.out.value
  }
}
app_logs "airflow" {
  path = "/var/log/airflow/*.log"
  app  = "airflow"
  out  = [loki.write.loki.receiver]
}
app_logs "nginx" {
  path = "/var/log/nginx/*.log"
  out  = [loki.write.loki.receiver]
}
)") + kWriteLoki);
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->scrape_configs.size(), 2u);
  EXPECT_EQ(c->scrape_configs[0].job_name, "files");
  EXPECT_EQ(c->scrape_configs[1].job_name, "app_logs.nginx/loki.source.file.files")
      << "the label is taken, so the component's id names the job";
  const Labels& airflow = c->scrape_configs[0].static_configs.at(0).labels;
  const Labels& nginx = c->scrape_configs[1].static_configs.at(0).labels;
  EXPECT_EQ(*airflow.Get("__path__"), "/var/log/airflow/*.log");
  EXPECT_EQ(*airflow.Get("app"), "airflow");
  EXPECT_EQ(*nginx.Get("__path__"), "/var/log/nginx/*.log");
  EXPECT_EQ(*nginx.Get("app"), "unnamed") << "an optional argument's default";
}

// Nested declares and exports, as the chart's integrations write them: an inner declare's export
// read by the outer one, the outer's export read at the top level, optional arguments read
// through coalesce.
TEST(AlloyDeclare, ExportsAndNestedDeclaresResolve) {
  AlloyFile f;
  Result<Config> c = f.Load(std::string(R"(
declare "files" {
  argument "dir" {
    optional = true
  }
  declare "match" {
    argument "glob" { }
    argument "unset" {
      optional = true
    }
    local.file_match "m" {
      path_targets = [{"__path__" = argument.glob.value, "job" = "nested",
                       "unset" = string.format("%v", argument.unset.value == null)}]
    }
    export "output" {
      value = local.file_match.m.targets
    }
  }
  match "logs" {
    glob = coalesce(argument.dir.value, "/var/log/default") + "/*.log"
  }
  argument "out" { }
  loki.process "p" {
    stage.static_labels {
      values = { "via" = "export" }
    }
    forward_to = argument.out.value
  }
  export "targets" {
    value = match.logs.output
  }
  export "receiver" {
    value = loki.process.p.receiver
  }
}
files "app" {
  dir = "/srv/app"
  out = [loki.write.loki.receiver]
}
files "other" {
  out = [loki.write.loki.receiver]
}
loki.source.file "app" {
  targets    = files.app.targets
  forward_to = [files.app.receiver]
}
loki.source.file "other" {
  targets    = files.other.targets
  forward_to = [files.other.receiver]
}
)") + kWriteLoki);
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->scrape_configs.size(), 2u);
  const ScrapeConfig& app = c->scrape_configs[0];
  EXPECT_EQ(*app.static_configs.at(0).labels.Get("__path__"), "/srv/app/*.log");
  EXPECT_EQ(*app.static_configs.at(0).labels.Get("job"), "nested");
  EXPECT_EQ(*app.static_configs.at(0).labels.Get("unset"), "true")
      << "an optional argument without a default left out is null";
  ASSERT_EQ(app.pipeline_stages.size(), 1u);
  EXPECT_EQ(app.pipeline_stages[0].type, "static_labels");
  EXPECT_EQ(*c->scrape_configs[1].static_configs.at(0).labels.Get("__path__"),
            "/var/log/default/*.log");
}

// What Alloy's scoping allows: a body uses a declare of the top level, a nested instance's
// argument reads a component of the enclosing body, and a default reads the declare's own
// components and other arguments, whatever order they are written in.
TEST(AlloyDeclare, BodiesSeeTheirComponentsArgumentsAndEnclosingDeclares) {
  AlloyFile f;
  testing::WriteFile(f.dir / "dir.txt", "/var/log/feature\n");
  std::string text = std::string(R"(
declare "reader" {
  argument "targets" { }
  argument "out" { }
  loki.source.file "r" {
    targets    = argument.targets.value
    forward_to = argument.out.value
  }
}
declare "feature" {
  argument "out" { }
  argument "glob" {
    optional = true
    default  = argument.dir.value + "/*.log"
  }
  argument "dir" {
    optional = true
    default  = string.trim_space(local.file.base.content)
  }
  local.file "base" {
    filename = argument.dir_file.value
  }
  argument "dir_file" { }
  local.file_match "files" {
    path_targets = [{"__path__" = argument.glob.value}]
  }
  reader "inner" {
    targets = local.file_match.files.targets
    out     = argument.out.value
  }
}
feature "f" {
  out      = [loki.write.loki.receiver]
  dir_file = "DIR_FILE"
}
)") + kWriteLoki;
  text.replace(text.find("DIR_FILE"), 8, f.dir / "dir.txt");
  Result<Config> c = f.Load(text);
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->scrape_configs.size(), 1u);
  EXPECT_EQ(c->scrape_configs[0].job_name, "r");
  EXPECT_EQ(*c->scrape_configs[0].static_configs.at(0).labels.Get("__path__"),
            "/var/log/feature/*.log");
  EXPECT_NE(c->scrape_configs[0].origin.find("feature.f/reader.inner/loki.source.file.r"),
            std::string::npos)
      << c->scrape_configs[0].origin;
}

TEST(AlloyDeclare, WhatAlloyRefusesIsRefusedWhereWritten) {
  AlloyFile f;
  const std::string source = R"(
loki.source.file "f" {
  targets    = [{"__path__" = "/var/log/*.log"}]
  forward_to = [loki.write.loki.receiver]
}
)" + std::string(kWriteLoki);
  const std::string decl = R"(declare "d" {
  argument "out" { }
  loki.process "p" {
    forward_to = argument.out.value
  }
}
)";
  EXPECT_EQ(f.Error(decl + "d \"x\" {\n}\n" + source),
            "c.alloy:7:1: d \"x\": argument out is required (declared at " + (f.dir / "c.alloy") +
                ":2:3)");
  EXPECT_EQ(f.Error(decl + "d \"x\" {\n  out = []\n  outt = []\n}\n" + source),
            "c.alloy:9:3: d has no argument outt (its arguments: out)");
  EXPECT_EQ(f.Error(decl + "d \"x\" {\n  out = []\n}\nd \"x\" {\n  out = []\n}\n" + source),
            "c.alloy:10:1: d.x is defined twice");
  EXPECT_EQ(
      f.Error(decl + decl + source),
      "c.alloy:7:1: declare \"d\" is defined twice (first at " + (f.dir / "c.alloy") + ":1:1)");
  EXPECT_EQ(f.Error(decl + "d {\n  out = []\n}\n" + source),
            "c.alloy:7:1: d needs a label (letters, digits and _), e.g. d \"default\" { ... }");
  // Alloy's labels are identifiers: "a.b" or "x/loki.process.p" would make ids that collide.
  EXPECT_EQ(f.Error(decl + "d \"a.b\" {\n  out = []\n}\n" + source).substr(0, 30),
            "c.alloy:7:1: d needs a label (");
  EXPECT_EQ(f.Error(decl + "e \"x\" {\n}\n" + source),
            "c.alloy:7:1: unknown component e: no declare \"e\" defines it here");
  // Inside a declare only its own components are in scope (Alloy's modules), not the top level.
  EXPECT_EQ(f.Error("declare \"d\" {\n  loki.process \"p\" {\n    forward_to = "
                    "[loki.write.loki.receiver]\n  }\n}\nd \"x\" { }\n" +
                    source),
            "c.alloy:3:19: unknown reference loki.write.loki.receiver: inside declare \"d\" only "
            "its own components, argument.NAME.value and constants can be referenced");
  EXPECT_EQ(f.Error("declare \"d\" {\n  loki.process \"p\" {\n    forward_to = "
                    "argument.nope.value\n  }\n}\nd \"x\" { }\n" +
                    source),
            "c.alloy:3:18: declare \"d\" has no argument nope");
  EXPECT_EQ(f.Error("argument \"a\" { }\n" + source),
            "c.alloy:1:1: argument blocks belong inside a declare block");
  // Argument and export blocks are checked in a declare nothing uses yet, too.
  EXPECT_EQ(f.Error("declare \"d\" {\n  argument \"a\" {\n    required = true\n  }\n}\n" + source),
            "c.alloy:3:5: argument has no attribute required (it has optional, default and "
            "comment)");
  EXPECT_EQ(f.Error("declare \"d\" {\n  export \"e\" { }\n}\nd \"x\" { }\n" + source),
            "c.alloy:2:3: export \"e\": value is required");
  EXPECT_EQ(f.Error("declare \"d\" {\n  e \"again\" { }\n}\ndeclare \"e\" {\n  d \"back\" { "
                    "}\n}\nd \"x\" { }\n" +
                    source),
            "c.alloy:5:3: declare \"d\" uses itself (d -> e -> d)");
  // Alloy's own names cannot name a custom component: a declare "loki" would take loki.write.
  EXPECT_EQ(f.Error("declare \"loki\" { }\n" + source),
            "c.alloy:1:1: declare \"loki\": loki is the name of Alloy's own blocks or components "
            "and cannot name a custom component");
  EXPECT_EQ(f.Error("declare \"logging\" { }\nlogging { }\n" + source).substr(0, 46),
            "c.alloy:1:1: declare \"logging\": logging is the");
  EXPECT_EQ(f.Error("declare \"d\" {\n  foo = 1\n}\n" + source),
            "c.alloy:2:3: attributes belong inside a component block");
  EXPECT_EQ(f.Error("tracing {\n}\n" + source).substr(0, 45),
            "c.alloy:1:1: component tracing is not support");
  // A nested declare is not visible outside the declare it is written in.
  EXPECT_EQ(f.Error("declare \"d\" {\n  declare \"inner\" { }\n}\ninner \"x\" { }\n" + source),
            "c.alloy:4:1: unknown component inner: no declare \"inner\" defines it here");
  // Every argument an instance gives is evaluated, as Alloy does, even one nothing reads; so is
  // every export.
  EXPECT_EQ(f.Error("declare \"d\" {\n  argument \"out\" { }\n}\nd \"x\" {\n  out = "
                    "[loki.write.typo.receiver]\n}\n" +
                    source),
            "c.alloy:5:10: unknown reference loki.write.typo.receiver");
  EXPECT_EQ(f.Error("declare \"d\" {\n  export \"e\" {\n    value = 1 + \"a\"\n  }\n}\nd \"x\" "
                    "{ }\n" +
                    source)
                .substr(0, 14),
            "c.alloy:3:15: ");
  // An optional argument's default that reads itself.
  EXPECT_EQ(f.Error("declare \"d\" {\n  argument \"a\" {\n    optional = true\n    default = "
                    "argument.a.value\n  }\n  export \"e\" {\n    value = argument.a.value\n  "
                    "}\n}\nd \"x\" { }\n" +
                    source),
            "c.alloy:4:15: the default of argument a reads itself");
  // Each level using the next twice: 2^16 instances unless bounded.
  std::string doubling;
  for (int i = 0; i < 15; ++i) {
    doubling +=
        fmt::format("declare \"d{0}\" {{\n  d{1} \"a\" {{ }}\n  d{1} \"b\" {{ }}\n}}\n", i, i + 1);
  }
  doubling += "declare \"d15\" { }\nd0 \"top\" { }\n";
  EXPECT_EQ(f.Error(doubling + source),
            "c.alloy:58:3: custom components expand into more than 2000 components");
  EXPECT_EQ(f.Error("import.file \"m\" {\n  filename = \"m.alloy\"\n}\n" + source),
            "c.alloy:1:1: import.file is not supported by skidder: copy the module's declare "
            "blocks into this file");
  // An export that reads itself through the instance's argument.
  EXPECT_EQ(
      f.Error("declare \"d\" {\n  argument \"a\" { }\n  export \"e\" {\n    value = "
              "argument.a.value\n  }\n}\nd \"x\" {\n  a = d.x.e\n}\nloki.source.file \"g\" {\n"
              "  targets = d.x.e\n  forward_to = [loki.write.loki.receiver]\n}\n" +
              source),
      "c.alloy:8:7: reference cycle through d.x.e");
  // A mistake in a component of an instance is named at its line in the declare.
  EXPECT_EQ(f.Error("declare \"d\" {\n  loki.process \"p\" {\n    forward_to = []\n    "
                    "max_cache_size = 1\n  }\n}\nd \"x\" { }\n" +
                    source),
            "c.alloy:4:5: unknown attribute max_cache_size in loki.process (in d.x)");
  // With several instances, the one whose argument is wrong is named.
  EXPECT_EQ(
      f.Error("declare \"d\" {\n  argument \"out\" { }\n  loki.source.file \"f\" {\n    "
              "targets = [{\"__path__\" = \"/var/log/*.log\"}]\n    forward_to = "
              "argument.out.value\n  }\n}\nd \"good\" {\n  out = [loki.write.loki.receiver]\n}\n"
              "d \"bad\" {\n  out = \"loki\"\n}\n" +
              source),
      "c.alloy:5:5: forward_to: expected a list of receivers, e.g. "
      "[loki.write.default.receiver] (in d.bad)");
}

// Grafana's k8s-monitoring chart writes an otelcol.exporter.loki beside each loki.write. skidder
// runs no OpenTelemetry receivers, so nothing can reach it: it is ignored with a warning.
TEST(AlloyDeclare, AnOtelExporterNothingCanReachIsIgnoredWithAWarning) {
  AlloyFile f;
  const std::string source = R"(
loki.source.file "f" {
  targets    = [{"__path__" = "/var/log/*.log"}]
  forward_to = [loki.write.loki.receiver]
}
otelcol.exporter.loki "loki" {
  forward_to = [loki.write.loki.receiver]
}
)" + std::string(kWriteLoki);
  Result<Config> c = f.Load(source);
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_NE(c->warnings[0].find("c.alloy:6:1: otelcol.exporter.loki.loki is ignored"),
            std::string::npos)
      << c->warnings[0];
  EXPECT_EQ(f.Error(source + "otelcol.exporter.loki \"x\" {\n  format = \"json\"\n}\n"),
            "c.alloy:14:3: unknown attribute format in otelcol.exporter.loki");
  EXPECT_EQ(f.Error(source + "otelcol.exporter.loki \"x\" {\n  forward_to = [loki.write.typo."
                             "receiver]\n}\n"),
            "c.alloy:14:17: unknown reference loki.write.typo.receiver");
}

// Alloy's meta-monitoring example sends Alloy's own logs into a pipeline (logging.write_to).
// skidder's go to stderr; the config loads, with a warning, where it was refused whole.
TEST(AlloyDeclare, LoggingWriteToIsIgnoredWithAWarning) {
  AlloyFile f;
  const std::string source = R"(
loki.source.file "f" {
  targets    = [{"__path__" = "/var/log/*.log"}]
  forward_to = [loki.write.loki.receiver]
}
logging {
  level    = "warn"
  write_to = [loki.write.loki.receiver]
}
)" + std::string(kWriteLoki);
  Result<Config> c = f.Load(source);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->server.log_level, "warn");
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_NE(c->warnings[0].find("c.alloy:8:3: logging.write_to is ignored"), std::string::npos)
      << c->warnings[0];
  std::string typo = source;
  typo.replace(typo.find("write_to = [loki.write.loki") + 12, 15, "loki.write.typo");
  EXPECT_EQ(f.Error(typo), "c.alloy:8:15: unknown reference loki.write.typo.receiver");
}

}  // namespace
}  // namespace skidder::config
