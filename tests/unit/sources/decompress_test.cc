// The decoders of decompression jobs (gz, z = zlib, bz2): real files through
// DecompressingReader, corrupt and truncated archives, and what the file source needs from them
// (resuming at a decompressed offset, Promtail's line-count positions, finding a copy again).
#include "sources/file/decompress.h"

#include <bzlib.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <string>

#include "sources/file/gz.h"
#include "sources/file/identity.h"
#include "support/compress.h"
#include "support/test_util.h"

namespace skidder::sources {
namespace {

using skidder::testing::TempDir;
using skidder::testing::WriteFile;

using skidder::testing::Bzip2;
using skidder::testing::Deflate;

std::string Compress(Compression c, const std::string& text) {
  if (c == Compression::kBzip2) return Bzip2(text);
  return Deflate(text, c == Compression::kGzip ? 15 + 16 : 15);
}

std::string Text(int lines) {
  std::string s;
  for (int i = 0; i < lines; ++i) s += "line " + std::to_string(i) + " of a compressed log\n";
  return s;
}

class Decompress : public ::testing::TestWithParam<Compression> {
 protected:
  // Writes data to a file and opens a reader on it.
  std::unique_ptr<DecompressingReader> Open(const std::string& data) {
    const std::string path = dir_ / "archive";
    WriteFile(path, data);
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd_, 0);
    return DecompressingReader::Open(fd_, GetParam(), path);
  }
  // Everything the reader gives, in chunks of `chunk` bytes; *failed when it reported -1.
  // Offsets start at `from`.
  static std::string ReadAll(CompressedReader& r, size_t chunk, bool* failed = nullptr,
                             uint64_t from = 0) {
    std::string out, buf(chunk, '\0');
    while (true) {
      const ssize_t n = r.ReadAt(buf.data(), buf.size(), from + out.size());
      if (n < 0 && failed != nullptr) *failed = true;
      if (n <= 0) return out;
      out.append(buf.data(), static_cast<size_t>(n));
    }
  }
  void TearDown() override {
    if (fd_ >= 0) ::close(fd_);
  }
  TempDir dir_;
  int fd_ = -1;
};

TEST_P(Decompress, ReadsTheWholeFileInAnyChunkSize) {
  const std::string text = Text(20000);
  for (size_t chunk : {size_t{1} << 16, size_t{7}, size_t{4096}}) {
    auto r = Open(Compress(GetParam(), text));
    ASSERT_NE(r, nullptr);
    bool failed = false;
    EXPECT_EQ(ReadAll(*r, chunk, &failed), text);
    EXPECT_FALSE(failed);
    EXPECT_TRUE(r->complete());
    ::close(fd_);
    fd_ = -1;
  }
}

TEST_P(Decompress, ResumesAtADecompressedOffsetAndRewinds) {
  const std::string text = Text(5000);
  auto r = Open(Compress(GetParam(), text));
  char buf[100];
  const uint64_t at = text.size() / 2 + 3;
  ASSERT_EQ(r->ReadAt(buf, sizeof buf, at), static_cast<ssize_t>(sizeof buf));
  EXPECT_EQ(std::string(buf, sizeof buf), text.substr(at, sizeof buf));
  ASSERT_EQ(r->ReadAt(buf, 10, 0), 10);
  EXPECT_EQ(std::string(buf, 10), text.substr(0, 10));
  EXPECT_EQ(r->ReadAt(buf, sizeof buf, text.size() + 5), 0) << "past the end is the end";
}

TEST_P(Decompress, ConcatenatedMembersReadAsOneFileExceptZlib) {
  auto r = Open(Compress(GetParam(), "first\n") + Compress(GetParam(), "second\n"));
  const std::string got = ReadAll(*r, 4096);
  // A zlib stream ends at its trailer (Go's zlib reader too); gzip and bzip2 go on.
  EXPECT_EQ(got, GetParam() == Compression::kZlib ? "first\n" : "first\nsecond\n");
}

TEST_P(Decompress, AnArchiveCutShortWaitsAndReadsOnWhenItsRestIsWritten) {
  // An archive a writer has not finished (gzip still at work when a job without initial_delay
  // finds it): read as far as it goes, then waiting, not complete, for the rest.
  const std::string text = Text(20000);
  const std::string data = Compress(GetParam(), text);
  const size_t cut = data.size() * 3 / 4;
  auto r = Open(data.substr(0, cut));
  bool failed = false;
  std::string got = ReadAll(*r, 4096, &failed);
  EXPECT_FALSE(failed);
  EXPECT_TRUE(r->waiting());
  EXPECT_FALSE(r->complete()) << "the file source keeps it open";
  EXPECT_EQ(r->compressed_size(), 0u) << "not complete";
  EXPECT_TRUE(r->TakeInputProgress());
  EXPECT_LT(got.size(), text.size());
  EXPECT_EQ(text.compare(0, got.size(), got), 0) << "what came before the cut is intact";
  got += ReadAll(*r, 4096, &failed, got.size());
  EXPECT_TRUE(r->waiting()) << "still nothing more";
  EXPECT_FALSE(r->TakeInputProgress());
  skidder::testing::AppendFile(dir_ / "archive", data.substr(cut));
  got += ReadAll(*r, 4096, &failed, got.size());
  EXPECT_FALSE(failed);
  EXPECT_EQ(got, text) << "the rest, from where it stopped";
  EXPECT_FALSE(r->waiting());
  EXPECT_TRUE(r->complete());
  EXPECT_EQ(r->compressed_size(), data.size()) << "the size it was read to its end at";
}

TEST_P(Decompress, AnArchiveWhoseWriterIsGoneEndsTruncatedAfterWhatItHolds) {
  const std::string text = Text(20000);
  std::string data = Compress(GetParam(), text);
  data.resize(data.size() * 3 / 4);
  auto r = Open(data);
  bool failed = false;
  const std::string got = ReadAll(*r, 4096, &failed);
  ASSERT_TRUE(r->waiting());
  r->EndTruncated();
  EXPECT_FALSE(r->waiting());
  EXPECT_TRUE(r->complete()) << "nothing more will come: the file source closes it";
  EXPECT_EQ(r->compressed_size(), data.size());
  EXPECT_EQ(r->error(), "") << "not corrupt: cut short (the file source logs that)";
  char buf[16];
  EXPECT_EQ(r->ReadAt(buf, sizeof buf, got.size()), 0);
  EXPECT_EQ(text.compare(0, got.size(), got), 0) << "what came before the damage is intact";
}

TEST_P(Decompress, GarbageIsAnErrorNotPlainText) {
  auto r = Open("this file is not compressed at all\n");
  bool failed = false;
  EXPECT_EQ(ReadAll(*r, 4096, &failed), "");
  EXPECT_TRUE(failed);
  EXPECT_FALSE(r->error().empty());
}

TEST_P(Decompress, AnEmptyFileWaitsForItsFirstBytes) {
  auto r = Open("");
  bool failed = false;
  EXPECT_EQ(ReadAll(*r, 4096, &failed), "");
  EXPECT_FALSE(failed);
  EXPECT_TRUE(r->waiting()) << "gzip has made the file, not yet written to it";
}

TEST_P(Decompress, PromtailLineCountBecomesADecompressedOffset) {
  const std::string text = "a\nbb\nccc\n";
  auto r = Open(Compress(GetParam(), text));
  EXPECT_EQ(OffsetOfLine(*r, 0), 0u);
  EXPECT_EQ(OffsetOfLine(*r, 2), 5u);
  EXPECT_EQ(OffsetOfLine(*r, 3), text.size());
  EXPECT_EQ(OffsetOfLine(*r, 99), text.size()) << "more lines than the file: all of it";
}

TEST_P(Decompress, CopyIsFoundAgainByItsDecompressedStart) {
  const std::string text = Text(100);
  auto r = Open(Compress(GetParam(), text));
  struct stat st;
  ASSERT_EQ(::fstat(fd_, &st), 0);
  auto id = IdentifyDecompressed(*r, st);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->fingerprint_len, kFingerprintMaxLen);
  auto again = OpenMatchingCopy(fd_, *id, "archive");
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(ReadAll(*again, 4096), text);
  FileIdentity other = *id;
  other.fingerprint ^= 1;
  EXPECT_EQ(OpenMatchingCopy(fd_, other, "archive"), nullptr);
}

