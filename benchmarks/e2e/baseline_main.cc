// The end-to-end benchmark's baseline: read the same files and snappy-compress them in 1 MiB
// chunks, nothing else. It bounds what any agent could do on this machine; skidder's figure is
// reported as a ratio of it. Prints "<bytes> <cpu seconds> <wall seconds>".
#include <snappy.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

static double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char** argv) {
  auto start = std::chrono::steady_clock::now();
  double cpu0 = CpuSeconds();
  std::vector<char> buf(1 << 20);
  std::string out;
  uint64_t total = 0, compressed = 0;
  for (int i = 1; i < argc; ++i) {
    std::FILE* f = std::fopen(argv[i], "rb");
    if (f == nullptr) return 1;
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) {
      snappy::Compress(buf.data(), n, &out);
      total += n;
      compressed += out.size();
    }
    std::fclose(f);
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%llu %.3f %.3f %llu\n", static_cast<unsigned long long>(total), CpuSeconds() - cpu0,
              wall, static_cast<unsigned long long>(compressed));
  return 0;
}
