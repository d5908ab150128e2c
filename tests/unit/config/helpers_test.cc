// The small parsers behind config values: sizes, URLs, durations written back out.
#include <gtest/gtest.h>

#include "config/sections.h"

namespace skidder::config::internal {
namespace {

using namespace std::chrono_literals;

TEST(ParseByteSize, AcceptsPromtailSizes) {
  struct Case {
    const char* text;
    bool ok;
    int64_t want;
  };
  const Case cases[] = {
      {"1048576", true, 1048576},
      {"256KB", true, 256 * 1024},
      {"256kb", true, 256 * 1024},
      {"1MiB", true, 1 << 20},
      {"2 MB", true, 2 << 20},
      {"1G", true, 1 << 30},
      {"10B", true, 10},
      {"0", true, 0},
      {"", false, 0},
      {"KB", false, 0},
      {"1.5MB", false, 0},
      {"-1", false, 0},
      {"1XB", false, 0},
      {"99999999999TB", false, 0},
  };
  for (const Case& c : cases) {
    int64_t got = -1;
    EXPECT_EQ(ParseByteSize(c.text, &got), c.ok) << c.text;
    if (c.ok) {
      EXPECT_EQ(got, c.want) << c.text;
    }
  }
}

TEST(CheckHttpUrl, AcceptsLokiUrlsAndExplainsBadOnes) {
  struct Case {
    const char* url;
    const char* why;
  };
  const Case cases[] = {
      {"http://loki:3100/loki/api/v1/push", ""},
      {"HTTPS://logs.example.com/loki/api/v1/push", ""},
      {"https://user:pass@logs.example.com/x", ""},
      {"http://[::1]:3100/push", ""},
      {"http://loki", ""},
      {"loki:3100/push", "must start with http:// or https://"},
      {"ftp://loki/push", "must start with http:// or https://"},
      {"http:///push", "has no host"},
      {"http://:3100/push", "has no host"},
      {"http://loki:0/push", "has an invalid port \"0\""},
      {"http://loki:/push", "has an invalid port \"\""},
      {"http://loki:31a0/push",
       "has an invalid port (not a number from 1 to 65535; a '#', '?' or '/' in a password must "
       "be percent-encoded)"},
      {"http://loki:99999/push", "has an invalid port \"99999\""},
      {"http://[::1/push", "has an unterminated [IPv6] host"},
  };
  for (const Case& c : cases) EXPECT_EQ(CheckHttpUrl(c.url), c.why) << c.url;
}

// Go's net.Listen forms; an empty port is any free one, as in Go.
TEST(ListenAddressProblem, AcceptsGosListenFormsAndExplainsBadOnes) {
  for (const char* ok : {"0.0.0.0:1514", ":514", "[::]:514", "[::1]:0", "localhost:12201",
                         "127.0.0.1:", "[fe80::1%eth0]:514"}) {
    EXPECT_EQ(ListenAddressProblem(ok), "") << ok;
  }
  EXPECT_EQ(ListenAddressProblem("0.0.0.0"), "has no port (host:port, e.g. \"0.0.0.0:1514\")");
  EXPECT_EQ(ListenAddressProblem("[::1]"), "has no port (host:port, e.g. \"0.0.0.0:1514\")");
  EXPECT_EQ(ListenAddressProblem("::1:514"),
            "has an IPv6 host without brackets (write \"[::1]:514\")");
  EXPECT_EQ(ListenAddressProblem(":65536"),
            "has an invalid port \"65536\" (a number from 0 to 65535)");
  EXPECT_EQ(ListenAddressProblem(":-1"), "has an invalid port \"-1\" (a number from 0 to 65535)");
}

TEST(FormatDuration, WritesWhatParseDurationReads) {
  for (Duration d : {Duration(0), Duration(7ns), Duration(1500ns), Duration(250ms),
                     Duration(1500ms), Duration(90s), Duration(5min), Duration(1h + 30min),
                     Duration(-2s), Duration(1000000001ns)}) {
    Duration back{-1};
    ASSERT_TRUE(ParseDuration(FormatDuration(d), &back)) << FormatDuration(d);
    EXPECT_EQ(back, d) << FormatDuration(d);
  }
  EXPECT_EQ(FormatDuration(5min), "5m0s");
  EXPECT_EQ(FormatDuration(1500ns), "1.5us");
}

}  // namespace
}  // namespace skidder::config::internal
