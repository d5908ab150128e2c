// Promtail's `decompression` block with the real binary: .gz, .z (zlib) and .bz2 archives matched
// by a job's globs are delivered whole, once; a restart resumes inside an archive without
// duplicates or loss; a corrupt archive is named in one clear error and the agent keeps going.
#include <bzlib.h>
#include <fmt/format.h>
#include <zlib.h>

#include <string>

#include "harness.h"
#include "support/compress.h"

namespace skidder::testing {
namespace {

using namespace std::chrono_literals;

class Decompression : public IntegrationTest {
 protected:
  // One job per format over logs/*.<ext>, and a plain job over logs/*.log.
  std::string WriteDecompressionConfig() {
    std::string jobs;
    for (const char* format : {"gz", "z", "bz2"}) {
      jobs += fmt::format(R"(  - job_name: archives-{0}
    decompression: {{enabled: true, format: {0}}}
    static_configs: [{{labels: {{job: archives-{0}, __path__: "{1}/*.{0}"}}}}]
)",
                          format, logs());
    }
    std::string yaml = fmt::format(R"(server: {{http_listen_port: 0, log_level: debug}}
positions: {{filename: {0}, sync_period: 100ms}}
clients:
  - url: {1}
    batchwait: 50ms
    batchsize: 16384
    timeout: 2s
    backoff_config: {{min_period: 20ms, max_period: 200ms}}
scrape_configs:
{2}  - job_name: plain
    static_configs: [{{labels: {{job: plain, __path__: "{3}/*.log"}}}}]
)",
                                   positions_file(), loki_.url(), jobs, logs());
    std::string path = dir_ / "skidder.yaml";
    WriteFile(path, yaml);
    return path;
  }
};

TEST_F(Decompression, EachFormatIsDeliveredWholeWithItsJobAndFilename) {
  WriteFile(logs() + "/a.log.1.gz", Gzip(Lines("gz", 0, 3000)));
  WriteFile(logs() + "/b.z", Zlib(Lines("z", 0, 3000)));
  WriteFile(logs() + "/c.bz2", Bzip2(Lines("bz2", 0, 3000)));
  StartAgent(WriteDecompressionConfig());
  ASSERT_TRUE(loki_.WaitForLines(9000, 60s)) << loki_.LineCount();
  ExpectEachOnce("gz", 0, 3000);
  ExpectEachOnce("z", 0, 3000);
  ExpectEachOnce("bz2", 0, 3000);
  for (const auto& e : loki_.Entries()) {
    if (e.line != "bz2-0") continue;
    EXPECT_NE(e.labels.find("job=\"archives-bz2\""), std::string::npos) << e.labels;
    EXPECT_NE(e.labels.find("filename=\"" + logs() + "/c.bz2\""), std::string::npos) << e.labels;
  }
  // Read whole once: later passes over the globs do not read a done archive again.
  WriteFile(logs() + "/later.log", Lines("later", 0, 10));
  ASSERT_TRUE(loki_.WaitForLines(9010, 30s));
  EXPECT_EQ(loki_.LineCount(), 9010u);
}

TEST_F(Decompression, StopAndStartResumeInsideAnArchiveWithoutDuplicatesOrLoss) {
  constexpr int kLines = 200000;
  WriteFile(logs() + "/big.gz", Gzip(Lines("big-gz", 0, kLines)));
  WriteFile(logs() + "/big.bz2", Bzip2(Lines("big-bz2", 0, kLines)));
  WriteFile(logs() + "/big.z", Zlib(Lines("big-z", 0, kLines)));
  const std::string config = WriteDecompressionConfig();
  // Small batches answered slowly: the archives cannot all be delivered before the stop.
  loki_.SetResponseDelay(20ms);
  StartAgent(config);
  ASSERT_TRUE(loki_.WaitForLines(1000, 60s));
  ASSERT_EQ(agent_.Terminate(), 0);  // what was read is delivered, then positions are saved
  ASSERT_LT(loki_.LineCount(), size_t{3 * kLines}) << "everything arrived before the stop";
  const std::string positions = ReadFile(positions_file());
  EXPECT_NE(positions.find("\"gz\":true"), std::string::npos) << positions;
  loki_.SetResponseDelay(0ms);
  StartAgent(config);
  ASSERT_TRUE(loki_.WaitForLines(3 * kLines, 120s)) << loki_.LineCount();
  for (const char* prefix : {"big-gz", "big-bz2", "big-z"}) {
    SCOPED_TRACE(fmt::format("{}; positions before the restart: {}", prefix, positions));
    ExpectEachOnce(prefix, 0, kLines);
  }
}

