#include "telemetry/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

namespace skidder::telemetry {
namespace {

// The fields of /proc/self/stat after the command name (which may hold spaces and parentheses,
// so the split starts after its last ')'): field 3 (state) is [0].
std::vector<std::string> StatFields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  std::vector<std::string> out;
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return out;
  std::istringstream rest(line.substr(close + 1));
  for (std::string f; rest >> f;) out.push_back(f);
  return out;
}

double Field(const std::vector<std::string>& f, int field) {  // field numbers as in proc(5)
  const size_t i = static_cast<size_t>(field - 3);
  return i < f.size() ? std::strtod(f[i].c_str(), nullptr) : 0;
}

double StatField(int field) { return Field(StatFields(), field); }

double Ticks() { return static_cast<double>(::sysconf(_SC_CLK_TCK)); }

double CpuSeconds() {  // utime + stime, from one read of the file
  const std::vector<std::string> f = StatFields();
  return (Field(f, 14) + Field(f, 15)) / Ticks();
}
double VirtualBytes() { return StatField(23); }
double ResidentBytes() { return StatField(24) * static_cast<double>(::sysconf(_SC_PAGESIZE)); }

double StartTimeSeconds() {
  std::ifstream in("/proc/stat");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("btime "))
      return std::strtod(line.c_str() + 6, nullptr) + StatField(22) / Ticks();
  }
  return 0;
}

double OpenFds() {
  DIR* d = ::opendir("/proc/self/fd");
  // Out of descriptors (EMFILE) is when this matters most: not a reassuring 0.
  if (d == nullptr) return std::numeric_limits<double>::quiet_NaN();
  double n = 0;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n - 1;  // not the descriptor of this listing
}

double MaxFds() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return 0;
  return r.rlim_cur == RLIM_INFINITY ? 0 : static_cast<double>(r.rlim_cur);
}

}  // namespace

class ProcessMetrics::Series final : public Collector {
 public:
  Series(Type type, std::string help, double (*read)())
      : type_(type), help_(std::move(help)), read_(read) {}
  Type type() const override { return type_; }
  const std::string& help() const override { return help_; }
  void RenderSamples(const std::string& name, std::string& out) const override {
    out.append(name).append(" ").append(FormatValue(read_())).push_back('\n');
  }

 private:
  Type type_;
  std::string help_;
  double (*read_)();
};

ProcessMetrics::ProcessMetrics(Registry& r) : registry_(r) {
  struct Spec {
    const char* name;
    Type type;
    const char* help;
    double (*read)();
  };
  static constexpr Spec kSpecs[] = {
      {"process_cpu_seconds_total", Type::kCounter,
       "Total user and system CPU time spent in seconds.", CpuSeconds},
      {"process_resident_memory_bytes", Type::kGauge, "Resident memory size in bytes.",
       ResidentBytes},
      {"process_virtual_memory_bytes", Type::kGauge, "Virtual memory size in bytes.", VirtualBytes},
      {"process_open_fds", Type::kGauge, "Number of open file descriptors.", OpenFds},
      {"process_max_fds", Type::kGauge, "Maximum number of open file descriptors.", MaxFds},
      {"process_start_time_seconds", Type::kGauge,
       "Start time of the process since unix epoch in seconds.", StartTimeSeconds},
  };
  for (const Spec& s : kSpecs) {
    series_.push_back(std::make_unique<Series>(s.type, s.help, s.read));
    registry_.AddCollector(s.name, series_.back().get());
  }
}

ProcessMetrics::~ProcessMetrics() {
  for (auto& s : series_) registry_.RemoveCollector(s.get());
}

}  // namespace skidder::telemetry
