// SyslogSource on loopback with a test sink: the limits a hostile client meets (connection cap,
// idle timeout) and what backpressure does to TCP (nothing read) and UDP (dropped, counted).
#include <gtest/gtest.h>

#include <mutex>

#include "sources/syslog/syslog_source.h"
#include "support/syslog_client.h"
#include "support/test_util.h"

namespace skidder::sources::syslog {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::SyslogTcpClient;
using testing::WaitFor;

class CollectingSink : public EntrySink {
 public:
  void Push(Entry&& e) override {
    std::lock_guard lock(mu_);
    lines_.push_back(e.line);
  }
  bool Saturated() const override { return saturated_; }
  size_t size() const {
    std::lock_guard lock(mu_);
    return lines_.size();
  }
  std::atomic<bool> saturated_{false};

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

class SourceTest : public ::testing::Test {
 protected:
  void Start(const std::string& protocol, int max_connections = 0,
             std::chrono::nanoseconds idle = milliseconds(300)) {
    SyslogSourceOptions o;
    o.job_name = "j";
    o.config.listen_address = "127.0.0.1:0";
    o.config.listen_protocol = protocol;
    o.config.idle_timeout = idle;
    o.config.labels.Set("job", "syslog");
    o.pipeline = &pipeline_;
    o.max_connections = max_connections;
    source_ = std::make_unique<SyslogSource>(std::move(o), &sink_, &metrics_, &SystemClock::Get());
    ASSERT_TRUE(source_->Start().ok());
  }
  double Metric(telemetry::Family<telemetry::Counter>& f, std::vector<std::string> labels) {
    return f.With(labels)->Value();
  }

  pipeline::Pipeline pipeline_{std::vector<std::unique_ptr<pipeline::Stage>>{}};
  CollectingSink sink_;
  telemetry::Registry registry_;
  telemetry::AgentMetrics metrics_{registry_};
  std::unique_ptr<SyslogSource> source_;
};

const std::string kMsg = testing::NewlineFrame("<13>1 - h a - - - hello");

TEST_F(SourceTest, ConnectionsOverTheCapAreClosedAtOnce) {
  Start("tcp", /*max_connections=*/2, /*idle=*/seconds(600));
  SyslogTcpClient a, b, c;
  ASSERT_TRUE(a.Connect(source_->port()) && b.Connect(source_->port()));
  ASSERT_TRUE(a.Send(kMsg) && b.Send(kMsg));
  ASSERT_TRUE(WaitFor([&] { return sink_.size() == 2; }));
  ASSERT_TRUE(c.Connect(source_->port()));  // the kernel accepts; the source closes it
  EXPECT_TRUE(c.ClosedByServerWithin(seconds(10)));
  EXPECT_EQ(Metric(metrics_.syslog_connections_refused, {"j", "limit"}), 1);
  a.Close();  // a slot frees up
  ASSERT_TRUE(WaitFor([&] {
    SyslogTcpClient d;
    return d.Connect(source_->port()) && d.Send(kMsg) && !d.ClosedByServerWithin(milliseconds(50));
  }));
}

TEST_F(SourceTest, SilentConnectionsCloseAfterIdleTimeout) {
  Start("tcp");
  SyslogTcpClient a;
  ASSERT_TRUE(a.Connect(source_->port()));
  EXPECT_TRUE(a.ClosedByServerWithin(seconds(10)));
}

TEST_F(SourceTest, WhileSaturatedTcpIsNotReadAndNotTimedOut) {
  sink_.saturated_ = true;
  Start("tcp");
  SyslogTcpClient a;
  ASSERT_TRUE(a.Connect(source_->port()));
  ASSERT_TRUE(a.Send(kMsg));
  // Three idle timeouts pass: the connection stays and nothing is read.
  EXPECT_FALSE(a.ClosedByServerWithin(milliseconds(900)));
  EXPECT_EQ(sink_.size(), 0u);
  sink_.saturated_ = false;
  EXPECT_TRUE(WaitFor([&] { return sink_.size() == 1; }));
}

TEST_F(SourceTest, UdpDatagramsArrivingWhileSaturatedAreCounted) {
  sink_.saturated_ = true;
  Start("udp");
  ASSERT_TRUE(WaitFor([&] {
    testing::SendUdp(source_->port(), kMsg);
    return Metric(metrics_.syslog_dropped, {"j", "saturated"}) >= 1;
  }));
  EXPECT_EQ(sink_.size(), 0u);
}

}  // namespace
}  // namespace skidder::sources::syslog
