#include "sources/file/decompress.h"

#include <bzlib.h>
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "sources/file/gz.h"
#include "sources/file/identity.h"
#include "util/log.h"

namespace skidder::sources {
namespace {

constexpr size_t kInputChunk = 64 * 1024;

// gzip (windowBits 15 + 16: gzip header and trailer only, no raw pass-through) or zlib.
class InflateDecoder final : public Decoder {
 public:
  explicit InflateDecoder(bool gzip) : gzip_(gzip) { Init(); }
  ~InflateDecoder() override { ::inflateEnd(&zs_); }

  Result<size_t> Decode(std::string_view* in, char* out, size_t cap) override {
    if (ended_) {
      if (!gzip_ || in->empty()) return 0;  // zlib ends at its trailer; gzip: next member
      ::inflateReset(&zs_);
      ended_ = false;
    }
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in->data()));
    zs_.avail_in = static_cast<uInt>(std::min<size_t>(in->size(), UINT_MAX));
    zs_.next_out = reinterpret_cast<Bytef*>(out);
    zs_.avail_out = static_cast<uInt>(std::min<size_t>(cap, UINT_MAX));
    const uInt avail_in = zs_.avail_in, avail_out = zs_.avail_out;
    const int rc = ::inflate(&zs_, Z_NO_FLUSH);
    in->remove_prefix(avail_in - zs_.avail_in);
    if (rc == Z_STREAM_END) {
      ended_ = true;
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {  // Z_BUF_ERROR: no progress possible yet
      return Err(DataLoss(zs_.msg != nullptr  ? zs_.msg
                          : rc == Z_NEED_DICT ? "needs a preset dictionary"
                                              : "corrupt data"));
    }
    return static_cast<size_t>(avail_out - zs_.avail_out);
  }
  bool ended() const override { return ended_; }
  void Reset() override {
    ::inflateEnd(&zs_);
    Init();
  }

 private:
  void Init() {
    zs_ = {};
    ::inflateInit2(&zs_, gzip_ ? 15 + 16 : 15);
    ended_ = false;
  }
  bool gzip_;
  z_stream zs_{};
  bool ended_ = false;
};

const char* Bzip2Error(int rc) {
  switch (rc) {
    case BZ_DATA_ERROR_MAGIC:
      return "not bzip2 data (bad magic)";
    case BZ_DATA_ERROR:
      return "corrupt bzip2 data";
    case BZ_MEM_ERROR:
      return "out of memory";
    default:
      return "bzip2 error";
  }
}

class Bzip2Decoder final : public Decoder {
 public:
  Bzip2Decoder() { Init(); }
  ~Bzip2Decoder() override { ::BZ2_bzDecompressEnd(&bs_); }

  Result<size_t> Decode(std::string_view* in, char* out, size_t cap) override {
    if (ended_) {
      if (in->empty()) return 0;
      Reset();  // the next stream of a multi-stream file (pbzip2)
    }
    bs_.next_in = const_cast<char*>(in->data());
    bs_.avail_in = static_cast<unsigned>(std::min<size_t>(in->size(), UINT_MAX));
    bs_.next_out = out;
    bs_.avail_out = static_cast<unsigned>(std::min<size_t>(cap, UINT_MAX));
    const unsigned avail_in = bs_.avail_in, avail_out = bs_.avail_out;
    const int rc = ::BZ2_bzDecompress(&bs_);
    in->remove_prefix(avail_in - bs_.avail_in);
    if (rc == BZ_STREAM_END) {
      ended_ = true;
    } else if (rc != BZ_OK) {
      return Err(DataLoss(Bzip2Error(rc)));
    }
    return static_cast<size_t>(avail_out - bs_.avail_out);
  }
  bool ended() const override { return ended_; }
  void Reset() override {
    ::BZ2_bzDecompressEnd(&bs_);
    Init();
  }

 private:
  void Init() {
    bs_ = {};
    ::BZ2_bzDecompressInit(&bs_, 0, 0);
    ended_ = false;
  }
  bz_stream bs_{};
  bool ended_ = false;
};

}  // namespace

std::optional<Compression> ParseCompression(std::string_view format) {
  if (format == "gz") return Compression::kGzip;
  if (format == "z") return Compression::kZlib;
  if (format == "bz2") return Compression::kBzip2;
  return std::nullopt;
}

const char* CompressionName(Compression c) {
  switch (c) {
    case Compression::kGzip:
      return "gz";
    case Compression::kZlib:
      return "z";
    case Compression::kBzip2:
      return "bz2";
  }
  return "?";
}

bool HasCompressedExtension(std::string_view path) {
  return path.ends_with(".gz") || path.ends_with(".z") || path.ends_with(".bz2");
}

std::optional<Compression> SniffCompression(std::string_view head) {
  if (head.size() < 2) return std::nullopt;
  const auto b0 = static_cast<unsigned char>(head[0]), b1 = static_cast<unsigned char>(head[1]);
  if (b0 == 0x1f && b1 == 0x8b) return Compression::kGzip;
  if (head.size() >= 4 && head.starts_with("BZh") && head[3] >= '1' && head[3] <= '9') {
    return Compression::kBzip2;
  }
  if ((b0 & 0x0f) == 8 && (b0 >> 4) <= 7 && ((b0 << 8) | b1) % 31 == 0) return Compression::kZlib;
  return std::nullopt;
}

