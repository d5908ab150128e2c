// The stream framer: octet counting and newline framing, split anywhere across reads, with
// bounded memory for oversize messages.
#include "sources/syslog/framer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace skidder::sources::syslog {
namespace {

struct Got {
  std::vector<std::string> messages, truncated, partial;
};

StreamFramer::Error FeedAll(StreamFramer& f, const std::vector<std::string>& chunks, Got* got,
                            bool eos = true) {
  StreamFramer::Error err = StreamFramer::Error::kNone;
  for (size_t i = 0; i < chunks.size() && err == StreamFramer::Error::kNone; ++i) {
    err = f.Feed(chunks[i], eos && i + 1 == chunks.size(),
                 [&](StreamFramer::Event ev, std::string_view m) {
                   auto& to = ev == StreamFramer::Event::kMessage     ? got->messages
                              : ev == StreamFramer::Event::kTruncated ? got->truncated
                                                                      : got->partial;
                   to.emplace_back(m);
                 });
  }
  return err;
}

TEST(StreamFramer, SplitsOctetCountedFramesAcrossAnyReadBoundary) {
  const std::string stream = "5 <1>1a6 <1>1bc\n3 xyz";
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    StreamFramer f(100);
    Got got;
    ASSERT_EQ(FeedAll(f, {stream.substr(0, cut), stream.substr(cut)}, &got),
              StreamFramer::Error::kNone);
    EXPECT_EQ(got.messages, (std::vector<std::string>{"<1>1a", "<1>1bc", "xyz"})) << cut;
  }
}

TEST(StreamFramer, NewlineFramingKeepsContinuationLinesInTheMessage) {
  StreamFramer f(100);
  Got got;
  ASSERT_EQ(FeedAll(f, {"<1>a\n<2>b\nmore\n<3>c"}, &got), StreamFramer::Error::kNone);
  EXPECT_EQ(got.messages, (std::vector<std::string>{"<1>a", "<2>b\nmore", "<3>c"}));
}

TEST(StreamFramer, ANewlineMessageWaitsForItsEndUnlessTheStreamEnds) {
  StreamFramer f(100);
  Got got;
  ASSERT_EQ(FeedAll(f, {"<1>a"}, &got, /*eos=*/false), StreamFramer::Error::kNone);
  EXPECT_TRUE(got.messages.empty());
  EXPECT_EQ(f.buffered(), 4u);
  EXPECT_FALSE(f.HoldsLine());
  ASSERT_EQ(FeedAll(f, {"bc\n"}, &got, false), StreamFramer::Error::kNone);
  // Its newline came last: a continuation line may follow in the next read.
  EXPECT_TRUE(got.messages.empty());
  EXPECT_TRUE(f.HoldsLine());
  ASSERT_EQ(FeedAll(f, {"<2>d\n"}, &got, false), StreamFramer::Error::kNone);
  EXPECT_EQ(got.messages, (std::vector<std::string>{"<1>abc"}));  // the next message came
  f.FlushLine([&](StreamFramer::Event, std::string_view m) { got.messages.emplace_back(m); });
  EXPECT_EQ(got.messages, (std::vector<std::string>{"<1>abc", "<2>d"}));  // quiet: it is whole
  EXPECT_EQ(f.buffered(), 0u);
}

// A stack trace whose lines reach us in separate reads (two writes, or TCP cut it after a
// newline) is one message, as go-syslog reads it, wherever the reads end. The framing error a
// continuation line used to cause closed the connection and lost what followed.
TEST(StreamFramer, AContinuationLineInTheNextReadJoinsTheMessage) {
  const std::string stream =
      "<11>1 - h app - - - java.lang.Exception\n\tat Foo.bar(Foo.java:1)\n"
      "100 in the Foo\n<14>1 - h app - - - next\n";
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    StreamFramer f(1000);
    Got got;
    ASSERT_EQ(FeedAll(f, {stream.substr(0, cut), stream.substr(cut)}, &got),
              StreamFramer::Error::kNone)
        << cut;
    EXPECT_EQ(got.messages,
              (std::vector<std::string>{"<11>1 - h app - - - java.lang.Exception\n\tat "
                                        "Foo.bar(Foo.java:1)\n100 in the Foo",
                                        "<14>1 - h app - - - next"}))
        << cut;
  }
}

