// process_* series read from /proc/self when rendered.
#include "telemetry/process_metrics.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <string>

namespace skidder::telemetry {
namespace {

double Sample(const std::string& page, const std::string& name) {
  const size_t at = page.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::strtod(page.c_str() + at + name.size() + 2, nullptr);
}

TEST(ProcessMetrics, RendersThisProcess) {
  Registry r;
  ProcessMetrics process(r);
  const std::string before = r.Render();
  const int fd = ::dup(0);
  const std::string page = r.Render();
  EXPECT_NE(page.find("# TYPE process_cpu_seconds_total counter\n"), std::string::npos) << page;
  EXPECT_NE(page.find("# TYPE process_resident_memory_bytes gauge\n"), std::string::npos);
  EXPECT_GT(Sample(page, "process_resident_memory_bytes"), 1e5);
  EXPECT_GE(Sample(page, "process_virtual_memory_bytes"),
            Sample(page, "process_resident_memory_bytes"));
  EXPECT_EQ(Sample(page, "process_open_fds"), Sample(before, "process_open_fds") + 1);
  EXPECT_GE(Sample(page, "process_max_fds"), Sample(page, "process_open_fds"));
  EXPECT_GE(Sample(page, "process_cpu_seconds_total"), 0);
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_LE(Sample(page, "process_start_time_seconds"), now + 2);
  EXPECT_GT(Sample(page, "process_start_time_seconds"), now - 3600);
  ::close(fd);
}

TEST(ProcessMetrics, LeavesTheRegistryWithItself) {
  Registry r;
  { ProcessMetrics process(r); }
  EXPECT_EQ(r.Render().find("process_"), std::string::npos);
}

}  // namespace
}  // namespace skidder::telemetry
