// The end-to-end benchmark's baseline: read the same files and snappy-compress them in 1 MiB
// chunks, nothing else. It bounds what any agent could do on this machine; skidder's figure is
// reported as a ratio of it, so it must be as fast as that loop can be written: read(2) into one
// reused buffer, snappy's raw API into one reused output buffer (no stdio copy, no std::string
// resize per chunk). Prints "<bytes> <cpu seconds> <wall seconds> <compressed bytes>".
#include <fcntl.h>
#include <snappy.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>

static double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char** argv) {
  constexpr size_t kChunk = 1 << 20;
  auto start = std::chrono::steady_clock::now();
  double cpu0 = CpuSeconds();
  auto buf = std::make_unique<char[]>(kChunk);
  auto out = std::make_unique<char[]>(snappy::MaxCompressedLength(kChunk));
  uint64_t total = 0, compressed = 0;
  for (int i = 1; i < argc; ++i) {
    int fd = ::open(argv[i], O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 1;
    ssize_t n;
    while ((n = ::read(fd, buf.get(), kChunk)) > 0) {
      size_t out_len = 0;
      snappy::RawCompress(buf.get(), static_cast<size_t>(n), out.get(), &out_len);
      total += static_cast<uint64_t>(n);
      compressed += out_len;
    }
    ::close(fd);
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%llu %.3f %.3f %llu\n", static_cast<unsigned long long>(total), CpuSeconds() - cpu0,
              wall, static_cast<unsigned long long>(compressed));
  return 0;
}
