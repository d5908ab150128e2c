// SyslogSource on loopback with a test sink: the limits a hostile client meets (connection cap,
// idle timeout) and what backpressure does to TCP (nothing read) and UDP (dropped, counted).
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <set>

#include "pipeline/pipeline.h"
#include "sources/syslog/net.h"
#include "sources/syslog/syslog_source.h"
#include "support/fake_clock.h"
#include "support/raw_client.h"
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
  void PushBatch(std::span<Entry> batch) override {
    std::lock_guard lock(mu_);
    // Full again after this many more entries (a sink that lets one batch in after an outage).
    if (room_ >= 0 && (room_ -= static_cast<int>(batch.size())) <= 0) {
      room_ = -1;
      saturated_ = true;
    }
    for (const Entry& e : batch) {
      lines_.push_back(e.line);
      const std::string* host = e.labels.Get("host");
      hosted_.push_back(e.line + "@" + (host != nullptr ? *host : ""));
    }
  }
  // Each entry's line and its host label ("line@host").
  std::vector<std::string> Hosted() const {
    std::lock_guard lock(mu_);
    return hosted_;
  }
  bool Saturated() const override { return saturated_; }
  size_t size() const {
    std::lock_guard lock(mu_);
    return lines_.size();
  }
  // Lets n entries in, then is full again.
  void Admit(int n) {
    std::lock_guard lock(mu_);
    room_ = n;
    saturated_ = false;
  }
  std::atomic<bool> saturated_{false};

 private:
  int room_ = -1;  // under mu_
  mutable std::mutex mu_;
  std::vector<std::string> lines_, hosted_;
};

class SourceTest : public ::testing::Test {
 protected:
  void Start(const std::string& protocol, int max_connections = 0,
             std::chrono::nanoseconds idle = milliseconds(300),
             pipeline::Pipeline* pipeline = nullptr, const Clock* clock = &SystemClock::Get()) {
    SyslogSourceOptions o;
    o.job_name = "j";
    o.config.listen_address = "127.0.0.1:0";
    o.config.listen_protocol = protocol;
    o.config.idle_timeout = idle;
    o.config.labels.Set("job", "syslog");
    o.pipeline = pipeline != nullptr ? pipeline : &pipeline_;
    o.max_connections = max_connections;
    if (dns_) {  // the rules read the sender's hostname, looked up by dns_
      config::RelabelConfig rc;
      rc.source_labels = {"__syslog_connection_hostname"};
      rc.target_label = "host";
      auto rules = kubernetes::CompileRelabel({rc});
      ASSERT_TRUE(rules.has_value());
      o.relabel = std::move(*rules);
      o.reverse_lookup = [dns = dns_](const sockaddr_storage& a, socklen_t) {
        return dns->Lookup(a);
      };
      o.lookup_timeout = lookup_timeout_;
      o.max_held_bytes = max_held_bytes_;
    }
    o.accept = accept_;
    source_ = std::make_unique<SyslogSource>(std::move(o), &sink_, &metrics_, clock);
    ASSERT_TRUE(source_->Start().ok());
  }
  // Through a limit stage without drop (rate 1/s, burst 1), on a clock that moves only when told.
  void StartLimited(const std::string& protocol) {
    auto p = pipeline::Pipeline::Build(
        {config::StageConfig{"limit", YAML::Load("{rate: 1, burst: 1}"), "t.yaml"}}, {});
    ASSERT_TRUE(p.has_value());
    limited_ = std::move(*p);
    Start(protocol, 0, seconds(600), limited_.get(), &clock_);
  }
  double Metric(telemetry::Family<telemetry::Counter>& f, std::vector<std::string> labels) {
    return f.With(labels)->Value();
  }

