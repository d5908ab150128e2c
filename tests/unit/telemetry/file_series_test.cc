// The per-file series on /metrics: Promtail's names and labels, one row per filename shared by
// its files, gone with the last of them.
#include "telemetry/file_series.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace skidder::telemetry {
namespace {

bool Has(const std::string& page, const std::string& line) {
  return page.find(line + "\n") != std::string::npos;
}

TEST(FileSeries, RendersPromtailsThreeSeriesPerPath) {
  Registry r;
  FileSeries files(r);
  FileSeries::Ref ref = files.Acquire("/var/log/pods/a/0.log");
  ref->SetRead(120, 3);
  ref->SetRead(200, 0);  // a position, as Promtail's: set, not added
  ref->SetSize(4096);
  const std::string page = r.Render();
  EXPECT_TRUE(Has(page, "# TYPE promtail_read_bytes_total gauge")) << page;
  EXPECT_TRUE(Has(page, "# TYPE promtail_file_bytes_total gauge")) << page;
  EXPECT_TRUE(Has(page, "promtail_read_bytes_total{path=\"/var/log/pods/a/0.log\"} 200")) << page;
  EXPECT_TRUE(Has(page, "promtail_read_lines_total{path=\"/var/log/pods/a/0.log\"} 3")) << page;
  EXPECT_TRUE(Has(page, "promtail_file_bytes_total{path=\"/var/log/pods/a/0.log\"} 4096")) << page;
}

TEST(FileSeries, FilesOfOneNameShareARowRemovedWithTheLast) {
  Registry r;
  FileSeries files(r);
  FileSeries::Ref rotated = files.Acquire("/logs/app.log");
  rotated->SetRead(10, 1);
  FileSeries::Ref current = files.Acquire("/logs/app.log");
  current->SetRead(5, 1);
  ASSERT_TRUE(files.Get("/logs/app.log"));
  EXPECT_EQ(files.Get("/logs/app.log")->read_lines, 2u);
  EXPECT_EQ(files.size(), 1u);
  rotated = {};  // the rotated file closes: the series stays for its successor
  ASSERT_TRUE(files.Get("/logs/app.log"));
  EXPECT_EQ(files.Get("/logs/app.log")->read_bytes, 5u);  // the position of the last to read
  FileSeries::Ref moved = std::move(current);
  EXPECT_EQ(files.size(), 1u);
  moved.Reset();
  EXPECT_FALSE(files.Get("/logs/app.log"));
  EXPECT_EQ(r.Render().find("app.log"), std::string::npos);
}

TEST(FileSeries, EscapesThePathAsALabelValue) {
  Registry r;
  FileSeries files(r);
  FileSeries::Ref ref = files.Acquire("/logs/a\"b\\c\nd.log");
  EXPECT_TRUE(Has(r.Render(), "promtail_read_lines_total{path=\"/logs/a\\\"b\\\\c\\nd.log\"} 0"))
      << r.Render();
}

TEST(FileSeries, LeavesTheRegistryWithItsTable) {
  Registry r;
  {
    FileSeries files(r);
    FileSeries::Ref ref = files.Acquire("/logs/x.log");
  }
  EXPECT_EQ(r.Render().find("promtail_read_bytes_total"), std::string::npos);
}

}  // namespace
}  // namespace skidder::telemetry
