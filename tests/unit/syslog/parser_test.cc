// The RFC 5424 and RFC 3164 parsers against the messages Promtail's tests send, and what
// go-syslog (Promtail's parser) refuses.
#include "sources/syslog/parser.h"

#include <gtest/gtest.h>

namespace skidder::sources::syslog {
namespace {

constexpr int64_t kNow = 1'700'000'000'000'000'000;  // 2023-11-14T22:13:20Z

TEST(Rfc5424, ParsesEveryHeaderFieldAndStructuredData) {
  SyslogMessage m;
  ASSERT_TRUE(ParseRfc5424("<165>1 2018-10-11T22:14:15.003Z host5 e - id1 "
                           "[custom@32473 exkey=\"1\" b=\"q\\\"\\]\\\\x\"][o] "
                           "An application event log entry...",
                           &m)
                  .ok());
  EXPECT_EQ(m.priority, 165);
  EXPECT_EQ(SeverityName(m.priority % 8), "notice");
  EXPECT_EQ(FacilityName(m.priority / 8), "local4");
  EXPECT_EQ(*m.timestamp_ns, 1539296055003000000);
  EXPECT_EQ(*m.hostname, "host5");
  EXPECT_EQ(*m.app_name, "e");
  EXPECT_FALSE(m.proc_id.has_value());
  EXPECT_EQ(*m.msg_id, "id1");
  ASSERT_EQ(m.structured_data.size(), 2u);
  EXPECT_EQ(m.structured_data[0].id, "custom@32473");
  EXPECT_EQ(m.structured_data[0].name, "exkey");
  EXPECT_EQ(m.structured_data[0].value, "1");
  EXPECT_EQ(SdUnescape(m.structured_data[1].value), "q\"]\\x");
  EXPECT_EQ(*m.message, "An application event log entry...");
}

TEST(Rfc5424, AppliesTheTimestampOffset) {
  SyslogMessage m;
  ASSERT_TRUE(ParseRfc5424("<13>1 2003-10-11T22:14:15.000003-07:00 - - - - - x", &m).ok());
  EXPECT_EQ(*m.timestamp_ns, 1065935655000003000);
}

TEST(Rfc5424, ADateBeyondNanosecondRangeParsesWithoutTimestamp) {
  SyslogMessage m;
  ASSERT_TRUE(ParseRfc5424("<13>1 9999-12-31T23:59:59Z - - - - - x", &m).ok());
  EXPECT_FALSE(m.timestamp_ns.has_value());
  EXPECT_EQ(*m.message, "x");
}

TEST(Rfc5424, NilValuesAreAbsentAndAMissingMessageIsEmpty) {
  SyslogMessage m;
  ASSERT_TRUE(ParseRfc5424("<13>1 - - - - - -", &m).ok());
  EXPECT_FALSE(m.timestamp_ns || m.hostname || m.app_name || m.msg_id || m.message);
  ASSERT_TRUE(ParseRfc5424("<13>1 - - - - - - ", &m).ok());
  EXPECT_FALSE(m.message.has_value());
}

TEST(Rfc5424, KeepsNonUtf8BytesOfTheMessage) {
  SyslogMessage m;
  ASSERT_TRUE(ParseRfc5424("<165>1 - - - - - - Some non utf8 \xF8\xF7 characters", &m).ok());
  EXPECT_EQ(*m.message, "Some non utf8 \xF8\xF7 characters");
}

TEST(Rfc5424, RefusesWhatGoSyslogRefuses) {
  for (const char* bad : {
           "<165>1    -   An application event log entry...",  // Promtail's malformed examples
           "<165>1 2018-10-11T22:14:15.007Z host5 e -   An application event log entry...",
           "<192>1 - - - - - x",                              // priority over 191
           "<13>0 - - - - - x",                               // version 0
           "<13>1 2018-02-30T00:00:00Z - - - - - x",          // no 30 February
           "<13>1 2018-10-11T22:14:15.0000001Z - - - - - x",  // 7 fraction digits
           "<13>1 - - - - [a b=\"c] x",                       // unterminated value
           "<13>1 - - - - [a b=c] x",                         // unquoted value
           "<13>1 - - - - x",                                 // missing structured data
           "13>1 - - - - - x",
           "",
       }) {
    SyslogMessage m;
    EXPECT_FALSE(ParseRfc5424(bad, &m).ok()) << bad;
  }
}

TEST(Rfc3164, ParsesTimestampHostTagAndPid) {
  SyslogMessage m;
  ASSERT_TRUE(
      ParseRfc3164("<34>Oct 11 22:14:15 mymachine su[42]: 'su root' failed", kNow, &m).ok());
  EXPECT_EQ(m.priority, 34);
  EXPECT_EQ(FacilityName(m.priority / 8), "auth");
  EXPECT_EQ(SeverityName(m.priority % 8), "critical");
  EXPECT_EQ(*m.timestamp_ns, 1697062455000000000);  // 2023-10-11T22:14:15Z: the year of now
  EXPECT_EQ(*m.hostname, "mymachine");
  EXPECT_EQ(*m.app_name, "su");
  EXPECT_EQ(*m.proc_id, "42");
  EXPECT_FALSE(m.msg_id.has_value());
  EXPECT_EQ(*m.message, "'su root' failed");
}

TEST(Rfc3164, AMessageWithoutTagIsAllMessageAndDecemberIsLastYearInJanuary) {
  SyslogMessage m;
  const int64_t jan_2024 = 1704153600'000'000'000;  // 2024-01-02T00:00:00Z
  ASSERT_TRUE(ParseRfc3164("<13>Dec  5 17:32:18 10.0.0.99 Use the BFG!", jan_2024, &m).ok());
  EXPECT_EQ(*m.timestamp_ns, 1701797538000000000);  // 2023-12-05T17:32:18Z
  EXPECT_EQ(*m.hostname, "10.0.0.99");
  EXPECT_FALSE(m.app_name.has_value());
  EXPECT_EQ(*m.message, "Use the BFG!");
}

// Docker's syslog driver (default format), BSD syslog and appliances send no hostname: the token
// after the timestamp is the tag when it ends in ':' (go-syslog allows no ':' in a hostname).
TEST(Rfc3164, ATagRightAfterTheTimestampIsNoHostname) {
  SyslogMessage m;
  ASSERT_TRUE(ParseRfc3164("<30>Jan  2 15:04:05 abc123def456[1234]: hello", kNow, &m).ok());
  EXPECT_FALSE(m.hostname.has_value());
  EXPECT_EQ(*m.app_name, "abc123def456");
  EXPECT_EQ(*m.proc_id, "1234");
  EXPECT_EQ(*m.message, "hello");
  ASSERT_TRUE(ParseRfc3164("<13>Oct 11 22:14:15 su: 'su root' failed", kNow, &m).ok());
  EXPECT_FALSE(m.hostname.has_value());
  EXPECT_EQ(*m.app_name, "su");
  EXPECT_FALSE(m.proc_id.has_value());
  EXPECT_EQ(*m.message, "'su root' failed");
  // An IPv6 address is still a hostname.
  ASSERT_TRUE(ParseRfc3164("<13>Oct 11 22:14:15 fe80::1 app: up", kNow, &m).ok());
  EXPECT_EQ(*m.hostname, "fe80::1");
  EXPECT_EQ(*m.app_name, "app");
}

TEST(Rfc3164, RefusesAMessageWithoutTimestamp) {
  SyslogMessage m;
  EXPECT_FALSE(ParseRfc3164("<13>hello world", kNow, &m).ok());
  EXPECT_FALSE(ParseRfc3164("<13>Foo 11 22:14:15 host x", kNow, &m).ok());
}

TEST(Names, FollowGoSyslog) {
  EXPECT_EQ(SeverityName(0), "emergency");
  EXPECT_EQ(SeverityName(6), "informational");
  EXPECT_EQ(FacilityName(0), "kern");
  // RFC 5427's keywords, as go-syslog v4 (Promtail 3, Alloy) names them: LOG_CRON is 9.
  EXPECT_EQ(FacilityName(9), "cron");
  EXPECT_EQ(FacilityName(12), "ntp");
  EXPECT_EQ(FacilityName(13), "security");
  EXPECT_EQ(FacilityName(14), "console");
  EXPECT_EQ(FacilityName(15), "cron2");
  EXPECT_EQ(FacilityName(23), "local7");
}

// Alloy's raw format: the message as sent, its <PRI> taken off and whitespace trimmed.
TEST(Raw, TakesThePriorityOffAndKeepsTheRest) {
  SyslogMessage m;
  ASSERT_TRUE(ParseRaw("  <189>77: 000073: *Mar  1 18:46:11: %SYS-5-CONFIG_I: done \r", &m).ok());
  EXPECT_EQ(m.priority, 189);
  EXPECT_EQ(*m.message, "77: 000073: *Mar  1 18:46:11: %SYS-5-CONFIG_I: done");
  EXPECT_FALSE(m.timestamp_ns.has_value());
  EXPECT_FALSE(m.hostname.has_value());

  ASSERT_TRUE(ParseRaw("CEF:0|Vendor|Product|1.0|100|event|5|src=10.0.0.1", &m).ok());
  EXPECT_EQ(m.priority, -1);
  EXPECT_EQ(*m.message, "CEF:0|Vendor|Product|1.0|100|event|5|src=10.0.0.1");
  // Not a priority: over 191, not digits, more than 3 digits.
  for (const char* kept : {"<192>x", "<a1>x", "<1234>x", "<>x"}) {
    ASSERT_TRUE(ParseRaw(kept, &m).ok());
    EXPECT_EQ(m.priority, -1) << kept;
    EXPECT_EQ(*m.message, kept);
  }
  for (const char* empty : {"", "   \t", "<13>", "<13>  "}) {
    ASSERT_TRUE(ParseRaw(empty, &m).ok());
    EXPECT_FALSE(m.message.has_value()) << empty;
  }
}

}  // namespace
}  // namespace skidder::sources::syslog