TEST_P(Decompress, SmallArchiveLookedAtIsReadWholeAfterARewind) {
  auto r = Open(Compress(GetParam(), "short\n"));
  char head[kFingerprintMaxLen];
  ASSERT_EQ(ReadDecompressedHead(*r, head, sizeof head), 6);
  EXPECT_TRUE(r->complete()) << "the look at its identity read to the end";
  r->Rewind();
  EXPECT_FALSE(r->complete()) << "the file source would take it for read already";
  EXPECT_EQ(ReadAll(*r, 4096), "short\n");
}

TEST_P(Decompress, FormatIsRecognisedByItsFirstBytes) {
  EXPECT_EQ(SniffCompression(Compress(GetParam(), "x\n")), GetParam());
}

INSTANTIATE_TEST_SUITE_P(Formats, Decompress,
                         ::testing::Values(Compression::kGzip, Compression::kZlib,
                                           Compression::kBzip2),
                         [](const auto& info) { return std::string(CompressionName(info.param)); });

// A compressed rotation's reader (zlib's gz functions) behaves as the decoders do.
TEST(GzReaderWaits, AtTheEndOfWhatAWriterHasWrittenAndReadsOnFromThere) {
  TempDir dir;
  const std::string path = dir / "copy.gz";
  const std::string text = Text(20000);
  const std::string data = Compress(Compression::kGzip, text);
  const size_t cut = data.size() / 2;
  WriteFile(path, data.substr(0, cut));
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  auto r = GzReader::Open(fd);
  ::close(fd);
  ASSERT_NE(r, nullptr);
  std::string got, buf(4096, '\0');
  const auto read_all = [&] {
    for (ssize_t n; (n = r->ReadAt(buf.data(), buf.size(), got.size())) > 0;) {
      got.append(buf.data(), static_cast<size_t>(n));
    }
  };
  read_all();
  EXPECT_TRUE(r->waiting());
  EXPECT_FALSE(r->complete());
  EXPECT_TRUE(r->TakeInputProgress());
  EXPECT_EQ(text.compare(0, got.size(), got), 0);
  read_all();
  EXPECT_FALSE(r->TakeInputProgress()) << "nothing more to read";
  skidder::testing::AppendFile(path, data.substr(cut));
  read_all();
  EXPECT_EQ(got, text);
  EXPECT_FALSE(r->waiting());
  EXPECT_TRUE(r->complete());
  EXPECT_EQ(r->compressed_size(), data.size());
}