// Promtail's initial_delay is 0 by default: an export that gzip (or bzip2) is still writing is
// found mid-stream. It is read as far as it goes, the agent says it waits for the writer, and the
// rest is read when it comes: delivered whole, once. (Marked done when its bytes ran out, the
// rest was lost.)
TEST_F(Decompression, AnArchiveFoundWhileItIsWrittenIsDeliveredWholeOnceItsWriterFinishes) {
  const std::string gz = Gzip(Lines("slow-gz", 0, 20000));
  const std::string bz2 = Bzip2(Lines("slow-bz2", 0, 20000));
  WriteFile(logs() + "/slow.gz", gz.substr(0, gz.size() / 2));
  WriteFile(logs() + "/slow.bz2", bz2.substr(0, bz2.size() / 2));
  StartAgent(WriteDecompressionConfig());
  const auto waiting = [&](const std::string& name) {  // a log line saying so for logs/name
    const std::string err = agent_.Stderr();
    for (size_t at = 0; (at = err.find("waiting for its writer", at)) != std::string::npos;) {
      const size_t end = err.find('\n', at);
      if (err.substr(at, end - at).find(logs() + "/" + name) != std::string::npos) return true;
      at = end;
    }
    return false;
  };
  ASSERT_TRUE(WaitFor([&] { return waiting("slow.gz") && waiting("slow.bz2"); }, 60s))
      << agent_.Stderr();
  AppendFile(logs() + "/slow.gz", gz.substr(gz.size() / 2));
  AppendFile(logs() + "/slow.bz2", bz2.substr(bz2.size() / 2));
  ASSERT_TRUE(loki_.WaitForLines(40000, 60s)) << loki_.LineCount();
  ExpectEachOnce("slow-gz", 0, 20000);
  ExpectEachOnce("slow-bz2", 0, 20000);
  EXPECT_EQ(agent_.Stderr().find("compressed file is corrupt"), std::string::npos);
  EXPECT_EQ(agent_.Stderr().find("compressed file is truncated"), std::string::npos);
}

// SIGKILL: at least once. Lines of a read chunk that was only partly acknowledged are sent
// again (positions are acknowledged offsets, per chunk); nothing is lost.
TEST_F(Decompression, KillInsideAnArchiveLosesNothing) {
  constexpr int kLines = 200000;
  WriteFile(logs() + "/big.bz2", Bzip2(Lines("big-bz2", 0, kLines)));
  WriteFile(logs() + "/big.z", Zlib(Lines("big-z", 0, kLines)));
  const std::string config = WriteDecompressionConfig();
  loki_.SetResponseDelay(20ms);
  StartAgent(config);
  ASSERT_TRUE(loki_.WaitForLines(1000, 60s));
  agent_.Kill();
  ASSERT_LT(loki_.LineCount(), size_t{2 * kLines}) << "everything arrived before the kill";
  loki_.SetResponseDelay(0ms);
  StartAgent(config);
  ASSERT_TRUE(loki_.WaitForLines(2 * kLines, 120s)) << loki_.LineCount();
  ExpectEachOnce("big-bz2", 0, kLines, /*allow_duplicates=*/true);
  ExpectEachOnce("big-z", 0, kLines, /*allow_duplicates=*/true);
}

TEST_F(Decompression, PromtailPositionCountsLines) {
  WriteFile(logs() + "/old.gz", Gzip(Lines("old", 0, 500)));
  // Promtail keeps the number of lines it read from a decompressed file.
  WriteFile(positions_file(), "positions:\n  " + logs() + "/old.gz: \"200\"\n");
  StartAgent(WriteDecompressionConfig());
  ASSERT_TRUE(loki_.WaitForLines(300, 30s));
  ExpectEachOnce("old", 200, 500);
  WriteFile(logs() + "/after.log", Lines("after", 0, 1));
  ASSERT_TRUE(loki_.WaitForLines(301, 30s));
  EXPECT_EQ(ReceivedCounts().count("old-199"), 0u);
  EXPECT_EQ(loki_.LineCount(), 301u);
}

TEST_F(Decompression, CorruptArchiveIsNamedInAClearErrorAndTheAgentKeepsRunning) {
  std::string gz = Gzip(Lines("bad", 0, 20000));
  gz.resize(gz.size() / 2);
  gz += "this is not deflate data";
  WriteFile(logs() + "/bad.gz", gz);
  WriteFile(logs() + "/not-bzip2.bz2", "plain text, not bzip2\n");
  WriteFile(logs() + "/good.z", Zlib(Lines("good", 0, 100)));
  StartAgent(WriteDecompressionConfig());
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::string err = agent_.Stderr();
        return err.find("compressed file is corrupt") != std::string::npos &&
               err.find(logs() + "/bad.gz") != std::string::npos &&
               err.find(logs() + "/not-bzip2.bz2") != std::string::npos;
      },
      30s))
      << agent_.Stderr();
  WriteFile(logs() + "/app.log", Lines("app", 0, 100));
  ASSERT_TRUE(WaitFor(
      [&] {
        auto counts = ReceivedCounts();
        return counts.contains("good-99") && counts.contains("app-99");
      },
      30s));
  ExpectEachOnce("good", 0, 100);
  ExpectEachOnce("app", 0, 100);
  EXPECT_TRUE(agent_.Running());
  // The lines before the damage were delivered; none of them twice.
  auto counts = ReceivedCounts();
  EXPECT_EQ(counts["bad-0"], 1);
  EXPECT_EQ(agent_.HttpGet("/ready").find("Ready"), 0u);
}

}  // namespace
}  // namespace skidder::testing
