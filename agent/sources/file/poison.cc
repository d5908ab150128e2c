#include "sources/file/poison.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "util/log.h"

namespace skidder::sources::poison {
namespace {

int crash_fd = -1;
constexpr size_t kMaxKept = 64;  // distinct lines kept in the compacted file
constexpr int kFatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

// Async-signal-safe decimal.
char* PutU64(char* p, uint64_t v) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) *p++ = tmp[--n];
  return p;
}

void OnFatal(int sig, siginfo_t*, void*) {
  const Mark& m = CurrentMark();
  if (m.active && crash_fd >= 0) {
    char line[96];
    char* p = PutU64(line, m.dev);
    *p++ = ' ';
    p = PutU64(p, m.ino);
    *p++ = ' ';
    p = PutU64(p, m.offset);
    *p++ = ' ';
    *p++ = '1';
    *p++ = '\n';
    (void)!::write(crash_fd, line, static_cast<size_t>(p - line));
    ::fsync(crash_fd);
  }
  // SA_RESETHAND restored the default action: a fault re-executes and dies; a raised signal is
  // raised again.
  if (sig == SIGABRT) ::raise(sig);
}

}  // namespace

CrashLog CrashLog::Load(const std::string& path) {
  CrashLog log;
  std::ifstream in(path);
  std::string text;
  uint64_t dev, ino, offset;
  int count;
  while (std::getline(in, text)) {
    std::istringstream fields(text);
    if (fields >> dev >> ino >> offset >> count && count > 0) {
      log.crashes_[{dev, ino, offset}] += count;
    }
  }
  in.close();
  while (log.crashes_.size() > kMaxKept) log.crashes_.erase(log.crashes_.begin());
  std::ostringstream out;
  for (const auto& [key, n] : log.crashes_) {
    out << std::get<0>(key) << ' ' << std::get<1>(key) << ' ' << std::get<2>(key) << ' ' << n
        << '\n';
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd >= 0) {
    const std::string s = out.str();
    (void)!::write(fd, s.data(), s.size());
    ::close(fd);
  }
  return log;
}

bool InstallHandler(const std::string& crash_file) {
  int fd = ::open(crash_file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    LOG_WARN("cannot open the crash file; lines that crash the agent are not recognised",
             {{"file", crash_file}, {"error", std::strerror(errno)}});
    return false;
  }
  const int old = crash_fd;
  crash_fd = fd;
  if (old >= 0) {
    ::close(old);
    return true;
  }
  PrepareThread();
  struct sigaction sa {};
  sa.sa_sigaction = OnFatal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  for (int sig : kFatal) ::sigaction(sig, &sa, nullptr);
  return true;
}

void PrepareThread() {
  // Freed (after switching the alternate stack off) when the thread ends.
  struct AltStack {
    char* mem = nullptr;
    ~AltStack() {
      if (mem == nullptr) return;
      stack_t off{};
      off.ss_flags = SS_DISABLE;
      ::sigaltstack(&off, nullptr);
      std::free(mem);
    }
  };
  static thread_local AltStack alt;
  if (alt.mem != nullptr) return;
  const size_t size = 64 * 1024;
  alt.mem = static_cast<char*>(std::malloc(size));
  if (alt.mem == nullptr) return;
  stack_t ss{};
  ss.ss_sp = alt.mem;
  ss.ss_size = size;
  ::sigaltstack(&ss, nullptr);
}

const std::string& TestCrashTrigger() {
  static const std::string trigger = [] {
    const char* v = std::getenv("SKIDDER_TEST_CRASH_ON_LINE");
    return std::string(v != nullptr ? v : "");
  }();
  return trigger;
}

}  // namespace skidder::sources::poison

namespace skidder::sources::poison {
namespace {

// Recurses until the stack runs out; the volatile frame and bound keep it from being folded away.
volatile int overflow_bound = -1;  // never reached: the stack runs out first
int Overflow(int depth) {
  volatile char frame[512];
  frame[0] = static_cast<char>(depth);
  if (depth == overflow_bound) return frame[0];
  return Overflow(depth + 1) + frame[0];
}

}  // namespace

void CrashForTest(std::string_view line) {
  std::string_view trigger = TestCrashTrigger();
  const bool overflow = trigger.starts_with("overflow:");
  if (overflow) trigger.remove_prefix(9);
  if (line.find(trigger) == std::string_view::npos) return;
  if (overflow) std::exit(Overflow(0));
  std::abort();
}

}  // namespace skidder::sources::poison