  // A reverse lookup that hangs for the addresses in `slow` until Open(); shared with the
  // resolver's thread, which may outlive the source.
  struct SlowDns {
    std::string Lookup(const sockaddr_storage& a) {
      const std::string ip = PeerIp(a);
      std::unique_lock lock(mu);
      if (slow.contains(ip)) cv.wait_for(lock, seconds(60), [&] { return open; });
      return ip == "127.0.0.1" ? "fast.test" : "slow.test";
    }
    void Open() {
      std::lock_guard lock(mu);
      open = true;
      cv.notify_all();
    }
    std::mutex mu;
    std::condition_variable cv;
    std::set<std::string> slow;
    bool open = false;
  };
  std::shared_ptr<SlowDns> dns_;
  milliseconds lookup_timeout_ = seconds(60);
  size_t max_held_bytes_ = 4 << 20;
  std::function<int(int, sockaddr*, socklen_t*, int)> accept_;  // null: accept4

  pipeline::Pipeline pipeline_{std::vector<std::unique_ptr<pipeline::Stage>>{}};
  // For the limit tests; declared before source_, whose thread uses them until it is gone.
  FakeClock clock_;
  std::unique_ptr<pipeline::Pipeline> limited_;
  CollectingSink sink_;
  telemetry::Registry registry_;
  telemetry::AgentMetrics metrics_{registry_};
  std::unique_ptr<SyslogSource> source_;
};

const std::string kMsg = testing::NewlineFrame("<13>1 - h a - - - hello");
// Delivered as soon as it is read: a newline-framed message whose newline comes last is held a
// moment for a continuation line (StreamFramer::HoldsLine), on the source's clock.
const std::string kOctetMsg = testing::OctetFrame("<13>1 - h a - - - hello");

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

// Descriptors run out (the file source holds thousands, faults.md): accept() fails with EMFILE
// and the connection stays in the backlog. Polling the listener again at once would fail again
// at once, a core at 100 % until descriptors free up; it backs off instead, and accepts once they
// are back. (accept4 is replaced: a process truly out of descriptors leaves the sanitizers none.)
TEST_F(SourceTest, OutOfDescriptorsAcceptBacksOffAndAcceptsOnceTheyAreBack) {
  auto exhausted = std::make_shared<std::atomic<bool>>(true);
  auto tries = std::make_shared<std::atomic<int>>(0);
  accept_ = [exhausted, tries](int fd, sockaddr* addr, socklen_t* len, int flags) {
    if (*exhausted) {
      ++*tries;
      errno = EMFILE;
      return -1;
    }
    return accept4(fd, addr, len, flags);
  };
  Start("tcp", 0, seconds(600));
  SyslogTcpClient c;
  ASSERT_TRUE(c.Connect(source_->port()));  // into the listener's backlog
  ASSERT_TRUE(WaitFor([&] { return *tries >= 1; }));
  std::this_thread::sleep_for(milliseconds(500));  // how often it tries meanwhile is the point
  EXPECT_LE(tries->load(), 20) << "accept() retried without a pause";  // spinning: 400,000
  // Each failed try is counted (the count follows the try a moment later).
  EXPECT_TRUE(WaitFor([&] {
    return Metric(metrics_.syslog_connections_refused, {"j", "accept"}) == tries->load();
  }));
  *exhausted = false;
  ASSERT_TRUE(c.Send(kMsg));
  EXPECT_TRUE(WaitFor([&] { return sink_.size() == 1; }));
}

TEST_F(SourceTest, SilentConnectionsCloseAfterIdleTimeout) {
  Start("tcp");
  SyslogTcpClient a;
  ASSERT_TRUE(a.Connect(source_->port()));
  EXPECT_TRUE(a.ClosedByServerWithin(seconds(10)));
}