// A continuation line that comes after its message was flushed as quiet is a message of its own,
// not a framing error: the stream goes on.
TEST(StreamFramer, AContinuationAfterAFlushIsAMessageOfItsOwn) {
  StreamFramer f(100);
  Got got;
  const auto collect = [&](StreamFramer::Event, std::string_view m) {
    got.messages.emplace_back(m);
  };
  ASSERT_EQ(FeedAll(f, {"<1>a\n"}, &got, /*eos=*/false), StreamFramer::Error::kNone);
  f.FlushLine(collect);
  ASSERT_EQ(FeedAll(f, {"\tat x\n"}, &got, false), StreamFramer::Error::kNone);
  EXPECT_TRUE(f.HoldsLine());
  ASSERT_EQ(FeedAll(f, {"<2>b\n"}, &got, false), StreamFramer::Error::kNone);
  f.FlushLine(collect);
  ASSERT_EQ(FeedAll(f, {"\tat y\n<3>c"}, &got), StreamFramer::Error::kNone);
  EXPECT_EQ(got.messages, (std::vector<std::string>{"<1>a", "\tat x", "<2>b", "\tat y", "<3>c"}));
  // Without a flush first, such a line still ends the stream.
  StreamFramer g(100);
  EXPECT_EQ(FeedAll(g, {"\tat z\n"}, &got), StreamFramer::Error::kBadFraming);
}

// A truncated message's rest is skipped up to the next message, also when a read ends with a
// newline and the next one goes on with the message (a long stack trace in several writes).
// A late continuation that starts with digits ("404 Not Found") is a line, not an octet count:
// as a count it swallowed the next message ("404 " bytes of it) or closed the stream. A count
// after a flush frames a syslog message ("8 <2>..."); the digits may come in separate reads.
TEST(StreamFramer, ALateLineStartingWithDigitsIsNotAnOctetCount) {
  const std::string stream = "404 Not Found\n<2>b\n";
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    StreamFramer f(100);
    Got got;
    const auto collect = [&](StreamFramer::Event, std::string_view m) {
      got.messages.emplace_back(m);
    };
    ASSERT_EQ(FeedAll(f, {"<1>a\n"}, &got, /*eos=*/false), StreamFramer::Error::kNone);
    f.FlushLine(collect);
    ASSERT_EQ(FeedAll(f, {stream.substr(0, cut)}, &got, false), StreamFramer::Error::kNone) << cut;
    f.FlushLine(collect);  // the reads came with a quiet moment between them
    ASSERT_EQ(FeedAll(f, {stream.substr(cut)}, &got, false), StreamFramer::Error::kNone) << cut;
    f.FlushLine(collect);
    EXPECT_EQ(got.messages, (std::vector<std::string>{"<1>a", "404 Not Found", "<2>b"})) << cut;
  }
  StreamFramer f(100);
  Got got;
  ASSERT_EQ(FeedAll(f, {"<1>a\n"}, &got, /*eos=*/false), StreamFramer::Error::kNone);
  f.FlushLine([&](StreamFramer::Event, std::string_view m) { got.messages.emplace_back(m); });
  ASSERT_EQ(FeedAll(f, {"8", " <", "2>1 - h"}, &got), StreamFramer::Error::kNone);
  EXPECT_EQ(got.messages, (std::vector<std::string>{"<1>a", "<2>1 - h"}));
}

TEST(StreamFramer, TheRestOfATruncatedMessageIsSkippedAcrossReads) {
  StreamFramer f(10);
  Got got;
  ASSERT_EQ(FeedAll(f, {"<1>aaaaaaaaaaaaaa\n", "\tat x\n", "\tat y\n<2>b\n"}, &got, false),
            StreamFramer::Error::kNone);
  f.FlushLine([&](StreamFramer::Event, std::string_view m) { got.messages.emplace_back(m); });
  EXPECT_EQ(got.truncated, (std::vector<std::string>{"<1>aaaaaaa"}));
  EXPECT_EQ(got.messages, (std::vector<std::string>{"<2>b"}));
  got = {};
  ASSERT_EQ(FeedAll(f, {"<3>cccccccccccc\n", "<4>d\n"}, &got), StreamFramer::Error::kNone);
  EXPECT_EQ(got.messages, (std::vector<std::string>{"<4>d"}));  // a '<' after the newline: next
}

TEST(StreamFramer, FramingIsChosenPerMessage) {
  StreamFramer f(100);
  Got got;
  // After a newline-framed message a digit continues it (as in go-syslog), in the same read
  // or the next; once the message is flushed (the stream was quiet), an octet count starts.
  ASSERT_EQ(FeedAll(f, {"4 <1>a<2>b\n", "3 <3><4>c\n2 x"}, &got), StreamFramer::Error::kNone);
  EXPECT_EQ(got.messages, (std::vector<std::string>{"<1>a", "<2>b\n3 <3><4>c\n2 x"}));
  got = {};
  ASSERT_EQ(FeedAll(f, {"<2>b\n"}, &got, /*eos=*/false), StreamFramer::Error::kNone);
  f.FlushLine([&](StreamFramer::Event, std::string_view m) { got.messages.emplace_back(m); });
  ASSERT_EQ(FeedAll(f, {"3 <3><4>c\n"}, &got), StreamFramer::Error::kNone);
  EXPECT_EQ(got.messages, (std::vector<std::string>{"<2>b", "<3>", "<4>c"}));
}

