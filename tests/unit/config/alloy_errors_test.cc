// Alloy configurations skidder cannot run are refused at load with file:line:column: unknown
// components and references, cycles, bad values.
#include <gtest/gtest.h>

#include "alloy_file.h"
#include "config/loader.h"
#include "support/test_util.h"

namespace skidder::config {
namespace {

constexpr const char* kLokiWrite = R"(
loki.write "default" {
  endpoint { url = "http://loki:3100/loki/api/v1/push" }
}
)";

// A byte order mark at the start (Windows editors write one) is skipped, as Alloy's scanner does,
// and positions still count from the first character after it.
TEST(AlloyErrors, ALeadingByteOrderMarkIsSkipped) {
  AlloyFile a;
  const std::string src = R"(loki.source.file "f" {
  targets    = [{"__path__" = "/var/log/*.log"}]
  forward_to = [loki.write.default.receiver]
}
)";
  EXPECT_EQ(a.Error("\xEF\xBB\xBF" + src + kLokiWrite), "loaded");
  EXPECT_EQ(a.Error("\xEF\xBB\xBF@"), "c.alloy:1:1: unexpected character \"@\" (at \"@\")");
}

// A bad rule is named at its own rule block, whoever reads it, and in a component nothing uses
// too (Alloy evaluates every component); before, it was reported at the source that read it,
// or not at all.
TEST(AlloyErrors, ABadRelabelRuleIsReportedAtItsOwnBlock) {
  AlloyFile a;
  const std::string rules = R"(
discovery.relabel "r" {
  targets = [{"__path__" = "/var/log/*.log"}]
  rule {
    source_labels = ["job"]
    regex         = "(unclosed"
    target_label  = "x"
  }
}
)";
  const std::string source = R"(loki.source.file "f" {
  targets    = discovery.relabel.r.output
  forward_to = [loki.write.default.receiver]
}
)";
  const std::string want = "c.alloy:4:3: rule.regex: invalid regular expression \"(unclosed\"";
  EXPECT_EQ(a.Error(rules + source + kLokiWrite).substr(0, want.size()), want);
  EXPECT_EQ(a.Error(rules + kLokiWrite +
                    "loki.source.file \"f\" {\n  targets = [{\"__path__\" = "
                    "\"/x.log\"}]\n  forward_to = [loki.write.default.receiver]\n}\n")
                .substr(0, want.size()),
            want)
      << "an unused discovery.relabel is checked too";
  EXPECT_EQ(a.Error(std::string(R"(
loki.source.file "f" {
  targets    = [{"__path__" = "/var/log/*.log"}]
  forward_to = [loki.relabel.r.receiver]
}
loki.relabel "r" {
  forward_to = [loki.write.default.receiver]
  rule { action = "replce" }
}
)") + kLokiWrite)
                .substr(0, 50),
            "c.alloy:8:3: rule.action: unknown action \"replce\";");
}

// Combining the exports of two discoveries is not something skidder can run; the error says so
// and what to write instead, not "got a capsule".
TEST(AlloyErrors, ConcatOfComponentExportsSaysWhatToDoInstead) {
  AlloyFile a;
  EXPECT_EQ(a.Error(std::string(R"(
discovery.kubernetes "a" { role = "pod" }
discovery.kubernetes "b" { role = "pod" }
loki.source.kubernetes "k" {
  targets    = array.concat(discovery.kubernetes.a.targets, discovery.kubernetes.b.targets)
  forward_to = [loki.write.default.receiver]
}
)") + kLokiWrite),
            "c.alloy:5:16: array.concat: skidder cannot combine the targets of "
            "discovery.kubernetes.a with other targets: give each its own loki.source component, "
            "forwarding to the same receivers");
}

// An endpoint's error names the attribute as written (batch_wait, not Promtail's batchwait), at
// the endpoint's position once (a cloned node's mark added ":1:1" after it).
TEST(AlloyErrors, EndpointErrorsUseAlloysAttributeNames) {
  AlloyFile a;
  const std::string src = R"(
loki.source.file "f" {
  targets    = [{"__path__" = "/var/log/*.log"}]
  forward_to = [loki.write.default.receiver]
}
loki.write "default" {
  endpoint {
    url = "http://loki:3100/loki/api/v1/push"
)";
  EXPECT_EQ(a.Error(src + "    batch_wait = \"abc\"\n  }\n}\n"),
            "c.alloy:7:3: loki.write.default.endpoint[0].batch_wait: expected a duration like "
            "500ms or 1m30s, got \"abc\"");
  EXPECT_EQ(a.Error(src + "    min_backoff_period = \"x\"\n  }\n}\n"),
            "c.alloy:7:3: loki.write.default.endpoint[0].min_backoff_period: expected a duration "
            "like 500ms or 1m30s, got \"x\"");
}

// A listen address is checked at load, where the error can name the attribute and its place;
// at start, the socket layer would take port 99999 as 34463.
TEST(AlloyErrors, ListenAddressesAreCheckedAtTheirAttribute) {
  AlloyFile a;
  EXPECT_EQ(a.Error(R"(loki.source.syslog "s" {
  listener {
    address = "0.0.0.0:99999"
  }
  forward_to = []
}
)"),
            "c.alloy:3:5: address: \"0.0.0.0:99999\" has an invalid port \"99999\" (a number "
            "from 0 to 65535)");
  EXPECT_EQ(a.Error(R"(loki.source.gelf "g" {
  listen_address = "0.0.0.0"
  forward_to     = []
}
)"),
            "c.alloy:2:3: listen_address: \"0.0.0.0\" has no port (host:port, e.g. "
            "\"0.0.0.0:1514\")");
}

