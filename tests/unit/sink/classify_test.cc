#include "sink/loki/classify.h"

#include <gtest/gtest.h>

#include <set>

#include "sink/loki/backoff.h"
#include "support/test_util.h"
#include "telemetry/agent_metrics.h"

namespace skidder::sink {
namespace {

TEST(Classify, EveryStatusClassMapsToItsAction) {
  struct Case {
    int status;
    bool drop_rate_limited;
    Action want;
  } cases[] = {
      {200, false, Action::kAck},   {204, false, Action::kAck},    {429, false, Action::kRetry},
      {429, true, Action::kDrop},   {500, false, Action::kRetry},  {502, false, Action::kRetry},
      {503, false, Action::kRetry}, {504, false, Action::kRetry},  {0, false, Action::kRetry},
      {408, false, Action::kRetry}, {401, false, Action::kReauth}, {403, false, Action::kReauth},
      {413, false, Action::kSplit}, {400, false, Action::kDrop},   {404, false, Action::kRetry},
      {405, false, Action::kRetry}, {422, false, Action::kRetry},  {301, false, Action::kRetry},
  };
  for (const auto& c : cases) {
    Decision d = Classify(c.status, "", c.drop_rate_limited);
    EXPECT_EQ(ActionName(d.action), ActionName(c.want)) << "status " << c.status;
    if (d.action == Action::kDrop) {
      EXPECT_NE(d.reason, nullptr) << "status " << c.status;
    }
  }
}

// Only 4xx answers Loki's push handler never gives are "misrouted" (logged as errors with a hint
// about the URL); Loki's own answers keep their quieter handling.
TEST(Classify, OnlyAnswersLokiNeverGivesAreMisrouted) {
  for (int status : {402, 404, 405, 407, 415, 422, 451, 499}) {
    EXPECT_TRUE(Classify(status, "", false).misrouted) << status;
  }
  for (int status : {0, 200, 204, 301, 400, 401, 403, 408, 413, 429, 500, 503}) {
    EXPECT_FALSE(Classify(status, "", false).misrouted) << status;
  }
}

// nginx's own 400 pages (a gateway in front of Loki): nothing reached Loki and the content is not
// at fault, so the batch is kept and retried as misrouted, not dropped with its lines.
TEST(Classify, AGatewaysHtml400IsMisroutedNotADrop) {
  for (const char* page : {
           "<html>\r\n<head><title>400 The SSL certificate error</title></head>\r\n<body>\r\n"
           "<center><h1>400 Bad Request</h1></center>\r\n<center>The SSL certificate error"
           "</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
           "\n  <!DOCTYPE html><html><body>400 Bad Request</body></html>",
           "<html><head><title>400 Request Header Or Cookie Too Large</title></head></html>",
       }) {
    const Decision d = Classify(400, page, false);
    EXPECT_EQ(ActionName(d.action), ActionName(Action::kRetry)) << page;
    EXPECT_TRUE(d.misrouted) << page;
  }
  // Loki's own 400 is text, even when the line it quotes holds markup.
  const Decision loki =
      Classify(400, "entry for stream '{app=\"web\"}' has timestamp too old: <html> line", false);
  EXPECT_EQ(ActionName(loki.action), ActionName(Action::kDrop));
  EXPECT_STREQ(loki.reason, telemetry::kReasonTooOld);
}

TEST(Classify, DroppedRateLimitedBatchesCountAsRateLimited) {
  EXPECT_STREQ(Classify(429, "", true).reason, telemetry::kReasonRateLimited);
}

TEST(Classify, ReasonComesFromLokisErrorText) {
  struct Case {
    const char* body;
    const char* reason;
  } cases[] = {
      {"entry for stream '{job=\"a\"}' has timestamp too old: 2020-01-01T00:00:00Z, oldest "
       "acceptable timestamp is: 2024-01-01T00:00:00Z",
       telemetry::kReasonTooOld},
      {"1 errors like: entry with timestamp 2024-01-01 ignored, reason: 'entry too far behind, "
       "entry timestamp is: ...'",
       telemetry::kReasonTooFarBehind},
      {"entry out of order for stream", telemetry::kReasonOutOfOrder},
      {"Max entry size '262144' bytes exceeded for stream '{job=\"a\"}' while adding an entry "
       "with length '300000' bytes",
       telemetry::kReasonLineTooLong},
      {"entry for stream '{a=\"b\"}' has timestamp too new: 2099-01-01", "too_new"},
      {"Ingestion rate limit exceeded for user fake", telemetry::kReasonRateLimited},
      {"Maximum active stream limit exceeded", telemetry::kReasonStreamLimit},
      {"error parsing labels: 1:2: parse error", telemetry::kReasonInvalid},
      {"", telemetry::kReasonInvalid},
  };
  for (const auto& c : cases) {
    EXPECT_STREQ(Classify(400, c.body, false).reason, c.reason) << c.body;
  }
}

TEST(Backoff, DelaysStayWithinMinAndADoublingCeilingCappedAtMax) {
  using std::chrono::milliseconds;
  Backoff b(milliseconds(10), milliseconds(80), 42);
  const int64_t ceilings[] = {10, 20, 40, 80, 80, 80};
  for (int64_t ceiling : ceilings) {
    auto d = b.Next();
    EXPECT_GE(d, milliseconds(10));
    EXPECT_LE(d, milliseconds(ceiling));
  }
  b.Reset();
  EXPECT_LE(b.Next(), milliseconds(10));
}

TEST(Backoff, IsJitteredSoAgentsDoNotRetryInLockstep) {
  using std::chrono::milliseconds;
  Backoff b(milliseconds(10), milliseconds(10'000), 7);
  std::set<int64_t> seen;
  for (int i = 0; i < 8; ++i) {
    b.Reset();
    for (int k = 0; k < 6; ++k) b.Next();
    seen.insert(b.Next().count());
  }
  EXPECT_GT(seen.size(), 4u);
}

}  // namespace
}  // namespace skidder::sink