TEST(StreamFramer, AnOversizeNewlineMessageIsTruncatedAndItsRestSkipped) {
  StreamFramer f(10);
  Got got;
  const std::string big = "<1>" + std::string(100, 'x');
  ASSERT_EQ(FeedAll(f, {big.substr(0, 50), big.substr(50) + "\n<2>ok\n"}, &got),
            StreamFramer::Error::kNone);
  EXPECT_EQ(got.truncated, (std::vector<std::string>{"<1>xxxxxxx"}));
  EXPECT_EQ(got.messages, (std::vector<std::string>{"<2>ok"}));
}

TEST(StreamFramer, NeverHoldsMoreThanOneMessageWhateverTheSenderWrites) {
  StreamFramer f(1000);
  Got got;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(FeedAll(f, {i == 0 ? "<1>" : std::string(4096, 'y')}, &got, false),
              StreamFramer::Error::kNone);
    ASSERT_LE(f.buffered(), 1000u + 4096u);
  }
  EXPECT_EQ(got.truncated.size(), 1u);
}

TEST(StreamFramer, AnOctetCountOverTheLimitEndsTheStream) {
  StreamFramer f(100);
  Got got;
  EXPECT_EQ(FeedAll(f, {"101 <1>"}, &got), StreamFramer::Error::kTooLong);
  StreamFramer g(100);
  EXPECT_EQ(FeedAll(g, {"99999999999999999999999"}, &got), StreamFramer::Error::kTooLong);
}

TEST(StreamFramer, BadFramingEndsTheStream) {
  for (const char* bad : {"xxx", "12x <1>", "0 ", "5 <1>1aZZZ"}) {
    StreamFramer f(100);
    Got got;
    EXPECT_EQ(FeedAll(f, {bad}, &got), StreamFramer::Error::kBadFraming) << bad;
  }
}

TEST(StreamFramer, AStreamEndingInsideAnOctetFrameReportsThePartialFrame) {
  StreamFramer f(100);
  Got got;
  ASSERT_EQ(FeedAll(f, {"10 <1>ab"}, &got), StreamFramer::Error::kNone);
  EXPECT_TRUE(got.messages.empty());
  EXPECT_EQ(got.partial, (std::vector<std::string>{"<1>ab"}));
}

// Raw mode (Alloy's "raw" format): a message is a line, whatever its first byte, split anywhere
// across reads; octet counting still works.
TEST(StreamFramer, RawMessagesEndAtTheDelimiterWhateverTheyStartWith) {
  const std::string stream =
      "%ASA-6-302013: Built conn\n2025-01-02 12:00 disk full\n\n11 <13>counted<189>77: cisco\r\n";
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    StreamFramer f(100, '\n');
    Got got;
    ASSERT_EQ(FeedAll(f, {stream.substr(0, cut), stream.substr(cut)}, &got),
              StreamFramer::Error::kNone)
        << cut;
    EXPECT_EQ(got.messages,
              (std::vector<std::string>{"%ASA-6-302013: Built conn", "2025-01-02 12:00 disk full",
                                        "<13>counted", "<189>77: cisco\r"}))
        << cut;
  }
}

// What cannot be an octet count is a line: a count of 0, one over max_len, or one the stream
// ends before (a datagram "12 foo").
TEST(StreamFramer, ARawLineThatOnlyLooksLikeAnOctetCountIsALine) {
  StreamFramer f(100, '\n');
  Got got;
  ASSERT_EQ(FeedAll(f, {"0 errors\n99999 x\n12 foo"}, &got), StreamFramer::Error::kNone);
  EXPECT_EQ(got.messages, (std::vector<std::string>{"0 errors", "99999 x", "12 foo"}));
  EXPECT_TRUE(got.partial.empty());
}

TEST(StreamFramer, RawMessagesCanEndAtANulInstead) {
  StreamFramer f(100, '\0');
  Got got;
  using namespace std::string_literals;
  ASSERT_EQ(FeedAll(f, {"one\nline two\0two\0"s, "three"}, &got), StreamFramer::Error::kNone);
  EXPECT_EQ(got.messages, (std::vector<std::string>{"one\nline two", "two", "three"}));
}

TEST(StreamFramer, AnOversizeRawMessageIsTruncatedAndItsRestSkipped) {
  StreamFramer f(5, '\n');
  Got got;
  ASSERT_EQ(FeedAll(f, {"abcdefgh", "ij\nok\n"}, &got, /*eos=*/false), StreamFramer::Error::kNone);
  EXPECT_EQ(got.truncated, (std::vector<std::string>{"abcde"}));
  EXPECT_EQ(got.messages, (std::vector<std::string>{"ok"}));
  // Digits without end are not held as a possible octet count forever.
  StreamFramer digits(5, '\n');
  Got more;
  ASSERT_EQ(FeedAll(digits, {std::string(40, '7')}, &more, /*eos=*/false),
            StreamFramer::Error::kNone);
  EXPECT_LE(digits.buffered(), 5u);
}

}  // namespace
}  // namespace skidder::sources::syslog