// An idle_timeout shorter than the wait for a continuation line: the connection closed as idle
// delivers the message it held first.
TEST_F(SourceTest, AConnectionClosedAsIdleDeliversTheLineItHeld) {
  Start("tcp", 0, milliseconds(100));
  SyslogTcpClient a;
  ASSERT_TRUE(a.Connect(source_->port()));
  ASSERT_TRUE(a.Send(kMsg));
  EXPECT_TRUE(a.ClosedByServerWithin(seconds(10)));
  EXPECT_TRUE(WaitFor([&] { return sink_.size() == 1; }));
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

// After an outage the sink takes a little and is full again: the connection read first fills
// it, and the others, whose senders waited through the outage, were not read this turn. They are
// not idle (we did not read them): closed, the data in their sockets would be lost.
TEST_F(SourceTest, ConnectionsLeftUnreadWhenTheSinkRefillsAreNotClosedAsIdle) {
  sink_.saturated_ = true;
  Start("tcp");  // idle_timeout 300 ms
  SyslogTcpClient a, b, c;
  ASSERT_TRUE(a.Connect(source_->port()) && b.Connect(source_->port()) &&
              c.Connect(source_->port()));
  ASSERT_TRUE(a.Send(kOctetMsg) && b.Send(kOctetMsg) && c.Send(kOctetMsg));
  EXPECT_FALSE(a.ClosedByServerWithin(milliseconds(900)));  // three idle timeouts, held
  sink_.Admit(1);  // one message, then full again: two connections go unread this turn
  ASSERT_TRUE(WaitFor([&] { return sink_.size() == 1; }));
  EXPECT_FALSE(b.ClosedByServerWithin(milliseconds(100)));
  EXPECT_FALSE(c.ClosedByServerWithin(milliseconds(100)));
  sink_.saturated_ = false;
  EXPECT_TRUE(WaitFor([&] { return sink_.size() == 3; }));
}

// A message held for a continuation line is not delivered on its own while the sink is full: the
// continuation may be waiting unread in the socket, and read later it must join the message
// (alone it would be a framing error, and the connection closed with what followed).
TEST_F(SourceTest, AHeldLineWaitsForItsContinuationWhileTheSinkIsFull) {
  Start("tcp", 0, seconds(600), nullptr, &clock_);  // time moves only when told
  SyslogTcpClient a;
  ASSERT_TRUE(a.Connect(source_->port()));
  const std::string first = "<11>1 - h app - - - java.lang.Exception\n";
  ASSERT_TRUE(a.Send(first));
  ASSERT_TRUE(WaitFor([&] {
    return Metric(metrics_.syslog_bytes, {"j", "tcp"}) >= static_cast<double>(first.size());
  }));
  sink_.saturated_ = true;
  clock_.Advance(seconds(1));  // long past the quiet time: only the full sink holds it back
  ASSERT_TRUE(a.Send("\tat Foo.bar(Foo.java:1)\n<14>1 - h app - - - next\n"));
  EXPECT_FALSE(WaitFor([&] { return sink_.size() > 0; }, milliseconds(300)));
  sink_.saturated_ = false;
  ASSERT_TRUE(WaitFor([&] { return sink_.size() == 1; }));  // read on: the next message came
  clock_.Advance(seconds(1));  // and the last one, quiet, is delivered as it is
  ASSERT_TRUE(WaitFor([&] { return sink_.size() == 2; }));
  EXPECT_EQ(sink_.Hosted()[0], "java.lang.Exception\n\tat Foo.bar(Foo.java:1)@");
  EXPECT_EQ(sink_.Hosted()[1], "next@");
  EXPECT_FALSE(a.ClosedByServerWithin(milliseconds(50)));
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

// Promtail's limiter blocks its reader; here the connection is not read until the rate allows,
// so the sender waits in the kernel's buffers and nothing is lost.
TEST_F(SourceTest, ALimitWithoutDropHoldsTcpUntilItsRateAllows) {
  StartLimited("tcp");
  SyslogTcpClient a;
  ASSERT_TRUE(a.Connect(source_->port()));
  ASSERT_TRUE(a.Send(kOctetMsg));
  ASSERT_TRUE(WaitFor([&] { return sink_.size() == 1; }));  // the burst's one token
  ASSERT_TRUE(a.Send(kOctetMsg));
  // The clock stands still, so the limit waits however long this takes; a source that read
  // on would have the message in well under this on any machine.
  EXPECT_FALSE(a.ClosedByServerWithin(milliseconds(500)));
  EXPECT_EQ(sink_.size(), 1u);
  clock_.Advance(seconds(1));
  EXPECT_TRUE(WaitFor([&] { return sink_.size() == 2; }));
  EXPECT_EQ(Metric(metrics_.syslog_dropped, {"j", "rate_limited"}), 0);
}

TEST_F(SourceTest, UdpDatagramsOverALimitWithoutDropAreCounted) {
  StartLimited("udp");
  ASSERT_TRUE(WaitFor([&] {
    testing::SendUdp(source_->port(), kMsg);
    return Metric(metrics_.syslog_dropped, {"j", "rate_limited"}) >= 1;
  }));
  EXPECT_EQ(sink_.size(), 1u);  // the burst's one token
}

}  // namespace
}  // namespace skidder::sources::syslog

