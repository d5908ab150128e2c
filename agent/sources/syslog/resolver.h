// Reverse DNS lookups for __syslog_connection_hostname, off the poll loop: getnameinfo blocks
// for as long as the resolver's timeouts (seconds per attempt), and one peer whose PTR lookup
// hangs must not stall every other sender of the listener. Up to a few threads look names up
// (started when asked, ending when nothing is left); the loop asks with Find() and polls fd(),
// which turns readable when a lookup is done.
//
// Internal to sources/syslog; Find/Known/Drain on the source's thread.
#pragma once

#include <sys/socket.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace skidder::sources::syslog {

class Resolver {
 public:
  // The names of an address ("" when it has none); blocking. ReverseLookup (net.h) by default.
  using LookupFn = std::function<std::string(const sockaddr_storage&, socklen_t)>;
  explicit Resolver(LookupFn lookup);
  // The workers are left to finish the lookups they are in on their own (one may take the
  // resolver's whole timeout): a reload or a stop does not wait for DNS.
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // ip's name when known ("" when the lookup found none, or too many are waiting: the peer goes
  // without a hostname rather than unbounded work); otherwise nullopt, and its lookup is asked
  // for (once per address until it completes).
  std::optional<std::string> Find(const std::string& ip, const sockaddr_storage& addr,
                                  socklen_t len);
  // ip's name when its lookup completed; does not ask for one.
  std::optional<std::string> Known(const std::string& ip) const;
  // Readable (POLLIN) once a lookup completed since the last Drain().
  int fd() const;
  void Drain();

 private:
  struct Shared;
  std::shared_ptr<Shared> s_;
};

}  // namespace skidder::sources::syslog