TEST(GzReaderWaits, EndsTruncatedWhenTold) {
  TempDir dir;
  const std::string path = dir / "copy.gz";
  const std::string data = Compress(Compression::kGzip, Text(2000));
  WriteFile(path, data.substr(0, data.size() / 2));
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  auto r = GzReader::Open(fd);
  ::close(fd);
  ASSERT_NE(r, nullptr);
  char buf[1 << 16];
  uint64_t at = 0;
  for (ssize_t n; (n = r->ReadAt(buf, sizeof buf, at)) > 0;) at += static_cast<uint64_t>(n);
  ASSERT_TRUE(r->waiting());
  r->EndTruncated();
  EXPECT_FALSE(r->waiting());
  EXPECT_TRUE(r->complete());
  EXPECT_EQ(r->compressed_size(), data.size() / 2);
}

TEST(DecompressNames, FormatsAndExtensionsArePromtails) {
  EXPECT_EQ(ParseCompression("gz"), Compression::kGzip);
  EXPECT_EQ(ParseCompression("z"), Compression::kZlib);
  EXPECT_EQ(ParseCompression("bz2"), Compression::kBzip2);
  EXPECT_EQ(ParseCompression("zip"), std::nullopt);
  EXPECT_TRUE(HasCompressedExtension("/var/log/a.log.1.gz"));
  EXPECT_TRUE(HasCompressedExtension("/var/log/a.tar.gz"));
  EXPECT_TRUE(HasCompressedExtension("/var/log/a.z"));
  EXPECT_TRUE(HasCompressedExtension("/var/log/a.bz2"));
  EXPECT_FALSE(HasCompressedExtension("/var/log/a.log"));
  EXPECT_FALSE(HasCompressedExtension("/var/log/a.zip"));
  EXPECT_EQ(SniffCompression("plain text"), std::nullopt);
}

TEST(DecompressAll, StopsAtTheOutputLimit) {
  const std::string bomb = Deflate(std::string(1 << 20, '\0'), 15);
  EXPECT_FALSE(DecompressAll(Compression::kZlib, bomb, 1000).has_value());
  auto all = DecompressAll(Compression::kZlib, bomb, 1 << 20);
  ASSERT_TRUE(all.has_value()) << all.error().message();
  EXPECT_EQ(all->size(), size_t{1} << 20);
}

}  // namespace
}  // namespace skidder::sources