TEST(AlloyErrors, MaxStreamsMustBeAWholeNumberThatFits) {
  AlloyFile a;
  const std::string src = R"(
loki.source.file "f" {
  targets    = [{"__path__" = "/var/log/*.log"}]
  forward_to = [loki.write.default.receiver]
}
loki.write "default" {
  endpoint { url = "http://loki:3100/loki/api/v1/push" }
  max_streams = )";
  for (const char* bad : {"1e20", "-1", "2.5"}) {
    EXPECT_EQ(a.Error(src + bad + "\n}\n"),
              "c.alloy:8:3: max_streams: expected a whole number up to 2147483647 (0 = no limit)")
        << bad;
  }
  EXPECT_EQ(a.Error(src + "100\n}\n"), "loaded");
}

TEST(AlloyErrors, RefusesWhatItCannotRunWithThePosition) {
  AlloyFile a;
  const std::string src = R"(
loki.source.file "f" {
  targets    = [{"__path__" = "/var/log/*.log"}]
  forward_to = [loki.write.default.receiver]
}
)";
  EXPECT_EQ(a.Error(src + kLokiWrite + "prometheus.scrape \"x\" {\n}\n"),
            "c.alloy:10:1: component prometheus.scrape is not supported by skidder, which runs the "
            "log components (see docs/migrate-from-alloy.md)");
  EXPECT_EQ(a.Error(src + kLokiWrite + "livedebugging {\n  enabled = true\n}\n"), "loaded")
      << "a debugging aid with no effect on what is collected";
  EXPECT_NE(a.Error("logging {\n}\n").find("no client configured: add a loki.write component"),
            std::string::npos);
  EXPECT_EQ(a.Error("livedebugging {\n  port = 1\n}\n"),
            "c.alloy:2:3: unknown attribute port in livedebugging");
  EXPECT_EQ(a.Error("import.git \"m\" {\n}\n"),
            "c.alloy:1:1: import.git is not supported by skidder: copy the module's declare "
            "blocks into this file");
  EXPECT_EQ(a.Error("otelcol.receiver.otlp \"x\" {\n}\n").substr(0, 48),
            "c.alloy:1:1: component otelcol.receiver.otlp is ");
  EXPECT_EQ(a.Error(R"(
loki.source.file "f" {
  targets    = [{"__path__" = "/var/log/*.log"}]
  forward_to = [loki.write.nope.receiver]
}
)"),
            "c.alloy:4:17: unknown reference loki.write.nope.receiver");
  EXPECT_EQ(a.Error(std::string(R"(
loki.source.file "f" {
  targets    = [{"__path__" = "/var/log/*.log"}]
  forward_to = [loki.process.a.receiver]
}
loki.process "a" { forward_to = [loki.process.b.receiver] }
loki.process "b" { forward_to = [loki.process.a.receiver] }
)") + kLokiWrite),
            "c.alloy:7:20: reference cycle: loki.source.file.f -> loki.process.a -> "
            "loki.process.b -> loki.process.a");
  EXPECT_EQ(a.Error(std::string(R"(
loki.source.file "f" {
  targets    = [{"__path__" = "/var/log/*.log"}]
  forward_to = [loki.process.a.receiver]
}
loki.process "a" {
  stage.windowsevent {}
  forward_to = [loki.write.default.receiver]
}
)") + kLokiWrite),
            "c.alloy:7:3: stage.windowsevent is not supported by skidder yet");
  // A cycle or an unknown reference on one branch of a fan-out.
  EXPECT_EQ(a.Error(std::string(R"(
loki.source.file "f" {
  targets    = [{"__path__" = "/var/log/*.log"}]
  forward_to = [loki.process.a.receiver, loki.relabel.b.receiver]
}
loki.process "a" { forward_to = [loki.write.default.receiver] }
loki.relabel "b" { forward_to = [loki.write.default.receiver, loki.relabel.b.receiver] }
)") + kLokiWrite),
            "c.alloy:7:20: reference cycle: loki.source.file.f -> loki.relabel.b -> "
            "loki.relabel.b");
  EXPECT_EQ(a.Error(std::string(R"(
loki.source.file "f" {
  targets    = [{"__path__" = "/var/log/*.log"}]
  forward_to = [loki.process.a.receiver, loki.process.b.receiver]
}
loki.process "a" { forward_to = [loki.write.default.receiver] }
loki.process "b" { forward_to = [loki.write.typo.receiver] }
)") + kLokiWrite),
            "c.alloy:7:34: unknown reference loki.write.typo.receiver");
  EXPECT_EQ(a.Error(std::string(R"(
loki.source.kubernetes "k" {
  targets    = []
  forward_to = [loki.write.default.receiver]
  clustering { enabled = "yes" }
}
)") + kLokiWrite),
            "c.alloy:5:16: enabled: expected a bool");
  EXPECT_EQ(
      a.Error(src + R"(
loki.write "default" {
  endpoint { uri = "http://x" }
}
)"),
      "c.alloy:8:3: loki.write.default.endpoint[0]: unknown key \"uri\" (did you mean \"url\"?)");
  // The attribute it suggests is Alloy's name, not the Promtail key it becomes.
  EXPECT_EQ(a.Error(src + R"(
loki.write "default" {
  endpoint {
    url        = "http://x"
    batch_wiat = "1s"
  }
}
)"),
            "c.alloy:8:3: loki.write.default.endpoint[0]: unknown key \"batch_wiat\" (did you mean "
            "\"batch_wait\"?)");
  EXPECT_EQ(a.Error(src + kLokiWrite + R"(
loki.process "spare" {
  stage.json { expressions = sys.nope("x") }
  forward_to = [loki.write.default.receiver]
}
)"),
            "c.alloy:12:30: unknown function sys.nope")
      << "components no source uses are checked too";
  EXPECT_EQ(a.Error(std::string(R"(
loki.source.file "f" {
  targets    = discovery.relabel.a.output
  forward_to = [loki.write.default.receiver]
}
discovery.relabel "a" { targets = discovery.relabel.b.output }
discovery.relabel "b" { targets = discovery.relabel.a.output }
)") + kLokiWrite),
            "c.alloy:7:25: reference cycle: loki.source.file.f -> discovery.relabel.a -> "
            "discovery.relabel.b -> discovery.relabel.a");
  EXPECT_EQ(a.Error(src + kLokiWrite + "local.file \"s\" { filename = local.file.s.content }\n"),
            "c.alloy:10:29: reference cycle through local.file.s");
  EXPECT_EQ(a.Error(src + kLokiWrite + "local.file \"z\" { filename = \"/dev/zero\" }\n"),
            "c.alloy:10:18: local.file z: /dev/zero is not a regular file")
      << "a device or FIFO must not hang the load";
  EXPECT_EQ(a.Error(std::string(R"(
loki.source.file "f" {
  targets    = [{"__path__" = "/var/log/*.log"}]
  forward_to = [loki.write.default.receiver]
  decompression {
    enabled = false
    format  = "gz"
  }
}
)") + kLokiWrite),
            "loaded");
  EXPECT_EQ(a.Error(std::string(R"(
loki.source.file "f" {
  targets    = [{"__path__" = "/var/log/*.log"}]
  forward_to = [loki.write.default.receiver]
  decompression {
    enabled = true
    format  = "lz4"
  }
}
)") + kLokiWrite),
            "c.alloy:7:5: format: expected \"gz\", \"z\" or \"bz2\"");
  EXPECT_EQ(a.Error(std::string(R"(
loki.source.file "f" {
  targets       = [{"__path__" = "/var/log/*.log"}]
  forward_to    = [loki.write.default.receiver]
  tail_from_end = "yes"
}
)") + kLokiWrite),
            "c.alloy:5:3: tail_from_end: expected true or false");
  EXPECT_EQ(a.Error(src + kLokiWrite + "loki.write \"default\" {\n}\n"),
            "c.alloy:10:1: loki.write.default is defined twice");
  EXPECT_EQ(a.Error("logging {\n  level = \"loud\"\n}\n"),
            "c.alloy:2:3: level: must be debug, info, warn or error");
  EXPECT_EQ(a.Error("loki.write \"x\" {\n  endpoint {\n    url = 1 +\n}\n"),
            "c.alloy:4:1: expected a value, found \"}\" (at \"}\")");
}

}  // namespace
}  // namespace skidder::config
