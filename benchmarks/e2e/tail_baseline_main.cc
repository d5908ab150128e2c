// The steady-state tail workload's baseline (benchmarks/e2e.py --tail): the least any agent must
// do to follow files that grow a line at a time. One inotify watch per file (IN_MODIFY), every
// file kept open; each wake-up reads the events, reads what each written file gained into one
// reused buffer and snappy-compresses that pass's bytes with the raw API. No labels, no
// positions, no HTTP: a floor, so skidder's CPU is reported as a multiple of it.
//
// Usage: bench_tail_baseline FILE...   Prints "ready" once every watch is set, and on SIGTERM
// "<bytes> <cpu seconds> <wake-ups>".
#include <fcntl.h>
#include <signal.h>
#include <snappy.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <memory>
#include <unordered_map>
#include <vector>

namespace {

volatile std::sig_atomic_t g_stop = 0;

void OnTerm(int) { g_stop = 1; }

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  struct sigaction sa {};
  sa.sa_handler = OnTerm;  // no SA_RESTART: read returns EINTR and the loop ends
  sigaction(SIGTERM, &sa, nullptr);
  const int in = inotify_init1(IN_CLOEXEC);
  if (in < 0) return 1;
  std::unordered_map<int, int> fd_of_wd;  // inotify watch -> the file, open and at its end
  for (int i = 1; i < argc; ++i) {
    const int fd = ::open(argv[i], O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::lseek(fd, 0, SEEK_END) < 0) return 1;
    const int wd = inotify_add_watch(in, argv[i], IN_MODIFY);
    if (wd < 0) return 1;
    fd_of_wd[wd] = fd;
  }
  std::printf("ready\n");
  std::fflush(stdout);

  const double cpu0 = CpuSeconds();
  constexpr size_t kBuf = 1 << 20;
  constexpr size_t kEvents = 64 * 1024;
  auto events = std::make_unique<char[]>(kEvents);
  auto buf = std::make_unique<char[]>(kBuf);
  auto out = std::make_unique<char[]>(snappy::MaxCompressedLength(kBuf));
  std::vector<int> written;
  unsigned long long total = 0, wakeups = 0;
  while (!g_stop) {
    // A blocking read of the queue is the wait and the read in one call; what did not fit is
    // read by the next turn at once. One read per file unless it filled what was left: a short
    // read means the end (no extra call to see 0).
    ssize_t n = ::read(in, events.get(), kEvents);
    if (n <= 0) continue;  // EINTR: SIGTERM
    ++wakeups;
    written.clear();
    for (char* e = events.get(); e < events.get() + n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(e);
      written.push_back(fd_of_wd[ev->wd]);
      e += sizeof(inotify_event) + ev->len;
    }
    size_t used = 0;
    for (int fd : written) {
      size_t want;
      do {
        want = kBuf - used;
        n = want == 0 ? 0 : ::read(fd, buf.get() + used, want);
        if (n > 0) used += static_cast<size_t>(n);
      } while (n == static_cast<ssize_t>(want) && want > 0);
    }
    size_t out_len = 0;
    snappy::RawCompress(buf.get(), used, out.get(), &out_len);
    total += used;
  }
  std::printf("%llu %.3f %llu\n", total, CpuSeconds() - cpu0, wakeups);
  return 0;
}
