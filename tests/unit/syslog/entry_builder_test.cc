// Entries from parsed messages: Promtail's meta label names, relabeling, and the relabel cache
// never mixing up two senders.
#include "sources/syslog/entry_builder.h"

#include <gtest/gtest.h>

#include "sources/syslog/net.h"

namespace skidder::sources::syslog {
namespace {

config::RelabelConfig Copy(std::string from, std::string to) {
  config::RelabelConfig rc;
  rc.source_labels = {std::move(from)};
  rc.target_label = std::move(to);
  return rc;
}

class EntryBuilderTest : public ::testing::Test {
 protected:
  void Build(const std::vector<config::RelabelConfig>& rules) {
    auto compiled = kubernetes::CompileRelabel(rules);
    ASSERT_TRUE(compiled) << compiled.error().message();
    rules_ = *compiled;
    builder_ = std::make_unique<EntryBuilder>(cfg_, rules_);
  }
  Entry From(std::string_view text, PeerLabels peer = {"10.0.0.1", ""}) {
    SyslogMessage m;
    EXPECT_TRUE(ParseRfc5424(text, &m).ok()) << text;
    Entry e;
    built_ = builder_->Build(m, text, peer, 42, &e);
    return e;
  }
  config::SyslogConfig cfg_;
  kubernetes::RelabelRules rules_;
  std::unique_ptr<EntryBuilder> builder_;
  bool built_ = false;
};

// __syslog_connection_hostname as Go's net.LookupAddr gives it to Promtail: absolute (a trailing
// dot) when the name has a dot, so that a Promtail user's relabel rules and streams stay.
TEST(GoDomainName, IsAbsoluteWhenTheNameHasADot) {
  EXPECT_EQ(GoDomainName("host.example.com"), "host.example.com.");
  EXPECT_EQ(GoDomainName("host.example.com."), "host.example.com.");
  EXPECT_EQ(GoDomainName("localhost"), "localhost");
}

TEST_F(EntryBuilderTest, StructuredDataLabelsUsePromtailsNames) {
  cfg_.label_structured_data = true;
  cfg_.labels.Set("job", "syslog");
  Build({Copy("__syslog_message_sd_custom_32473_exkey", "exkey"),
         Copy("__syslog_message_sd_origin_ip", "origin"),
         Copy("__syslog_connection_ip_address", "peer")});
  Entry e = From(R"(<165>1 - h a - - [custom@32473 exkey="1"][origin ip="a\"b"] text)");
  ASSERT_TRUE(built_);
  EXPECT_EQ(e.line, "text");
  EXPECT_EQ(e.timestamp_ns, 42);  // no use_incoming_timestamp: the receive time
  EXPECT_EQ(*e.labels.Get("exkey"), "1");
  EXPECT_EQ(*e.labels.Get("origin"), "a\"b");
  EXPECT_EQ(*e.labels.Get("peer"), "10.0.0.1");
  EXPECT_EQ(*e.labels.Get("job"), "syslog");
  EXPECT_EQ(e.labels.size(), 4u);  // no __ label reaches Loki
}

TEST_F(EntryBuilderTest, CachedRelabelingStillTellsSendersApart) {
  Build({Copy("__syslog_message_hostname", "host")});
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(*From("<13>1 - alpha app - - - x").labels.Get("host"), "alpha");
    EXPECT_EQ(*From("<13>1 - beta app - - - x").labels.Get("host"), "beta");
  }
}

// A rule reading a structured-data value that changes with every message (a request id, a
// long payload): a long value's outcome is not cached, short ones still are.
TEST_F(EntryBuilderTest, LongPerMessageValuesAreNotCached) {
  cfg_.label_structured_data = true;
  Build({Copy("__syslog_message_sd_x_id", "id")});
  for (int i = 0; i < 100; ++i) {
    const std::string id = std::string(1000, 'a') + std::to_string(i);
    Entry e = From("<13>1 - h app - - [x id=\"" + id + "\"] text");
    ASSERT_TRUE(built_);
    EXPECT_EQ(*e.labels.Get("id"), id);
  }
  EXPECT_EQ(builder_->cached(), 0u);
  From(R"(<13>1 - h app - - [x id="short"] text)");
  EXPECT_EQ(builder_->cached(), 1u);
}

TEST_F(EntryBuilderTest, IncomingTimestampAndWholeMessageOnRequest) {
  cfg_.use_incoming_timestamp = true;
  cfg_.use_rfc5424_message = true;
  cfg_.labels.Set("job", "syslog");
  Build({});
  const std::string text = "<13>1 2018-10-11T22:14:15.003Z h a - - - body";
  Entry e = From(text);
  EXPECT_EQ(e.line, text);
  EXPECT_EQ(e.timestamp_ns, 1539296055003000000);
}

// A drop rule drops; a message left with no labels is built, as Promtail hands it to the
// stages (which may add labels; the client drops one that still has none).
TEST_F(EntryBuilderTest, ADropRuleDropsTheMessageAndNoLabelsDoesNot) {
  config::RelabelConfig drop = Copy("__syslog_message_severity", "");
  drop.action = "drop";
  drop.regex = "debug";
  cfg_.labels.Set("job", "syslog");
  Build({drop});
  From("<15>1 - h a - - - x");  // severity 7: debug
  EXPECT_FALSE(built_);
  From("<14>1 - h a - - - x");
  EXPECT_TRUE(built_);
  cfg_.labels = Labels();
  Build({});
  Entry e = From("<14>1 - h a - - - x");
  EXPECT_TRUE(built_);
  EXPECT_TRUE(e.labels.empty());
  Build({Copy("__syslog_message_app_name", "__kept_internal")});
  e = From("<14>1 - h a - - - x");
  EXPECT_TRUE(built_);
  EXPECT_TRUE(e.labels.empty());
}

}  // namespace
}  // namespace skidder::sources::syslog
