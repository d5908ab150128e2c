// Read deadlines and eviction for the HTTP server's connections.
//
// libmicrohttpd only times out inactivity, so a client that sends one header byte a second
// (slowloris) would keep its connection forever. This tracks, per connection, when its next
// request must be complete and closes (shutdown(2)) connections past their deadline from a
// thread of its own. It also keeps one slot of the connection cap free: when a connection takes
// the last but one, the one that has waited longest for a request (idle, or trickling one) is
// closed, so a kubelet probe is answered even while clients from many addresses hold the cap. The
// server's event thread reports each connection's life through the On* calls; entries are removed
// in OnClosed, which libmicrohttpd calls before it closes the descriptor, so a descriptor shut down
// here is always still the connection's own.
#pragma once

#include <chrono>
#include <condition_variable>
#include <list>
#include <mutex>
#include <thread>

#include "telemetry/registry.h"

namespace skidder::telemetry {

class ConnectionDeadlines {
 public:
  using Clock = std::chrono::steady_clock;
  struct Conn;

  // waiting: how long a connection may go without starting a request (after opening or after
  // its previous response); reading: how long a request may take to arrive once started.
  // max_open: the server's connection cap. Connections closed for missing their deadline and
  // to keep a slot free are counted in late and evicted.
  ConnectionDeadlines(std::chrono::milliseconds waiting, std::chrono::milliseconds reading,
                      int max_open, Counter* late, Counter* evicted);
  ~ConnectionDeadlines();
  ConnectionDeadlines(const ConnectionDeadlines&) = delete;
  ConnectionDeadlines& operator=(const ConnectionDeadlines&) = delete;

  void Start();
  void Stop();

  Conn* OnOpened(int fd);
  void OnClosed(Conn* c);
  void OnRequestStarted(Conn* c);  // request line received
  void OnRequestRead(Conn* c);     // request complete (or refused): no deadline while answering
  void OnResponseSent(Conn* c);    // back to waiting for the next request on this connection

  // Requests being answered right now (Stop of the server lets them finish).
  int Answering() const;

 private:
  void Run();
  void SetPhase(Conn* c, int phase, std::chrono::milliseconds budget);
  void EvictOldestLocked();
  bool AnyDeadlineLocked() const;

  const std::chrono::milliseconds waiting_, reading_;
  const size_t max_open_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool sleeping_ = false;  // Run waits for a deadline to be set (no timeout)
  std::list<Conn> conns_;
  int answering_ = 0;
  size_t closing_ = 0;  // shut down here, not yet closed by the event thread
  Counter* const late_;
  Counter* const evicted_;
  std::thread thread_;
};

}  // namespace skidder::telemetry