namespace skidder::sources::syslog {
namespace {

// A sender whose PTR lookup hangs waits for it alone: another sender's messages arrive
// meanwhile, and its own arrive with its name once the lookup answers.
TEST_F(SourceTest, ASlowReverseLookupStallsOnlyItsOwnSender) {
  dns_ = std::make_shared<SlowDns>();
  dns_->slow = {"127.0.0.2"};
  Start("tcp", 0, seconds(600));
  testing::RawConn slow(source_->port(), "127.0.0.2");
  ASSERT_TRUE(slow.Send(testing::NewlineFrame("<13>1 - h a - - - from slow")));
  testing::RawConn fast(source_->port(), "127.0.0.1");
  ASSERT_TRUE(fast.Send(testing::NewlineFrame("<13>1 - h a - - - from fast")));
  ASSERT_TRUE(WaitFor([&] { return sink_.size() == 1; })) << sink_.size();
  EXPECT_EQ(sink_.Hosted(), std::vector<std::string>{"from fast@fast.test"});
  dns_->Open();
  ASSERT_TRUE(WaitFor([&] { return sink_.size() == 2; }));
  EXPECT_EQ(sink_.Hosted()[1], "from slow@slow.test");
}

// UDP cannot wait in the socket: a sender's datagrams are held in order until its name is
// known, and go without it once lookup_timeout passed.
TEST_F(SourceTest, UdpDatagramsWaitForTheirSendersNameThenGoWithoutIt) {
  dns_ = std::make_shared<SlowDns>();
  dns_->slow = {"127.0.0.1"};
  lookup_timeout_ = milliseconds(500);
  Start("udp");
  for (const char* m : {"one", "two", "three"}) {
    ASSERT_TRUE(testing::SendUdp(source_->port(),
                                 testing::NewlineFrame(std::string("<13>1 - h a - - - ") + m)));
  }
  ASSERT_TRUE(WaitFor([&] { return sink_.size() == 3; }));
  EXPECT_EQ(sink_.Hosted(), (std::vector<std::string>{"one@", "two@", "three@"}));
  dns_->Open();  // the late answer is kept for what comes next
  ASSERT_TRUE(WaitFor([&] {
    testing::SendUdp(source_->port(), testing::NewlineFrame("<13>1 - h a - - - four"));
    const std::vector<std::string> got = sink_.Hosted();
    return got.back() == "four@fast.test";
  }));
}

// Past max_held_bytes the oldest held datagrams go on first, without the name still unknown:
// none is dropped and none overtakes an older one of its sender.
TEST_F(SourceTest, PastTheHeldBytesTheOldestDatagramsGoFirstInOrder) {
  dns_ = std::make_shared<SlowDns>();
  dns_->slow = {"127.0.0.1"};
  const std::string prefix = "<13>1 - h a - - - ";
  max_held_bytes_ = 3 * testing::NewlineFrame(prefix + "m0").size();  // three held at most
  Start("udp");
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(
        testing::SendUdp(source_->port(), testing::NewlineFrame(prefix + "m" + std::to_string(i))));
  }
  ASSERT_TRUE(WaitFor([&] { return sink_.size() == 3; }));
  dns_->Open();
  ASSERT_TRUE(WaitFor([&] { return sink_.size() == 6; }));
  EXPECT_EQ(sink_.Hosted(), (std::vector<std::string>{"m0@", "m1@", "m2@", "m3@fast.test",
                                                      "m4@fast.test", "m5@fast.test"}));
}

}  // namespace
}  // namespace skidder::sources::syslog
