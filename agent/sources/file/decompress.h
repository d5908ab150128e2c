// Compressed log files read whole: Promtail's `decompression` block (gz, z = zlib, bz2).
//
// A job with `decompression: {enabled: true, format: ...}` reads the files its globs match whose
// names end in .gz, .z or .bz2 (Promtail's rule; .tar.gz included) through a decoder for the
// configured format, from the start to the end, once; the file source opens them as complete
// files (like a compressed rotation, see gz.h), so offsets count decompressed bytes, positions
// follow acknowledgements, and a restart resumes inside the archive. Corrupt data ends the file
// with one clear error; what came before the damage is delivered.
//
// Decoder is pure (bytes in, bytes out; the fuzz target drives it); DecompressingReader reads an
// fd through one. Both belong to one thread (the file source's reading thread).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "sources/file/positions.h"
#include "util/status.h"

namespace skidder::sources {

enum class Compression { kGzip, kZlib, kBzip2 };

// "gz", "z", "bz2" (the config's format values); nullopt for anything else.
std::optional<Compression> ParseCompression(std::string_view format);
const char* CompressionName(Compression c);
// Promtail reads a file decompressed when its extension is .gz, .z or .bz2.
bool HasCompressedExtension(std::string_view path);
// The format the first bytes announce (gzip and bzip2 magic, a zlib header); nullopt if none.
std::optional<Compression> SniffCompression(std::string_view head);

// What a tailed file reads through when its bytes are compressed: decompressed bytes addressed
// by decompressed offsets. Implemented by GzReader (compressed rotations) and
// DecompressingReader (decompression jobs).
class CompressedReader {
 public:
  virtual ~CompressedReader() = default;
  // Up to cap decompressed bytes from offset: > 0 read, 0 at the end, -1 on corrupt data.
  virtual ssize_t ReadAt(char* buf, size_t cap, uint64_t offset) = 0;
  // Nothing more will come (the end was reached, or the data was found corrupt).
  virtual bool complete() const = 0;
  // The last ReadAt reached the end of the file's bytes in the middle of the compressed stream:
  // its writer may not be done yet (gzip, an export job), or it was cut short for good. ReadAt
  // reads on from there when bytes are appended; the file source waits for them (see
  // FileSourceOptions::compressed_writer_grace) before it calls EndTruncated.
  virtual bool waiting() const = 0;
  // No more bytes will come to a waiting reader: it is complete, and its file truncated.
  virtual void EndTruncated() = 0;
  // Once complete: the compressed size the file had when it was read to its end (0 before). A
  // record keeps it, and an archive found at another size was rewritten or grown since.
  virtual uint64_t compressed_size() const = 0;
  // Compressed bytes were read from the file since the last call: its writer is at work.
  virtual bool TakeInputProgress() = 0;
  // A hash of the last compressed bytes read (TailHash), 0 when not kept: the record of an
  // archive given up inside its stream keeps it, to tell the rest of that stream, appended
  // later, from another archive written over it.
  virtual uint32_t TailHash() const { return 0; }
};

// The hash TailHash gives for `tail`, never 0.
uint32_t HashTail(std::string_view tail);
// Whether the compressed bytes of fd before `end` (as many as a tail keeps) hash to `hash`.
bool TailBefore(int fd, uint64_t end, uint32_t hash);

// Up to want decompressed bytes from the start of r; -1 on corrupt data.
ssize_t ReadDecompressedHead(CompressedReader& r, char* buf, size_t want);

// dev/ino from st and the fingerprint of r's decompressed start; nullopt on corrupt data.
std::optional<FileIdentity> IdentifyDecompressed(CompressedReader& r, const struct stat& st);

// True when the bytes of fd at `at` begin another gzip member or bzip2 stream (c's magic): an
// archive read to its end at `at` was grown (`gzip >>`), not written again. Never for zlib.
bool StartsAMember(int fd, uint64_t at, Compression c);

// True when the first id.fingerprint_len decompressed bytes of r hash to id's fingerprint: an
// archive recorded while its writer had written less of it still matches once it holds more.
bool DecompressedStartsAs(CompressedReader& r, const FileIdentity& id);

// Decompressed bytes in the first `lines` lines of r (a Promtail position of a decompressed file
// counts lines); all of it when r has fewer lines. nullopt on corrupt data.
std::optional<uint64_t> OffsetOfLine(CompressedReader& r, uint64_t lines);

// The compressed file at fd opened for reading when its decompressed start has id's fingerprint:
// through zlib or bzip2 when its first bytes say so, else as gzip (a compressed rotation, as
// before decompression jobs existed). nullptr when it does not match, or when id names a birth
// time (the archive's own) and fd's file was made at another.
std::unique_ptr<CompressedReader> OpenMatchingCopy(int fd, const FileIdentity& id,
                                                   const std::string& path);

// A streaming decoder for one format. Gzip and bzip2 files of several members (cat a.gz b.gz,
// pbzip2) decode as their concatenation; a zlib stream ends at its trailer.
class Decoder {
 public:
  static std::unique_ptr<Decoder> New(Compression c);
  virtual ~Decoder() = default;
  // Decodes from the front of *in (consuming what it used) into out[0, cap). Returns the bytes
  // written (0 when it needs more input or the stream ended), or an error for corrupt data.
  virtual Result<size_t> Decode(std::string_view* in, char* out, size_t cap) = 0;
  // The stream ended at a trailer (more members may follow in the input).
  virtual bool ended() const = 0;
  // Back to the state of a fresh decoder.
  virtual void Reset() = 0;
};

// Decompresses all of data (for tests and the fuzz target), at most max_out bytes of output;
// an error for corrupt or truncated data.
Result<std::string> DecompressAll(Compression c, std::string_view data, size_t max_out);

// Reads a compressed file through a Decoder. `path` names the file in the one error it logs.
class DecompressingReader final : public CompressedReader {
 public:
  // Reads through its own duplicate of fd, from the start.
  static std::unique_ptr<DecompressingReader> Open(int fd, Compression c, std::string path);
  ~DecompressingReader() override;
  ssize_t ReadAt(char* buf, size_t cap, uint64_t offset) override;
  bool complete() const override { return complete_; }
  bool waiting() const override { return waiting_; }
  void EndTruncated() override;
  uint64_t compressed_size() const override { return end_size_; }
  bool TakeInputProgress() override { return std::exchange(progress_, false); }
  uint32_t TailHash() const override {
    return tail_len_ == 0 ? 0 : HashTail(std::string_view(tail_, tail_len_));
  }
  // compressed_size() of a file written again from its start while it was read: no size
  // matches it, so the file is opened again and read from its start.
  static constexpr uint64_t kRewritten = UINT64_MAX;
  // Why the data is unreadable, after ReadAt returned -1.
  const std::string& error() const { return error_; }
  // Back to the start, not complete (a look at the first bytes may have reached the end of a
  // small file); a reader that found the data corrupt stays complete.
  void Rewind();

 private:
  DecompressingReader(int fd, Compression c, std::string path);
  ssize_t Next(char* buf, size_t cap);
  bool Fill();
  ssize_t Fail(std::string why);
  void Complete();
  void KeepTail(size_t n);
  bool TailUnchanged() const;

  int fd_;
  Compression format_;
  std::string path_;
  std::unique_ptr<Decoder> decoder_;
  std::unique_ptr<char[]> in_buf_;
  std::string_view in_;    // undecoded input in in_buf_
  uint64_t file_pos_ = 0;  // compressed bytes read from fd
  uint64_t pos_ = 0;       // decompressed bytes produced
  bool eof_ = false;       // fd read to its end
  bool waiting_ = false;   // at the end of the bytes there are, inside the stream
  bool progress_ = false;  // TakeInputProgress
  // The last compressed bytes read, up to file_pos_: unchanged when a waiting reader reads on,
  // or the file was written again from its start meanwhile (the rest read would be another
  // stream's middle).
  char tail_[64];
  size_t tail_len_ = 0;
  bool complete_ = false;
  uint64_t end_size_ = 0;  // compressed_size()
  std::string error_;
};

}  // namespace skidder::sources
