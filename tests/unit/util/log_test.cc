#include "util/log.h"

#include <gtest/gtest.h>

namespace skidder::log {
namespace {

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override { CaptureForTest(&out_); }
  void TearDown() override {
    CaptureForTest(nullptr);
    Configure(Level::kInfo, Format::kLogfmt);
  }
  std::string out_;
};

TEST_F(LogTest, LogfmtQuotesOnlyValuesThatNeedIt) {
  Configure(Level::kInfo, Format::kLogfmt);
  LOG_INFO("tailing file", {{"path", "/var/log/a.log"}, {"note", "say \"hi\"\n"}, {"e", ""}});
  EXPECT_NE(out_.find(" level=info msg=\"tailing file\" path=/var/log/a.log "
                      "note=\"say \\\"hi\\\"\\n\" e=\"\"\n"),
            std::string::npos)
      << out_;
}

TEST_F(LogTest, JsonLinesEscapeControlCharacters) {
  Configure(Level::kInfo, Format::kJson);
  LOG_WARN("x", {{"k", std::string_view("a\x01"
                                        "b",
                                        3)}});
  EXPECT_NE(out_.find(R"("level":"warn","msg":"x","k":"a\u0001b"})"), std::string::npos) << out_;
}

// A corrupt positions file or a server's body may put any bytes in a field; the agent's own log
// must stay valid UTF-8 (JSON log pipelines drop or choke on lines that are not).
TEST_F(LogTest, InvalidUtf8InFieldsIsReplacedSoEveryLineStaysValidUtf8) {
  Configure(Level::kInfo, Format::kJson);
  LOG_WARN("corrupt", {{"bytes", "ok \xc3\xa9 bad \xff\xfe cut \xe2\x82"}});
  EXPECT_NE(out_.find("\"bytes\":\"ok \xc3\xa9 bad "
                      R"(\ufffd\ufffd cut \ufffd\ufffd"})"),
            std::string::npos)
      << out_;
  out_.clear();
  Configure(Level::kInfo, Format::kLogfmt);
  LOG_WARN("corrupt", {{"bytes", "\xc0\xaf\xed\xa0\x80"}});  // overlong '/', a surrogate
  EXPECT_NE(out_.find(R"(bytes="\ufffd\ufffd\ufffd\ufffd\ufffd")"), std::string::npos) << out_;
}

TEST_F(LogTest, LinesBelowTheLevelAreNotWritten) {
  Configure(Level::kWarn, Format::kLogfmt);
  LOG_INFO("hidden");
  LOG_DEBUG("hidden too");
  EXPECT_TRUE(out_.empty()) << out_;
}

}  // namespace
}  // namespace skidder::log
