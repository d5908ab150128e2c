// The Docker log stream decoder: frames split anywhere, both streams, TTY, partial lines joined
// by timestamp, over-long lines cut, hostile headers refused without allocating their length.
#include "sources/docker/log_stream.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/fake_docker_api.h"

namespace skidder::sources::docker {
namespace {

using testing::FakeDockerApi;

struct Got {
  Stream stream;
  int64_t ts;
  std::string line;
  bool operator==(const Got&) const = default;
};

constexpr int64_t kMay2024 = 1714557600'000000000;  // 2024-05-01T10:00:00Z

std::string Msg(int64_t ts, const std::string& text) {
  return FakeDockerApi::Rfc3339Nano(ts) + " " + text;
}

// Decodes a multiplexed body fed in pieces of `step` bytes.
struct Decoded {
  std::vector<Got> lines;
  int bad = 0;
  Status status;
};

Decoded DecodeMux(const std::string& body, size_t step, size_t max_line = 1024) {
  Decoded d;
  FrameDecoder dec;
  LineAssembler out[2] = {LineAssembler(Stream::kStdout, max_line),
                          LineAssembler(Stream::kStderr, max_line)};
  auto on_line = [&](const LogLine& l) {
    d.lines.push_back(Got{l.stream, l.timestamp_ns, std::string(l.line)});
  };
  auto on_bad = [&](std::string_view) { ++d.bad; };
  for (size_t i = 0; i < body.size() && d.status.ok(); i += step) {
    d.status =
        dec.Feed(std::string_view(body).substr(i, step), [&](Stream s, auto piece, bool end) {
          if (s == Stream::kStdout || s == Stream::kStderr) {
            out[s == Stream::kStderr].Feed(piece, end, on_line, on_bad);
          }
        });
  }
  return d;
}

TEST(DockerLogStream, DecodesBothStreamsWhateverTheSplit) {
  std::string body = FakeDockerApi::Frame(1, Msg(kMay2024, "out one\n")) +
                     FakeDockerApi::Frame(2, Msg(kMay2024 + 1, "err one\n")) +
                     FakeDockerApi::Frame(1, Msg(kMay2024 + 2'500, "out two\r\n"));
  std::vector<Got> want = {{Stream::kStdout, kMay2024, "out one"},
                           {Stream::kStderr, kMay2024 + 1, "err one"},
                           {Stream::kStdout, kMay2024 + 2'500, "out two"}};
  for (size_t step : {1u, 3u, 7u, 8u, 9u, 1000u}) {
    Decoded d = DecodeMux(body, step);
    ASSERT_TRUE(d.status.ok()) << step;
    EXPECT_EQ(d.lines, want) << "step " << step;
  }
}

TEST(DockerLogStream, JoinsPartialMessagesOfOneLine) {
  // Docker splits a long line into 16 KiB messages with the same timestamp; only the last
  // ends in "\n".
  std::string body = FakeDockerApi::Frame(1, Msg(kMay2024, "abc")) +
                     FakeDockerApi::Frame(1, Msg(kMay2024, "def")) +
                     FakeDockerApi::Frame(1, Msg(kMay2024, "ghi\n")) +
                     FakeDockerApi::Frame(1, Msg(kMay2024 + 5, "next\n"));
  Decoded d = DecodeMux(body, 5);
  EXPECT_EQ(d.lines, (std::vector<Got>{{Stream::kStdout, kMay2024, "abcdefghi"},
                                       {Stream::kStdout, kMay2024 + 5, "next"}}));
}

TEST(DockerLogStream, PartialLineEndsWhenANewTimestampArrives) {
  std::string body = FakeDockerApi::Frame(1, Msg(kMay2024, "no newline")) +
                     FakeDockerApi::Frame(1, Msg(kMay2024 + 9, "later\n"));
  Decoded d = DecodeMux(body, 4);
  EXPECT_EQ(d.lines, (std::vector<Got>{{Stream::kStdout, kMay2024, "no newline"},
                                       {Stream::kStdout, kMay2024 + 9, "later"}}));
}

TEST(DockerLogStream, CutsOverlongLinesAndKeepsTheNext) {
  std::string huge(5000, 'x');
  std::string body = FakeDockerApi::Frame(1, Msg(kMay2024, huge + "\n")) +
                     FakeDockerApi::Frame(1, Msg(kMay2024 + 1, "after\n"));
  Decoded d = DecodeMux(body, 333, /*max_line=*/100);
  ASSERT_EQ(d.lines.size(), 2u);
  EXPECT_EQ(d.lines[0].line, std::string(100, 'x'));
  EXPECT_EQ(d.lines[1].line, "after");
}

TEST(DockerLogStream, SkipsMessagesWithoutATimestamp) {
  std::string body = FakeDockerApi::Frame(1, "garbage without timestamp\n") +
                     FakeDockerApi::Frame(1, Msg(kMay2024, "fine\n"));
  Decoded d = DecodeMux(body, 64);
  EXPECT_EQ(d.bad, 1);
  EXPECT_EQ(d.lines, (std::vector<Got>{{Stream::kStdout, kMay2024, "fine"}}));
}

TEST(DockerLogStream, RefusesAHeaderDockerNeverSends) {
  std::string body = FakeDockerApi::Frame(1, Msg(kMay2024, "ok\n")) +
                     std::string("\x07\x00\x00\x00\x00\x00\x00\x05hello", 13);
  Decoded d = DecodeMux(body, 4);
  EXPECT_FALSE(d.status.ok());
  EXPECT_EQ(d.lines, (std::vector<Got>{{Stream::kStdout, kMay2024, "ok"}}));
}

TEST(DockerLogStream, AHugeDeclaredLengthIsNeverAllocated) {
  // 4 GiB declared, a few bytes sent: the decoder hands on what came and waits for the rest.
  std::string body = std::string("\x01\x00\x00\x00\xff\xff\xff\xff", 8) + Msg(kMay2024, "x\n");
  FrameDecoder dec;
  size_t seen = 0;
  bool ended = false;
  ASSERT_TRUE(dec.Feed(body,
                       [&](Stream, std::string_view p, bool end) {
                         seen += p.size();
                         ended = ended || end;
                       })
                  .ok());
  EXPECT_EQ(seen, body.size() - 8);
  EXPECT_FALSE(ended);
}

TEST(DockerLogStream, TtyStreamIsSplitAtNewlines) {
  std::string body =
      Msg(kMay2024, "one\r\n") + Msg(kMay2024 + 1, "two\r\n") + Msg(kMay2024 + 2, "thr");
  LineAssembler a(Stream::kStdout, 1024);
  std::vector<Got> got;
  auto on_line = [&](const LogLine& l) {
    got.push_back(Got{l.stream, l.timestamp_ns, std::string(l.line)});
  };
  for (size_t i = 0; i < body.size(); i += 6) {
    a.Feed(std::string_view(body).substr(i, 6), false, on_line, [](std::string_view) {});
  }
  EXPECT_EQ(got, (std::vector<Got>{{Stream::kStdout, kMay2024, "one"},
                                   {Stream::kStdout, kMay2024 + 1, "two"}}));
  a.Feed("ee\n", false, on_line, [](std::string_view) {});
  EXPECT_EQ(got.back().line, "three");
}

// A TTY's raw stream: Docker splits a line past 16 KiB into messages that each start with a
// timestamp, and only their size says where one ends. Before, the second timestamp was left in
// the middle of the joined line.
TEST(DockerLogStream, TtyLinesDockerSplitAt16KiBAreJoinedWithoutTheirTimestamps) {
  const std::string x(kTtyPieceBytes, 'x'), y(3616, 'y'), z(kTtyPieceBytes, 'z');
  const std::string body = Msg(kMay2024, x) + Msg(kMay2024, y + "\n") +
                           Msg(kMay2024 + 1, z + "\n") + Msg(kMay2024 + 2, "short\n");
  for (size_t step : {size_t{1000}, size_t{7}, body.size()}) {
    SCOPED_TRACE(step);
    LineAssembler a(Stream::kStdout, 1 << 20, /*tty=*/true);
    std::vector<Got> got;
    auto on_line = [&](const LogLine& l) {
      got.push_back(Got{l.stream, l.timestamp_ns, std::string(l.line)});
    };
    for (size_t i = 0; i < body.size(); i += step) {
      a.Feed(std::string_view(body).substr(i, step), false, on_line, [](std::string_view) {});
    }
    EXPECT_EQ(got, (std::vector<Got>{{Stream::kStdout, kMay2024, x + y},
                                     {Stream::kStdout, kMay2024 + 1, z},
                                     {Stream::kStdout, kMay2024 + 2, "short"}}));
  }
}

TEST(DockerLogStream, HeldPartialLineReportsItsTimestamp) {
  LineAssembler a(Stream::kStdout, 1024);
  auto ignore_line = [](const LogLine&) {};
  auto ignore_bad = [](std::string_view) {};
  a.Feed(Msg(kMay2024, "partial"), true, ignore_line, ignore_bad);
  EXPECT_EQ(a.held_since_ns(), kMay2024);
  a.Feed(Msg(kMay2024, " end\n"), true, ignore_line, ignore_bad);
  EXPECT_EQ(a.held_since_ns(), 0);
}

}  // namespace
}  // namespace skidder::sources::docker
