#include "util/redact.h"

#include <gtest/gtest.h>

namespace skidder {
namespace {

TEST(MaskUrlQuery, MasksEveryQueryValueAndKeepsTheRest) {
  EXPECT_EQ(MaskUrlQuery("https://loki/push?token=abc&tenant=x#frag", "<s>"),
            "https://loki/push?token=<s>&tenant=<s>#frag");
  EXPECT_EQ(MaskUrlQuery("http://loki/push?abc123", "<s>"), "http://loki/push?<s>");
  EXPECT_EQ(MaskUrlQuery("http://loki/push", "<s>"), "http://loki/push");
  EXPECT_EQ(MaskUrlQuery("http://loki/push?", "<s>"), "http://loki/push?");
}

TEST(RedactSecrets, MasksCredentialValuesInEchoedRequests) {
  const std::string echoed =
      "bad request\nAuthorization: Bearer tok-123456\nX-Api-Key: key-987654\n"
      "X-Scope-OrgID: team-a\nCookie: sid=s-42\n"
      R"({"authorization":"Basic dXNlcjpwYXNz","password": "hunter2"})"
      "\nPOST /loki/api/v1/push?token=q-555&x=1 from Bearer raw-777";
  std::string r = RedactSecrets(echoed);
  for (const char* secret :
       {"tok-123456", "key-987654", "s-42", "dXNlcjpwYXNz", "hunter2", "q-555", "raw-777"}) {
    EXPECT_EQ(r.find(secret), std::string::npos) << secret << " leaked: " << r;
  }
  EXPECT_NE(r.find("Authorization: Bearer <redacted>"), std::string::npos) << r;
  EXPECT_NE(r.find("X-Scope-OrgID: team-a"), std::string::npos) << "harmless headers stay";
  EXPECT_NE(r.find("bad request"), std::string::npos);
}

TEST(RedactSecrets, LeavesOrdinaryErrorTextAlone) {
  const std::string loki =
      "entry for stream '{job=\"x\"}' has timestamp too old: 2001-01-01, oldest acceptable";
  EXPECT_EQ(RedactSecrets(loki), loki);
}

TEST(MaskUrlCredentials, MasksUserinfoEvenWithAnUnencodedHashOrQuestionMark) {
  EXPECT_EQ(MaskUrlCredentials("http://u:p@loki:3100/push?token=t", "X"),
            "http://X@loki:3100/push?token=X");
  EXPECT_EQ(MaskUrlCredentials("https://admin:Tr0ub4dor#3?x@loki/push", "X"),
            "https://X@loki/push");
  EXPECT_EQ(MaskUrlCredentials("http://loki:3100/push", "X"), "http://loki:3100/push");
  EXPECT_EQ(MaskUrlCredentials("http://loki/a@b", "X"), "http://loki/a@b");  // '@' in the path
}

TEST(MaskQuoted, MasksEveryStringsContentsEscapesIncluded) {
  EXPECT_EQ(MaskQuoted(R"(username = "admin" password = "a\"b")", "X"),
            R"(username = "X" password = "X")");
  EXPECT_EQ(MaskQuoted(R"(password = "unterminated)", "X"), R"(password = "X)");
  EXPECT_EQ(MaskQuoted("no strings", "X"), "no strings");
}

}  // namespace
}  // namespace skidder
