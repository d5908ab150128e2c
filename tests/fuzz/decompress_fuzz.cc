// libFuzzer target: the decompressors of decompression jobs (gzip, zlib, bzip2) on arbitrary
// archives. The first byte picks the format and the read size; the rest is the file. Decoding in
// memory and reading the file through DecompressingReader (in chunks, with a rewind) agree, and
// corrupt data is an error, never a crash or a hang.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "sources/file/decompress.h"

namespace {

using namespace skidder::sources;

constexpr size_t kMaxOut = 1 << 20;  // a small archive may expand 1000-fold: stop there

// Reads fd through a DecompressingReader in chunks of `chunk` bytes, at most kMaxOut bytes.
// *waiting: it ran out of bytes inside the stream (a writer may add the rest).
std::string ReadThrough(int fd, Compression c, size_t chunk, bool* failed, bool* waiting) {
  auto reader = DecompressingReader::Open(fd, c, "fuzz");
  FUZZ_CHECK(reader != nullptr);
  std::string out;
  std::string buf(chunk, '\0');
  while (out.size() < kMaxOut) {
    const ssize_t n = reader->ReadAt(buf.data(), buf.size(), out.size());
    if (n < 0) {
      *failed = true;
      FUZZ_CHECK(reader->complete() && !reader->error().empty());
      break;
    }
    if (n == 0) break;
    out.append(buf.data(), static_cast<size_t>(n));
  }
  *waiting = reader->waiting();
  FUZZ_CHECK(!(*waiting && reader->complete()));
  if (!*failed && !out.empty()) {  // a rewind decodes the same bytes again
    char first[64];
    const ssize_t n = reader->ReadAt(first, sizeof first, 0);
    FUZZ_CHECK(n > 0 && out.compare(0, static_cast<size_t>(n), first, static_cast<size_t>(n)) == 0);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Compression c = static_cast<Compression>(data[0] % 3);
  const size_t chunk = 1 + data[0] / 3 * 97;
  std::string_view archive(reinterpret_cast<const char*>(data + 1), size - 1);
  (void)SniffCompression(archive);
  auto all = DecompressAll(c, archive, kMaxOut);

  static const int fd = memfd_create("decompress-fuzz", MFD_CLOEXEC);
  FUZZ_CHECK(fd >= 0);
  FUZZ_CHECK(ftruncate(fd, 0) == 0);
  FUZZ_CHECK(pwrite(fd, archive.data(), archive.size(), 0) == static_cast<ssize_t>(archive.size()));
  bool failed = false, waiting = false;
  const std::string read = ReadThrough(fd, c, chunk, &failed, &waiting);
  if (all) {
    // What decodes in memory reads the same from a file, to its end.
    FUZZ_CHECK(!failed && !waiting && read == *all);
  } else {
    // And what does not fails there too, or waits for the rest of a stream cut short.
    FUZZ_CHECK(failed || waiting || read.size() >= kMaxOut);
  }
  return 0;
}
