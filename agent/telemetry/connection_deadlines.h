// Read deadlines for the HTTP server's connections.
//
// libmicrohttpd only times out inactivity, so a client that sends one header byte a second
// (slowloris) would keep its connection forever. This tracks, per connection, when its next
// request must be complete and closes (shutdown(2)) connections past their deadline from a
// thread of its own. The server's event thread reports each connection's life through the
// On* calls; entries are removed in OnClosed, which libmicrohttpd calls before it closes the
// descriptor, so a descriptor shut down here is always still the connection's own.
#pragma once

#include <chrono>
#include <condition_variable>
#include <list>
#include <mutex>
#include <thread>

namespace skidder::telemetry {

class ConnectionDeadlines {
 public:
  using Clock = std::chrono::steady_clock;
  struct Conn;

  // waiting: how long a connection may go without starting a request (after opening or after
  // its previous response); reading: how long a request may take to arrive once started.
  ConnectionDeadlines(std::chrono::milliseconds waiting, std::chrono::milliseconds reading);
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
  // Connections closed for missing their deadline so far.
  uint64_t closed_late() const;

 private:
  void Run();
  void SetPhase(Conn* c, int phase, std::chrono::milliseconds budget);

  const std::chrono::milliseconds waiting_, reading_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::list<Conn> conns_;
  int answering_ = 0;
  uint64_t closed_late_ = 0;
  std::thread thread_;
};

}  // namespace skidder::telemetry