std::unique_ptr<Decoder> Decoder::New(Compression c) {
  if (c == Compression::kBzip2) return std::make_unique<Bzip2Decoder>();
  return std::make_unique<InflateDecoder>(c == Compression::kGzip);
}

Result<std::string> DecompressAll(Compression c, std::string_view data, size_t max_out) {
  auto decoder = Decoder::New(c);
  std::string out;
  char buf[16 * 1024];
  while (true) {
    const size_t before = data.size();
    Result<size_t> n = decoder->Decode(&data, buf, sizeof buf);
    if (!n) return Err(n.error());
    if (out.size() + *n > max_out)
      return Err(InvalidArgument("decompresses to more than the limit"));
    out.append(buf, *n);
    if (*n == 0 && data.size() == before) break;  // no progress: needs input, or ended
  }
  if (!decoder->ended()) return Err(DataLoss("unexpected end of data (truncated)"));
  return out;
}

ssize_t ReadDecompressedHead(CompressedReader& r, char* buf, size_t want) {
  size_t got = 0;
  while (got < want) {
    const ssize_t n = r.ReadAt(buf + got, want - got, got);
    if (n < 0) return -1;
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(got);
}

std::optional<FileIdentity> IdentifyDecompressed(CompressedReader& r, const struct stat& st) {
  char head[kFingerprintMaxLen];
  const ssize_t got = ReadDecompressedHead(r, head, sizeof head);
  if (got < 0) return std::nullopt;
  FileIdentity id;
  id.dev = static_cast<uint64_t>(st.st_dev);
  id.ino = static_cast<uint64_t>(st.st_ino);
  id.fingerprint_len = static_cast<uint32_t>(got);
  id.fingerprint = HashBytes(std::string_view(head, static_cast<size_t>(got)));
  return id;
}

bool DecompressedStartsAs(CompressedReader& r, const FileIdentity& id) {
  char head[kFingerprintMaxLen];
  const size_t want = std::min<uint32_t>(id.fingerprint_len, kFingerprintMaxLen);
  return ReadDecompressedHead(r, head, want) == static_cast<ssize_t>(want) &&
         HashBytes(std::string_view(head, want)) == id.fingerprint;
}

uint32_t HashTail(std::string_view tail) {
  const uint64_t h = HashBytes(tail);
  const auto folded = static_cast<uint32_t>(h ^ (h >> 32));
  return folded == 0 ? 1 : folded;
}

bool TailBefore(int fd, uint64_t end, uint32_t hash) {
  char tail[64];  // DecompressingReader::tail_
  const size_t n = static_cast<size_t>(std::min<uint64_t>(end, sizeof tail));
  return n > 0 && ::pread(fd, tail, n, static_cast<off_t>(end - n)) == static_cast<ssize_t>(n) &&
         HashTail(std::string_view(tail, n)) == hash;
}

bool StartsAMember(int fd, uint64_t at, Compression c) {
  char magic[3];
  if (c == Compression::kZlib || ::pread(fd, magic, sizeof magic, static_cast<off_t>(at)) !=
                                     static_cast<ssize_t>(sizeof magic)) {
    return false;
  }
  if (c == Compression::kGzip) return magic[0] == '\x1f' && magic[1] == '\x8b';
  return std::memcmp(magic, "BZh", 3) == 0;
}

std::optional<uint64_t> OffsetOfLine(CompressedReader& r, uint64_t lines) {
  std::unique_ptr<char[]> buf(new char[kInputChunk]);
  uint64_t offset = 0;
  while (lines > 0) {
    const ssize_t n = r.ReadAt(buf.get(), kInputChunk, offset);
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    std::string_view chunk(buf.get(), static_cast<size_t>(n));
    size_t at = 0;
    for (; lines > 0; --lines) {
      const size_t nl = chunk.find('\n', at);
      if (nl == std::string_view::npos) break;
      at = nl + 1;
    }
    offset += lines == 0 ? at : chunk.size();
  }
  return offset;
}

std::unique_ptr<CompressedReader> OpenMatchingCopy(int fd, const FileIdentity& id,
                                                   const std::string& path) {
  if (id.fingerprint_len == 0) return nullptr;  // an empty file leaves nothing to recognise
  // A record of the archive itself names its birth time (one carried over from the file that
  // was compressed names none): a new archive on its inode is another file, whatever it holds.
  if (id.born_ns != 0 && !SameBirth(id.born_ns, BirthNs(fd))) return nullptr;
  char magic[4];
  const ssize_t m = ::pread(fd, magic, sizeof magic, 0);
  auto format = SniffCompression(std::string_view(magic, m > 0 ? static_cast<size_t>(m) : 0));
  if (format && *format != Compression::kGzip) {
    std::unique_ptr<DecompressingReader> r = DecompressingReader::Open(fd, *format, path);
    if (r && DecompressedStartsAs(*r, id)) {
      r->Rewind();
      return r;
    }
  }
  if (!GzFingerprintMatches(fd, id)) return nullptr;
  return GzReader::Open(fd);
}

std::unique_ptr<DecompressingReader> DecompressingReader::Open(int fd, Compression c,
                                                               std::string path) {
  const int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return nullptr;
  return std::unique_ptr<DecompressingReader>(new DecompressingReader(dup, c, std::move(path)));
}

DecompressingReader::DecompressingReader(int fd, Compression c, std::string path)
    : fd_(fd),
      format_(c),
      path_(std::move(path)),
      decoder_(Decoder::New(c)),
      in_buf_(new char[kInputChunk]) {}

DecompressingReader::~DecompressingReader() { ::close(fd_); }

void DecompressingReader::Rewind() {
  if (!error_.empty()) return;
  decoder_->Reset();
  in_ = {};
  file_pos_ = pos_ = 0;
  tail_len_ = 0;
  eof_ = waiting_ = complete_ = false;
}

void DecompressingReader::EndTruncated() {
  Complete();  // waiting: every byte the file has was read
}

// The size as the end was found: what was read when the last read met the end of the file
// (gzip, bzip2, a truncated file), else the file's size now (zlib ends at its trailer, corrupt
// data anywhere).
void DecompressingReader::Complete() {
  struct stat st;
  end_size_ =
      eof_ || waiting_ || ::fstat(fd_, &st) != 0 ? file_pos_ : static_cast<uint64_t>(st.st_size);
  waiting_ = false;
  complete_ = true;
}

void DecompressingReader::KeepTail(size_t n) {
  const char* got = in_buf_.get();
  if (n >= sizeof tail_) {
    std::memcpy(tail_, got + n - sizeof tail_, sizeof tail_);
    tail_len_ = sizeof tail_;
    return;
  }
  const size_t keep = std::min(tail_len_, sizeof tail_ - n);
  std::memmove(tail_, tail_ + tail_len_ - keep, keep);
  std::memcpy(tail_ + keep, got, n);
  tail_len_ = keep + n;
}

// tail_ holds the last min(file_pos_, 64) bytes read: TailBefore's reach.
bool DecompressingReader::TailUnchanged() const {
  return tail_len_ == 0 || TailBefore(fd_, file_pos_, TailHash());
}

bool DecompressingReader::Fill() {
  if (waiting_ && !TailUnchanged()) {  // written again from its start while it waited
    LOG_WARN("compressed file was written again while it was read; it is read again whole",
             {{"path", path_}, {"decompressed_offset", std::to_string(pos_)}});
    Complete();
    end_size_ = kRewritten;
    return false;
  }
  ssize_t n;
  do {
    n = ::pread(fd_, in_buf_.get(), kInputChunk, static_cast<off_t>(file_pos_));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return false;
  if (n == 0) eof_ = true;
  if (n > 0) {
    waiting_ = false;
    progress_ = true;
    KeepTail(static_cast<size_t>(n));
  }
  file_pos_ += static_cast<uint64_t>(n);
  in_ = std::string_view(in_buf_.get(), static_cast<size_t>(n));
  return true;
}

ssize_t DecompressingReader::Fail(std::string why) {
  if (error_.empty()) {
    LOG_ERROR("compressed file is corrupt; the lines before the damage were read, the rest is not",
              {{"path", path_},
               {"format", CompressionName(format_)},
               {"decompressed_offset", std::to_string(pos_)},
               {"error", why}});
  }
  error_ = std::move(why);
  Complete();
  return -1;
}

// The next decompressed bytes at pos_.
ssize_t DecompressingReader::Next(char* buf, size_t cap) {
  while (true) {
    const size_t before = in_.size();
    Result<size_t> n = decoder_->Decode(&in_, buf, cap);
    if (!n) return Fail(n.error().message());
    if (*n > 0) {
      pos_ += *n;
      return static_cast<ssize_t>(*n);
    }
    if (in_.size() != before) continue;  // consumed a header without output yet
    if (decoder_->ended() && (format_ == Compression::kZlib || (in_.empty() && eof_))) {
      Complete();
      return 0;
    }
    if (!in_.empty()) return Fail("decoder made no progress");
    if (eof_) {
      // The end of the bytes there are, inside the stream. Marked done here, an archive read
      // while gzip still wrote it lost its rest: the next call reads on from file_pos_.
      eof_ = false;
      waiting_ = true;
      return 0;
    }
    if (!Fill()) {
      if (complete_) return 0;  // written again: ends here, to be read again whole
      return Fail(std::string("read failed: ") + std::strerror(errno));
    }
  }
}

ssize_t DecompressingReader::ReadAt(char* buf, size_t cap, uint64_t offset) {
  if (!error_.empty()) return -1;
  if (offset < pos_) Rewind();
  char skip[16 * 1024];
  while (pos_ < offset) {
    const ssize_t n = Next(skip, std::min<uint64_t>(sizeof skip, offset - pos_));
    if (n <= 0) return n;
  }
  if (complete_) return 0;
  return Next(buf, cap);
}

}  // namespace skidder::sources
